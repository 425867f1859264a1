// The READMEs' "Write your own firmware" examples (docs/examples/): the build compiles
// them with the command lines the READMEs give (tests/CMakeLists.txt), they run on their
// machine and print what the READMEs say, and each README quotes its source verbatim.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/tools/cli_run.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string source(const char* name) {
  return slurp(std::string(IRQREMAP_SOURCE_DIR) + "/docs/examples/" + name);
}

std::string elf(const char* name) { return std::string(IRQREMAP_EXAMPLES_DIR) + "/" + name; }

}  // namespace

TEST_CASE("examples: the AArch64 one takes LPI 8192 from the device (DeviceID 0x10) and powers off") {
  const auto r = clitest::run_cli({"run", "--arch", "arm64", "--kernel", elf("arm64-hello-lpi.elf")});
  CHECK(r.status == 0);
  CHECK(r.out == "hello-lpi: LPI 8192 from DeviceID 0x10\n");
  CHECK(r.err.empty());
}

TEST_CASE("examples: the x86 one wakes CPU 1 through the mailbox and sees the device's MSI in the IRR") {
  const auto r = clitest::run_cli({"run", "--arch", "x86", "--smp", "2", "--kernel", elf("x86-hello-msi.elf")});
  CHECK(r.status == 0);
  CHECK(r.out == "hello-msi: CPU 1 woke through the mailbox\nhello-msi: vector 0x41 pending on CPU 0\n");
  CHECK(r.err.empty());
}

TEST_CASE("examples: each machine README quotes its example's source verbatim") {
  const std::string root = IRQREMAP_SOURCE_DIR;
  CHECK(slurp(root + "/arch/arm64/README.md").find("```c\n" + source("arm64-hello-lpi.c") + "```\n") !=
        std::string::npos);
  CHECK(slurp(root + "/arch/x86/README.md").find("```c\n" + source("x86-hello-msi.c") + "```\n") !=
        std::string::npos);
}
