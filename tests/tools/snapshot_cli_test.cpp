// `run --save-at N FILE`, `--restore FILE`, `--migrate` (docs/SNAPSHOT.md): what the
// command line refuses, and the messages a user sees for a file that is not a snapshot
// of this machine.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/tools/cli_run.h"

namespace {

namespace fs = std::filesystem;

fs::path temp_file(const std::string& name, const std::string& contents) {
  const fs::path p = fs::temp_directory_path() / ("irqremap-snapshot-cli-" + name);
  std::ofstream(p, std::ios::binary) << contents;
  return p;
}

}  // namespace

TEST_CASE("run --save-at takes a whole instruction count and a file") {
  const clitest::Result r = clitest::run_cli({"run", "--arch", "arm64", "--firmware", "uart-hello", "--save-at", "-3", "x"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--save-at -3: give the instruction count as a whole number, then the file") != std::string::npos);
  const clitest::Result one = clitest::run_cli({"run", "--arch", "arm64", "--firmware", "uart-hello", "--save-at", "5"});
  CHECK(one.status == 2);
}

TEST_CASE("run --restore replaces the image: not with --kernel, --firmware or --initrd") {
  const fs::path f = temp_file("any", "x");
  const clitest::Result k =
      clitest::run_cli({"run", "--arch", "arm64", "--restore", f.string(), "--firmware", "uart-hello"});
  CHECK(k.status == 2);
  CHECK(k.err.find("give exactly one of --kernel FILE, --firmware NAME or --restore FILE") != std::string::npos);
  const clitest::Result i = clitest::run_cli({"run", "--arch", "arm64", "--restore", f.string(), "--initrd", f.string()});
  CHECK(i.status == 2);
  CHECK(i.err.find("--restore takes no --initrd") != std::string::npos);
  fs::remove(f);
}

TEST_CASE("run --restore of a missing file, a directory or a file that is not a snapshot says which, status 2") {
  const clitest::Result missing = clitest::run_cli({"run", "--arch", "x86", "--restore", "/nonexistent/irq.snap"});
  CHECK(missing.status == 2);
  CHECK(missing.err.find("--restore /nonexistent/irq.snap: cannot open (no such file)") != std::string::npos);
  const clitest::Result dir = clitest::run_cli({"run", "--arch", "x86", "--restore", "/"});
  CHECK(dir.status == 2);
  CHECK(dir.err.find("--restore /: not a regular file") != std::string::npos);
  const fs::path f = temp_file("text", "hello, not a snapshot\n");
  const clitest::Result bad = clitest::run_cli({"run", "--arch", "arm64", "--restore", f.string()});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("not an irqremap snapshot (it does not start with IRQRSNAP)") != std::string::npos);
  fs::remove(f);
}

TEST_CASE("run --migrate is not taken with --gdb: the debugger could not follow the machine") {
  const clitest::Result r =
      clitest::run_cli({"run", "--arch", "arm64", "--firmware", "uart-hello", "--migrate", "--gdb", "tcp::1234"});
  CHECK(r.status == 2);
  CHECK(r.err.find("not with --gdb") != std::string::npos);
}

TEST_CASE("run --save-at past the end of the run saves nothing and says so") {
  const fs::path f = fs::temp_directory_path() / "irqremap-snapshot-cli-never";
  fs::remove(f);
  const clitest::Result r = clitest::run_cli(
      {"run", "--arch", "arm64", "--firmware", "uart-hello", "--save-at", "999999999999", f.string()});
  CHECK(r.status == 0);
  CHECK(r.err.find("before --save-at 999999999999: nothing saved") != std::string::npos);
  CHECK(!fs::exists(f));
}
