// irqremap translate x86: a table on the command line, one MSI in, delivery or fault out
// (issue 3). Bad input exits 2 with one line.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/tools/cli_run.h"
#include "tools/cli.h"

namespace {
using clitest::Result;
Result run(std::vector<std::string> args) {
  args.insert(args.begin(), {"translate", "x86"});
  return clitest::run_cli(args);
}
// IRTE: P=1, V=0x41, DST=0x300 (APIC 3, xAPIC); SVT=01 SID=00:03.0.
const std::string kIrte5 = "5=0x0000030000410001:0x0000000000040018";
const std::string kMsi5 = "0xFEE000B0:0";  // handle 5 (address bits 19:5), IF=1
}  // namespace

TEST_CASE("translate x86: a present IRTE delivers dest/vector/dm/dlm/tm (VT-d §5.1.4)") {
  auto r = run({"--irte", kIrte5, "--msi", kMsi5, "--sid", "00:03.0"});
  CHECK(r.status == 0);
  CHECK(r.out == "delivered dest=0x3 vector=0x41 dm=physical dlm=Fixed tm=edge\n");
}

TEST_CASE("translate x86: P=0 with FPD=1 faults 22h unrecorded (VT-d §9.9 FPD)") {
  auto r = run({"--irte", "5=0x0000030000410002:0", "--msi", kMsi5, "--sid", "00:03.0"});
  CHECK(r.status == 0);
  CHECK(r.out.starts_with("fault 0x22 index=5 sid=00:03.0 recorded=no (FPD)"));
}

TEST_CASE("translate x86: wrong requester fails source-ID verification with 26h (VT-d §9.9)") {
  auto r = run({"--irte", kIrte5, "--msi", kMsi5, "--sid", "00:04.0"});
  CHECK(r.out.starts_with("fault 0x26 index=5 sid=00:04.0 recorded=yes"));
}

TEST_CASE("translate x86: --irta-size bounds the table, index beyond gives 21h (VT-d §5.1.4.1)") {
  auto r = run({"--irta-size", "1", "--msi", "0xFEE00090:0"});  // handle 4, 4 entries
  CHECK(r.out.starts_with("fault 0x21 index=4"));
}

TEST_CASE("translate x86: compatibility format is blocked (25h) unless --cfi, and always with --eime (VT-d §5.1.4)") {
  CHECK(run({"--msi", "0xFEE03000:0x41"}).out.starts_with("fault 0x25"));
  CHECK(run({"--cfi", "--msi", "0xFEE03000:0x41"}).out ==
        "delivered dest=0x3 vector=0x41 dm=physical dlm=Fixed tm=edge (compatibility format)\n");
  CHECK(run({"--cfi", "--eime", "--msi", "0xFEE03000:0x41"}).out.starts_with("fault 0x25"));
}

TEST_CASE("translate x86: --eime reads the 32-bit x2APIC destination (VT-d §9.9)") {
  auto r = run({"--eime", "--irte", "5=0x0001234500410001:0", "--msi", kMsi5});
  CHECK(r.out == "delivered dest=0x12345 vector=0x41 dm=physical dlm=Fixed tm=edge\n");
}

TEST_CASE("translate x86: --json gives the result with spec names; --trace adds the unit's events") {
  auto r = run({"--irte", kIrte5, "--msi", kMsi5, "--sid", "00:03.0", "--json", "--trace"});
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["result"] == "delivered");
  CHECK(j["dest"] == 3);
  CHECK(j["vector"] == 0x41);
  CHECK(j["dlm"] == "Fixed");
  CHECK(j["trace"].size() >= 2);
  auto f = nlohmann::json::parse(run({"--msi", kMsi5, "--json"}).out);
  CHECK(f["result"] == "fault");
  CHECK(f["reason"] == "0x22");
  CHECK(f["index"] == 5);
  CHECK(f["recorded"] == true);
}

TEST_CASE("translate x86: bad input exits 2 with one line naming the problem") {
  const std::vector<std::vector<std::string>> bad = {
      {"--irte", "5", "--msi", kMsi5},
      {"--irte", "5=1:zz", "--msi", kMsi5},
      {"--irte", "70000=1:0", "--msi", kMsi5},
      {"--irta-size", "2", "--irte", "8=1:0", "--msi", kMsi5},
      {"--irte", "1=1:0", "--irte", "1=1:0", "--msi", kMsi5},
      {"--msi", "0xFEE00000"},
      {"--msi", "0xFEE00000:0x100000000"},
      {"--msi", kMsi5, "--sid", "00:20.0"},
      {"--msi", kMsi5, "--sid", "junk"},
      {"--irta-size", "16", "--msi", kMsi5},
      {"--irte", kIrte5},
  };
  for (const auto& args : bad) {
    auto r = run(args);
    CAPTURE(args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("translate x86: a posted IRTE posts into a descriptor given with --mem (VT-d §5.2.3)") {
  // IRTE 0: P=1, IM=1, VV=0x30, PDA=0x200040 (PDA_L = 0x200040 >> 6 in bits 63:38), SVT=0.
  const uint64_t low = 1 | (1ull << 15) | (0x30ull << 16) | ((0x200040ull >> 6) << 38);
  const std::string irte = fmt::format("0={:#x}:0", low);
  // PID word 4: NV=0xF2, NDST=0x300 (APIC 3, xAPIC), ON=SN=0.
  auto r = run({"--irte", irte, "--mem", "0x200060=0x00000300" "00F20000", "--msi", "0xFEE00010:0"});
  CHECK(r.status == 0);
  CHECK(r.out == "posted pd=0x200040 vector=0x30 notified=yes nv=0xf2 ndst=0x3\n");
  auto bad = run({"--irte", irte, "--mem", "0x200061=1", "--msi", "0xFEE00010:0"});
  CHECK(bad.status == 2);
  auto nopid = run({"--irte", irte, "--msi", "0xFEE00010:0"});
  CHECK(nopid.out.starts_with("fault 0x27 index=0"));
}
