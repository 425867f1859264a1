// kvm-unit-tests on the x86 machine (issue 12): x86/intel-iommu.flat, built for QEMU q35
// (test data, GPL-2.0, not part of irqremap; tests/kvm-unit-tests/README.md), run through
// `irqremap run` as QEMU 7.2 ran it (-smp 4, -kernel). It must print QEMU's verdict
// lines in the same order and exit through isa-debug-exit with status 1 (x86 images
// print no EXIT: line, the exit status is the verdict).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/kvm_unit_tests.h"
#include "tests/tools/cli_run.h"

namespace fs = std::filesystem;
using kuttest::find_image;
using kuttest::qemu_ref_dir;
using kuttest::lines_starting;
using kuttest::slurp;

TEST_SUITE("kvm-unit-tests on irqremap match QEMU 7.2's verdicts") {
  TEST_CASE("x86-intel-iommu: multiboot entry, INIT/SIPI for 3 APs, paging, then VT-d init, DMAR through edu, IR for the I/O APIC and MSI") {
    const std::optional<fs::path> image = find_image("kvm-unit-tests x86-intel-iommu", "x86/intel-iommu.flat");
    if (!image) return;
    const clitest::Result r = clitest::run_cli({"run", "--arch", "x86", "--smp", "4", "--kernel", image->string()});
    const std::string want_text = slurp(qemu_ref_dir() / "x86-intel-iommu.txt");
    INFO("irqremap stdout:\n", r.out);
    INFO("irqremap stderr:\n", r.err);
    const auto verdicts = {"PASS:", "FAIL:", "SKIP:", "XFAIL:", "SUMMARY:", "EXIT:"};
    const auto want = lines_starting(want_text, verdicts);
    REQUIRE(want.size() == 12);
    CHECK(lines_starting(r.out, verdicts) == want);
    // The CPU/boot part: every AP came up through INIT/SIPI, and the BSP's paging report
    // (CR3 and the allocator's addresses differ with RAM layout; CR0/CR4 do not).
    for (const char* line : {"smp: waiting for 3 APs", "setup: CPU 1 online", "setup: CPU 2 online",
                             "setup: CPU 3 online", "paging enabled", "cr0 = 80010011", "cr4 = 20"})
      CHECK_MESSAGE(r.out.find(line) != std::string::npos, line);
    CHECK(lines_starting(r.out, {"enabling apic"}).size() == 4);
    CHECK(r.status == 1);  // isa-debug-exit (1 << 1) | 1: all passed
  }

  TEST_CASE("x86-umip: CPL 3 through IRETQ and back through a DPL 3 gate and the TSS's RSP0, #GP from CPL 3, CR4.UMIP in CPUID and enforced (SDM vol. 3A §2.5, §6.14)") {
    const std::optional<fs::path> image = find_image("kvm-unit-tests x86-umip", "x86/umip.flat");
    if (!image) return;
    const clitest::Result r = clitest::run_cli({"run", "--arch", "x86", "--smp", "1", "--kernel", image->string()});
    const std::string want_text = slurp(qemu_ref_dir() / "x86-umip.txt");
    INFO("irqremap stdout:\n", r.out);
    INFO("irqremap stderr:\n", r.err);
    const auto verdicts = {"PASS:", "FAIL:", "SKIP:", "XFAIL:", "SUMMARY:", "EXIT:"};
    const auto want = lines_starting(want_text, verdicts);
    REQUIRE(want.size() == 22);  // 21 PASS and the summary
    CHECK(lines_starting(r.out, verdicts) == want);
    CHECK(r.out.find("UMIP not available") == std::string::npos);
    CHECK(r.status == 1);
  }
}
