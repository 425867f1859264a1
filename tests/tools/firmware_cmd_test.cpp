// irqremap firmware list / disasm: every embedded stub is listed and can be disassembled.
#include <doctest/doctest.h>

#include <sstream>

#include "guest-fw/firmware.h"
#include "tests/tools/cli_run.h"
#include "tools/cli.h"

namespace {
using clitest::Result;
Result run(const std::vector<std::string>& args) { return clitest::run_cli(args); }
}  // namespace

TEST_CASE("firmware list: one line per embedded stub with its description") {
  auto r = run({"firmware", "list"});
  REQUIRE(r.status == 0);
  for (const auto& fw : irqremap::guestfw::all()) {
    CHECK_MESSAGE(r.out.find(std::string(fw.name)) != std::string::npos, fw.name);
    CHECK_MESSAGE(r.out.find(std::string(fw.description)) != std::string::npos, fw.description);
  }
}

TEST_CASE("firmware disasm: the arm64 hello stub decodes to its A64 instructions with labels") {
  auto r = run({"firmware", "disasm", "arm64/uart-hello"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("<_start>:") != std::string::npos);
  CHECK(r.out.find("0x40080000:  d53800a0             mrs x0, mpidr_el1") != std::string::npos);
  CHECK(r.out.find("hvc #0") != std::string::npos);
  CHECK(r.out.find("<park>:") != std::string::npos);
}

TEST_CASE("firmware disasm --symbol: only the code from that label to the next") {
  auto r = run({"firmware", "disasm", "arm64/uart-hello", "--symbol", "park"});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("wfi") != std::string::npos);
  CHECK(r.out.find("mpidr_el1") == std::string::npos);
}

TEST_CASE("firmware disasm: every stub disassembles from its entry point") {
  for (const auto& fw : irqremap::guestfw::all()) {
    auto r = run({"firmware", "disasm", std::string(fw.name), "--symbol", "_start"});
    CHECK_MESSAGE(r.status == 0, fw.name);
    CHECK_MESSAGE(r.out.find(fw.arch == "arm64" ? "0x40080000:" : "0x00100000:") != std::string::npos,
                  fw.name);
  }
}

TEST_CASE("firmware disasm: an unknown stub or symbol exits 2 with one line") {
  auto a = run({"firmware", "disasm", "arm64/nope"});
  CHECK(a.status == 2);
  CHECK(a.err.starts_with("irqremap: error: unknown firmware 'arm64/nope' (known: "));
  auto b = run({"firmware", "disasm", "arm64/uart-hello", "--symbol", "nosuch"});
  CHECK(b.status == 2);
  CHECK(b.err == "irqremap: error: arm64/uart-hello: no symbol 'nosuch'\n");
}
