// irqremap translate arm64: commands through a real ITS command queue, then MSIs.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/tools/cli_run.h"
#include "tools/cli.h"

namespace {
using clitest::Result;
Result run(const std::vector<std::string>& args) { return clitest::run_cli(args); }
const std::vector<std::string> kMap{
    "translate", "arm64", "--cpus", "2",
    "--cmd", "MAPD DeviceID=2 Size=4",
    "--cmd", "MAPC ICID=1 RDbase=1",
    "--cmd", "MAPTI DeviceID=2 EventID=3 pINTID=8195 ICID=1"};
std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
  a.insert(a.end(), more);
  return a;
}
}  // namespace

TEST_CASE("cli translate arm64: MAPD/MAPC/MAPTI then an MSI is delivered to the collection's RD") {
  auto r = run(with(kMap, {"--msi", "2:3"}));
  CHECK(r.status == 0);
  CHECK(r.out == "delivered rd=1 lpi=8195\n");
}

TEST_CASE("cli translate arm64: an event beyond the device's Size is dropped with the reason") {
  auto r = run(with(kMap, {"--msi", "2:40"}));
  CHECK(r.status == 1);
  CHECK(r.out == "dropped: event 40 out of range for device 2 (Size=4)\n");
}

TEST_CASE("cli translate arm64: command errors print the E_ITS_* name and code") {
  auto r = run({"translate", "arm64", "--cmd", "MAPD DeviceID=2 Size=4", "--cmd",
                "MAPTI DeviceID=2 EventID=40 pINTID=8195 ICID=1", "--cmd", "MAPC ICID=1 RDbase=5",
                "--msi", "2:40"});
  CHECK(r.status == 1);
  CHECK(r.out.find("command error: #2 'MAPTI DeviceID=2 EventID=40 pINTID=8195 ICID=1': "
                   "E_ITS_MAPTI_ID_OOR (0x010a05)") != std::string::npos);
  CHECK(r.out.find("E_ITS_MAPC_PROCNUM_OOR (0x010902)") != std::string::npos);
}

TEST_CASE("cli translate arm64: --policy stall stops at the failed command") {
  auto r = run({"translate", "arm64", "--policy", "stall", "--cmd", "MAPC ICID=1 RDbase=9",
                "--cmd", "MAPD DeviceID=2", "--msi", "2:0"});
  CHECK(r.status == 1);
  CHECK(r.out.find("queue stalled at command #1") != std::string::npos);
  CHECK(r.out.find("dropped: device 2 not mapped (DTE Valid=0)") != std::string::npos);
}

TEST_CASE("cli translate arm64: --json gives commands, errors and outcomes") {
  auto r = run(with(kMap, {"--msi", "2:3", "--msi", "7:0", "--json"}));
  CHECK(r.status == 1);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["commands"].size() == 3);
  CHECK(j["commands"][0]["words"][0] == "0x0000000200000008");
  CHECK(j["errors"].empty());
  CHECK(j["msis"][0]["delivered"] == true);
  CHECK(j["msis"][0]["rd"] == 1);
  CHECK(j["msis"][0]["lpi"] == 8195);
  CHECK(j["msis"][1]["delivered"] == false);
  CHECK(j["msis"][1]["reason"] == "device 7 not mapped (DTE Valid=0)");
}

TEST_CASE("cli translate arm64: --pta takes RD_base addresses; MOVI moves the event") {
  auto r = run({"translate", "arm64", "--pta", "--cpus", "3", "--cmd", "MAPD DeviceID=1",
                "--cmd", "MAPC ICID=0 RDbase=0x80C", "--cmd", "MAPC ICID=1 RDbase=0x80E",
                "--cmd", "MAPI DeviceID=1 EventID=8200 ICID=0", "--cmd",
                "MAPD DeviceID=1 Size=13", "--cmd", "MAPI DeviceID=1 EventID=8200 ICID=0",
                "--cmd", "MOVI DeviceID=1 EventID=8200 ICID=1", "--msi", "1:8200"});
  CHECK(r.out.find("E_ITS_MAPTI_ID_OOR") != std::string::npos);  // Size=7 default: 256 events
  CHECK(r.out.find("delivered rd=2 lpi=8200") != std::string::npos);
}

TEST_CASE("cli translate arm64: bad input exits 2 with one line") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"translate", "arm64", "--cmd", "FOO x=1", "--msi", "1:1"},
           {"translate", "arm64", "--cmd", "MAPD Dev=1", "--msi", "1:1"},
           {"translate", "arm64", "--cmd", "MAPD DeviceID=zz", "--msi", "1:1"},
           {"translate", "arm64", "--cmd", "MAPD DeviceID=0x100000000", "--msi", "1:1"},
           {"translate", "arm64", "--cmd", "MAPD DeviceID=1 ITT_addr=0x41000010", "--msi", "1:1"},
           {"translate", "arm64", "--msi", "12"},
           {"translate", "arm64"},
           {"translate", "arm64", "--cpus", "0", "--msi", "1:1"},
           {"translate", "arm64", "--policy", "maybe", "--msi", "1:1"}}) {
    CAPTURE(args[2]);
    auto r = run(args);
    CHECK(r.status == 2);
    CHECK(r.err.starts_with("irqremap: error: "));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("cli translate arm64: commands alone run and report each command error (issue 13)") {
  auto ok = run(kMap);
  CHECK(ok.status == 0);
  CHECK(ok.out == "3 commands processed, 0 command errors\n");
  auto bad = run({"translate", "arm64", "--cmd", "MAPD DeviceID=2 Size=4", "--cmd",
                  "MAPTI DeviceID=2 EventID=40 pINTID=8195 ICID=1", "--cmd", "SYNC RDbase=0"});
  CHECK(bad.status == 1);
  CHECK(bad.out.find("command error: #2 'MAPTI DeviceID=2 EventID=40 pINTID=8195 ICID=1': "
                     "E_ITS_MAPTI_ID_OOR") != std::string::npos);
  CHECK(bad.out.ends_with("3 commands processed, 1 command error\n"));
}

TEST_CASE("cli translate arm64: a MAPD Size beyond IDbits gets the ITS's E_ITS_MAPD_ITTSIZE_OOR, not a CLI error") {
  auto r = run({"translate", "arm64", "--cmd", "MAPD DeviceID=7 Size=31"});
  CHECK(r.status == 1);
  CHECK(r.err.empty());
  CHECK(r.out.find("command error: #1 'MAPD DeviceID=7 Size=31': E_ITS_MAPD_ITTSIZE_OOR") !=
        std::string::npos);
  // A Size the ITS accepts still gets a default ITT and works.
  auto ok = run({"translate", "arm64", "--cmd", "MAPD DeviceID=7 Size=15", "--cmd",
                 "MAPC ICID=0 RDbase=0", "--cmd", "MAPTI DeviceID=7 EventID=65535 pINTID=9000 ICID=0",
                 "--msi", "7:65535"});
  CHECK(ok.status == 0);
  CHECK(ok.out == "delivered rd=0 lpi=9000\n");
}
