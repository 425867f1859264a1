// `run --save-at N FILE`, `--restore FILE`, `--migrate` (docs/SNAPSHOT.md): what the
// command line refuses, and the messages a user sees for a file that is not a snapshot
// of this machine.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "snapshot/snapshot_file.h"
#include "snapshot/state_io.h"
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

TEST_CASE("snapshot show: the header and every record of a file as path: value, --path selects a part") {
  irqremap::snapshot::Io io = irqremap::snapshot::Io::saver();
  {
    irqremap::snapshot::Io::Group g(io, "its");
    uint64_t cbaser = 0x8000'0000'4000'0403, cwriter = 0x40;
    io.field("GITS_CBASER", cbaser);
    io.field("GITS_CWRITER", cwriter);
  }
  {
    irqremap::snapshot::Io::Group g(io, "cpu0");
    uint64_t pc = 0x4008'0000;
    io.field("PC", pc);
  }
  const std::vector<uint8_t> file = irqremap::snapshot::encode("arm64 cpus=1", io.take());
  const fs::path f = fs::temp_directory_path() / "irqremap-snapshot-cli-show";
  std::ofstream(f, std::ios::binary).write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
  const clitest::Result all = clitest::run_cli({"snapshot", "show", f.string()});
  CHECK(all.status == 0);
  CHECK(all.out ==
        "format version 2\nconfiguration: arm64 cpus=1\nstate: 70 bytes in 3 records\n"
        "its/GITS_CBASER: 9223372037928518659 (0x8000000040000403)\nits/GITS_CWRITER: 64 (0x40)\n"
        "cpu0/PC: 1074266112 (0x40080000)\nmemory: 0 pages of 4 KiB saved (--memory lists them)\n");
  const clitest::Result its = clitest::run_cli({"snapshot", "show", f.string(), "--path", "cpu0/"});
  CHECK(its.out.find("cpu0/PC: 1074266112 (0x40080000)\n") != std::string::npos);
  CHECK(its.out.find("GITS_") == std::string::npos);
  fs::remove(f);
}

TEST_CASE("run --save-at N FILE saves after exactly N instructions and goes on; --restore FILE prints what the saving run printed after N") {
  const fs::path f = fs::temp_directory_path() / "irqremap-snapshot-cli-exact";
  for (const char* arch : {"x86", "arm64"}) {
    CAPTURE(arch);
    const std::string stub = std::string(arch) == "x86" ? "x86/ipi-ping" : "arm64/its-migrate";
    const clitest::Result plain = clitest::run_cli({"run", "--arch", arch, "--smp", "2", "--firmware", stub});
    const clitest::Result saving =
        clitest::run_cli({"run", "--arch", arch, "--smp", "2", "--firmware", stub, "--save-at", "7000", f.string()});
    REQUIRE(saving.status == 0);
    CHECK(saving.err.find("machine saved to " + f.string() + " after 7000 instructions") != std::string::npos);
    CHECK(saving.out == plain.out);
    const clitest::Result restored = clitest::run_cli({"run", "--arch", arch, "--smp", "2", "--restore", f.string()});
    CHECK(restored.status == 0);
    REQUIRE(!restored.out.empty());
    CHECK(saving.out.ends_with(restored.out));
    const clitest::Result shown = clitest::run_cli({"snapshot", "show", f.string(), "--path", "scheduler/"});
    CHECK(shown.out.find("scheduler/instructions: 7000 (0x1b58)") != std::string::npos);
    // Another configuration is refused by name, with both lines.
    const clitest::Result other = clitest::run_cli({"run", "--arch", arch, "--smp", "3", "--restore", f.string()});
    CHECK(other.status == 2);
    CHECK(other.err.find("the snapshot is of another machine") != std::string::npos);
  }
  fs::remove(f);
}
