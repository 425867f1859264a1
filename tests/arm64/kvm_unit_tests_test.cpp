// kvm-unit-tests on the AArch64 machine (issue 11): firmware nobody here wrote, built for
// QEMU `virt` (test data, GPL-2.0, not part of irqremap; where the images are found and
// how to build them: tests/common/kvm_unit_tests.h, tests/kvm-unit-tests/README.md).
// Each image runs through `irqremap run` exactly as QEMU 7.2 ran it (same -smp, -m and
// -append) and must print the same verdict lines in the same order: every PASS, FAIL,
// SKIP and XFAIL line, the SUMMARY line and the EXIT line (tests/kvm-unit-tests/README.md
// defines equivalence that way; other lines carry allocation addresses that may differ).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/kvm_unit_tests.h"
#include "tests/tools/cli_run.h"

namespace {

namespace fs = std::filesystem;

using kuttest::find_image;
using kuttest::qemu_ref_dir;
using kuttest::slurp;
using kuttest::verdicts;

struct KutCase {
  const char* name;   // the reference transcript qemu-7.2/<name>.txt
  const char* image;  // under kvm-unit-tests/
  unsigned smp;
  const char* mem;    // -m MiB, or "" for QEMU's default (128)
  const char* append;
  const char* device = "";  // QEMU -device, or "" for none
  // Migrated for real as kvm-unit-tests' scripts do (`run --migrate`), with an environment
  // file as the initrd (KEY=value lines) when `env` is not empty.
  bool migrate = false;
  const char* env = "";
};

// The table of tests/kvm-unit-tests/README.md ("How QEMU runs them").
constexpr KutCase kCases[] = {
    {"selftest-setup", "arm64/selftest.flat", 2, "256", "setup smp=2 mem=256"},
    {"selftest-vectors-kernel", "arm64/selftest.flat", 1, "", "vectors-kernel"},
    {"selftest-vectors-user", "arm64/selftest.flat", 1, "", "vectors-user"},
    {"selftest-smp", "arm64/selftest.flat", 4, "", "smp"},
    {"gicv3-ipi", "arm64/gic.flat", 4, "", "ipi"},
    {"gicv3-active", "arm64/gic.flat", 4, "", "active"},
    {"its-introspection", "arm64/gic.flat", 4, "", "its-introspection"},
    {"its-trigger", "arm64/gic.flat", 4, "", "its-trigger"},
    {"psci", "arm64/psci.flat", 4, "", ""},
    // The wider slice's table: QEMU ran it with -device pci-testdev.
    {"pci-test", "arm64/pci-test.flat", 1, "", "", "pci-testdev"},
    {"timer", "arm64/timer.flat", 1, "", "", ""},
    {"debug-bp", "arm64/debug.flat", 1, "", "bp", ""},
    {"pmu-cycle-counter", "arm64/pmu.flat", 1, "", "cycle-counter 0", ""},
    {"pmu-overflow-interrupt", "arm64/pmu.flat", 1, "", "pmu-overflow-interrupt", ""},
    {"debug-sstep", "arm64/debug.flat", 1, "", "ss", ""},
    // The ITS migration tests: the state, command queue and LPI pending tables go through
    // a snapshot into a fresh machine; the last needs the errata environment kvm-unit-tests
    // passes as its initrd (the fix for Linux commit 8c58be34494b is in the ITS).
    {"its-migration", "arm64/gic.flat", 4, "", "its-migration", "", true},
    {"its-pending-migration", "arm64/gic.flat", 4, "", "its-pending-migration", "", true},
    {"its-migrate-unmapped-collection", "arm64/gic.flat", 4, "", "its-migrate-unmapped-collection", "", true,
     "ERRATA_8c58be34494b=y\n"},
};

void check_case(const KutCase& c) {
  const std::optional<fs::path> image = find_image(std::string("kvm-unit-tests ") + c.name, c.image);
  if (!image) return;
  INFO("kvm-unit-tests image: ", image->string());
  std::vector<std::string> args{"run", "--arch", "arm64", "--smp", std::to_string(c.smp), "--kernel", image->string()};
  if (*c.mem) args.insert(args.end(), {"--mem", c.mem});
  if (*c.append) args.insert(args.end(), {"--append", c.append});
  if (*c.device) args.insert(args.end(), {"--device", c.device});
  if (c.migrate) args.push_back("--migrate");
  const fs::path env = fs::temp_directory_path() / (std::string("irqremap-kut-env-") + c.name);
  if (*c.env) {
    std::ofstream(env, std::ios::binary) << c.env;
    args.insert(args.end(), {"--initrd", env.string()});
  }
  const clitest::Result r = clitest::run_cli(args);
  if (*c.env) fs::remove(env);
  const std::vector<std::string> want = verdicts(slurp(qemu_ref_dir() / (std::string(c.name) + ".txt")));
  const std::vector<std::string> have = verdicts(r.out);
  INFO("irqremap stdout:\n", r.out);
  INFO("irqremap stderr:\n", r.err);
  REQUIRE(!want.empty());
  CHECK(have == want);
  // kvm-unit-tests powers off with PSCI SYSTEM_OFF after printing EXIT: the run ends clean.
  CHECK(r.status == 0);
}

}  // namespace

