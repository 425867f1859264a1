// The irqremap command line: explain, encode, demo, and bad input (exit 2, one line).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/tools/cli_run.h"
#include "tools/cli.h"

namespace {
using clitest::Result;
Result run(const std::vector<std::string>& args) { return clitest::run_cli(args); }
}  // namespace

TEST_CASE("cli: explain irte prints every spec field with bit range, value and meaning") {
  auto r = run({"explain", "irte", "0x0000030000410001", "0x0000000000040018"});
  CHECK(r.status == 0);
  for (const char* name : {" P ", " FPD ", " DM ", " RH ", " TM ", " DLM ", " AVL ", " IM ", " V ",
                           " DST ", " SID ", " SQ ", " SVT "})
    CHECK_MESSAGE(r.out.find(name) != std::string::npos, name);
  CHECK(r.out.find("DLM    000                 Delivery Mode: Fixed") != std::string::npos);
  CHECK(r.out.find("SVT    01                  Source Validation Type: SID+SQ verify") != std::string::npos);
  CHECK(r.out.find("0x41") != std::string::npos);
  CHECK(r.out.find("ok: no reserved bits set") != std::string::npos);
}

TEST_CASE("cli: explain --json uses the spec names as keys") {
  auto r = run({"explain", "irte", "0x0000030000410001", "0x0000000000040018", "--json"});
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["fields"]["V"]["value"] == 0x41);
  CHECK(j["fields"]["DST"]["value"] == 0x300);
  CHECK(j["fields"]["SVT"]["label"] == "SID+SQ verify");
  CHECK(j["ok"] == true);
}

TEST_CASE("cli: encode output explains back to the same fields") {
  auto e = run({"encode", "irte-remapped", "P=1", "V=0x41", "DST=0x300", "SID=0x18", "SVT=1"});
  REQUIRE(e.status == 0);
  CHECK(e.out == "0x0000030000410001 0x0000000000040018\n");
  std::istringstream words(e.out);
  std::string w0, w1;
  words >> w0 >> w1;
  auto x = run({"explain", "irte", w0, w1, "--json"});
  auto j = nlohmann::json::parse(x.out);
  CHECK(j["fields"]["V"]["value"] == 0x41);
  CHECK(j["fields"]["SID"]["value"] == 0x18);
}

TEST_CASE("cli: explain msi --arch x86 names the format and the IRTE index") {
  auto r = run({"explain", "msi", "--arch", "x86", "--address", "0xfee000b8", "--data", "0x2"});
  CHECK(r.status == 0);
  CHECK(r.out.find("remappable format: handle 0x5 + subhandle 0x2 (SHV=1) selects IRTE index 7") !=
        std::string::npos);
  auto c = run({"explain", "msi", "--arch", "x86", "--address", "0xfee03000", "--data", "0x4041"});
  CHECK(c.out.find("compatibility format") != std::string::npos);
  auto bad = run({"explain", "msi", "--arch", "x86", "--address", "0x1fee00010", "--data", "0"});
  CHECK(bad.out.find("fault 20h") != std::string::npos);
  auto rsvd = run({"explain", "msi", "--arch", "x86", "--address", "0xfee00018", "--data",
                   "0x10000"});
  CHECK(rsvd.out.find("reserved bits 31:16 set") != std::string::npos);
}

TEST_CASE("cli: explain msi --arch arm64 explains the DeviceID/EventID convention") {
  auto r = run({"explain", "msi", "--arch", "arm64", "--address", "0x08090040", "--data", "3",
                "--device-id", "2"});
  CHECK(r.status == 0);
  CHECK(r.out.find("EventID 3 of DeviceID 2") != std::string::npos);
}

TEST_CASE("cli: bad input exits 2 with one clear line") {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"explain", "nosuch", "1"}, "unknown format 'nosuch'"},
      {{"explain", "irte", "1", "2", "3"}, "expected 2 values"},
      {{"explain", "msi-data-compat", "0x100000000"}, "wider than msi-data-compat"},
      {{"explain", "irte", "0xQQ", "0"}, "'0xQQ' is not a number"},
      {{"encode", "irte-remapped", "Vector=1"}, "unknown field 'Vector'"},
      {{"encode", "irte-remapped", "DLM=9"}, "does not fit DLM"},
      {{"encode", "irte-remapped", "P"}, "'P' is not NAME=VALUE"},
      {{"explain", "msi", "--arch", "x86", "--address", "1"}, "needs --address and --data"},
      {{"frobnicate"}, "irqremap: error:"},
      // --kernel takes a regular file of bounded size: a directory threw out of the CLI
      // (abort) and /dev/zero was read until the host ran out of memory.
      {{"run", "--arch", "arm64", "--kernel", "/"}, "--kernel /: not a regular file"},
      {{"run", "--arch", "x86", "--kernel", "/dev/zero"}, "--kernel /dev/zero: not a regular file"},
      {{"run", "--arch", "arm64", "--kernel", "/nonexistent-kernel"}, "--kernel /nonexistent-kernel: cannot open"},
      // CLI11 read "-5" into the unsigned budget as 2^64-5 and ran.
      {{"run", "--arch", "arm64", "--firmware", "arm64/uart-hello", "--max-insns", "-5"},
       "--max-insns: the budget is a positive number of instructions"},
      {{"run", "--arch", "x86", "--firmware", "x86/uart-hello", "--mem", "99999999999999"},
       "--mem 99999999999999: more RAM than either machine holds"},
  };
  for (const Case& c : cases) {
    auto r = run(c.args);
    CHECK_MESSAGE(r.status == 2, c.args[0]);
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("cli: demo --tour runs the guided tour through a real IRTE, MSI and MAPTI") {
  auto r = run({"demo", "--tour"});
  CHECK(r.status == 0);
  CHECK(r.out.find("selects IRTE index 5") != std::string::npos);
  CHECK(r.out.find("Interrupt Remapping Table Entry (remapped format, IM=0)") != std::string::npos);
  CHECK(r.out.find("ITS command MAPTI") != std::string::npos);
}

TEST_CASE("cli: explain knows the DMA-remapping formats (root entry, context entry, second-level PTE) and flags their reserved bits") {
  auto root = run({"explain", "root-entry", "0x0000000000201001", "0"});
  CHECK(root.status == 0);
  CHECK(root.out.find("CTP") != std::string::npos);
  CHECK(root.out.find("(address 0x201000)") != std::string::npos);
  auto ctx = run({"explain", "context-entry", "0x0000000000202003", "0x0000000000000801"});
  CHECK(ctx.out.find("AW       001                 Address Width") != std::string::npos);
  CHECK(ctx.out.find("39-bit AGAW, 3-level table") != std::string::npos);
  CHECK(ctx.out.find("DID      0x8") != std::string::npos);
  auto pte = run({"explain", "sl-pte", "0x0000000000300883"});
  CHECK(pte.out.find("PROBLEM SNP") != std::string::npos);
  for (const char* f : {"inv-cc", "inv-iotlb", "ccmd", "iotlb", "iva", "rtaddr"}) {
    CAPTURE(f);
    CHECK(run({"explain", "--list"}).out.find(std::string("  ") + f + " ") != std::string::npos);
  }
}

TEST_CASE("cli: explain ioapic-rte picks the compatibility or remappable format by bit 48 (82093AA §3.2.4, VT-d §5.1.5.1)") {
  auto compat = run({"explain", "ioapic-rte", "0x03000000000000ed"});
  CHECK(compat.out.find("compatibility format") != std::string::npos);
  CHECK(compat.out.find("DEST") != std::string::npos);
  auto remap = run({"explain", "ioapic-rte", "0x00030000000000ed"});
  CHECK(remap.out.find("remappable format") != std::string::npos);
  CHECK(remap.out.find("Interrupt_Index[14:0]") != std::string::npos);
  CHECK(remap.out.find("ok: no reserved bits set") != std::string::npos);
}

TEST_CASE("cli: a --kernel file over 1 GiB is refused by its size, before anything is read") {
  const std::string path = "cli-test-huge.img";
  { std::ofstream(path, std::ios::binary) << 'x'; }
  std::filesystem::resize_file(path, (std::uintmax_t{1} << 30) + 1);  // sparse: no disk used
  const auto r = run({"run", "--arch", "arm64", "--kernel", path});
  std::filesystem::remove(path);
  CHECK(r.status == 2);
  CHECK(r.err.find("1073741825 bytes, more than the 1024 MiB irqremap reads") != std::string::npos);
}