TEST_SUITE("kvm-unit-tests on irqremap match QEMU 7.2's verdicts") {
  TEST_CASE("selftest-setup: CPU count and memory size from the generated device tree") { check_case(kCases[0]); }
  TEST_CASE("selftest-vectors-kernel: und, svc and pabt taken at EL1 through VBAR_EL1") { check_case(kCases[1]); }
  TEST_CASE("selftest-vectors-user: und and svc taken from EL0") { check_case(kCases[2]); }
  TEST_CASE("selftest-smp: PSCI CPU_ON and MPIDR on every CPU") { check_case(kCases[3]); }
  TEST_CASE("gicv3-ipi: SGIs to self, a target list and broadcast") { check_case(kCases[4]); }
  TEST_CASE("gicv3-active: the active state of an SGI cleared in its handler") { check_case(kCases[5]); }
  TEST_CASE("its-introspection: GITS_IIDR/TYPER read-only, ID spaces, BASER types") { check_case(kCases[6]); }
  TEST_CASE("its-trigger: INT, INV/INVALL and MAPD valid=0 as the ITS architecture says") { check_case(kCases[7]); }
  TEST_CASE("psci: PSCI 1.1 functions, AFFINITY_INFO, CPU_OFF") { check_case(kCases[8]); }
  TEST_CASE("pci-test: the generic ECAM host's bus scanned, pci-testdev's six tests through BAR0 and BAR1") {
    check_case(kCases[9]);
  }
  TEST_CASE("timer: CNTV/CNTP TVAL, ISTATUS, IMASK, the PPI during a busy loop and after WFI (Arm ARM D11.2.4)") {
    check_case(kCases[10]);
  }
  TEST_CASE("debug-bp: six hardware breakpoints (DBGBCR/DBGBVR), each taken at EL1 with EC 0x31 (Arm ARM D2.9)") {
    check_case(kCases[11]);
  }
  TEST_CASE("pmu-cycle-counter: PMUv3 found (PMUVer 1, N = 6), PMCCNTR_EL0 increases and counts the measured loops") {
    check_case(kCases[12]);
  }
  TEST_CASE("pmu-overflow-interrupt: skipped as on QEMU 7.2, whose PMCEID0_EL0 has no MEM_ACCESS (0x13)") {
    check_case(kCases[13]);
  }
  TEST_CASE("debug-sstep: MDSCR_EL1.SS, unmasked by MSR DAIFClr: the step exception (EC 0x33) lands on the next instruction (Arm ARM D2.12)") {
    check_case(kCases[14]);
  }
  TEST_CASE("its-migration: mapped devices, collections and translations survive a migration into a new machine; INT after it reaches the same PEs") {
    check_case(kCases[15]);
  }
  TEST_CASE("its-pending-migration: LPIs left pending in the pending tables across a migration fire on the restored machine (GICR_PENDBASER tables in guest memory)") {
    check_case(kCases[16]);
  }
  TEST_CASE("its-migrate-unmapped-collection: a translation whose collection was unmapped before the migration works once MAPC maps it after") {
    check_case(kCases[17]);
  }
  // About 6 G instructions (QEMU 7.2 takes 70 s): CTest runs it as a test of its own
  // (tests/CMakeLists.txt), beside the rest; the sanitizer build leaves it to the normal one.
  TEST_CASE("sieve: a sieve of Eratosthenes in static data, then with the MMU on, then three times in 100 MB vmalloc'd buffers (stage 1 translation of scattered pages): QEMU's counts and EXIT line") {
#ifdef IRQREMAP_SANITIZED
    MESSAGE("SKIPPED sieve: sanitizer build (about 6 G guest instructions; the normal build runs it)");
#else
    const std::optional<fs::path> image = find_image("kvm-unit-tests sieve", "arm64/sieve.flat");
    if (!image) return;
    const clitest::Result r = clitest::run_cli({"run", "--arch", "arm64", "--smp", "1", "--kernel", image->string()});
    INFO("irqremap stderr:\n", r.err);
    const auto counts = {"static:", "mapped:", "virtual:", "EXIT:"};
    const std::vector<std::string> want = kuttest::lines_starting(slurp(qemu_ref_dir() / "sieve.txt"), counts);
    REQUIRE(want.size() == 6);
    CHECK(kuttest::lines_starting(r.out, counts) == want);
    CHECK(r.status == 0);  // PSCI SYSTEM_OFF after the EXIT line
#endif
  }
}
