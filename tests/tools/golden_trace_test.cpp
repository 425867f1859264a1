// Golden traces: what a student sees in `irqremap run --trace` of the teaching stubs is
// committed under tests/golden/, so any change to it shows up as a reviewed diff.
// The guest-instruction lines are left out (hundreds of thousands of spin-loop lines);
// every hardware event, fault, hazard and UART line stays. To accept a change:
//   IRQREMAP_UPDATE_GOLDEN=1 build/tests/test_tools -tc='golden*'
// rewrites the files; review them with git diff (tests/golden/README.md).
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_run.h"

namespace {

std::string without_instructions(const std::string& trace) {
  std::istringstream in(trace);
  std::string out, line;
  while (std::getline(in, line))
    if (line.find("] insn: ") == std::string::npos) out += line + "\n";
  return out;
}

// Runs the stub with --trace and compares with (or, when asked, rewrites) its golden file,
// <arch>-<stub>.trace.
void check_golden(const std::string& stub, const std::string& smp) {
  const std::string arch = stub.substr(0, stub.find('/'));
  std::string file = stub + ".trace";
  file[arch.size()] = '-';
  std::vector<std::string> args{"run", "--arch", arch, "--firmware", stub, "--trace"};
  if (!smp.empty()) args.insert(args.end(), {"--smp", smp});
  const auto r = clitest::run_cli(args);
  REQUIRE(r.status == 0);
  const std::string got = without_instructions(r.out);
  const std::string path = std::string(IRQREMAP_SOURCE_DIR) + "/tests/golden/" + file;
  const char* update = std::getenv("IRQREMAP_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << got;
    MESSAGE("rewrote " << path);
  }
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), path << " is missing: IRQREMAP_UPDATE_GOLDEN=1 writes it");
  std::ostringstream want;
  want << f.rdbuf();
  // On a difference, the first differing line is the useful part of the report.
  if (got != want.str()) {
    std::istringstream g(got), w(want.str());
    std::string gl, wl;
    for (int n = 1;; ++n) {
      const bool gm = bool(std::getline(g, gl)), wm = bool(std::getline(w, wl));
      if (!gm && !wm) break;
      if (gl != wl || gm != wm) {
        FAIL_CHECK(file << " line " << n << ":\n  golden: " << (wm ? wl : "(end)") << "\n  now:    "
                        << (gm ? gl : "(end)"));
        break;
      }
    }
  }
  CHECK(got == want.str());
}

}  // namespace

// One golden file per teaching stub; each names what a student should see in it.
TEST_CASE("golden: x86/irq-stale-iec --trace shows the stale IEC entry delivering to the old CPU") {
  check_golden("x86/irq-stale-iec", "4");
}

TEST_CASE("golden: x86/irq-clear-p --trace shows the in-flight MSI faulting 22h") {
  check_golden("x86/irq-clear-p", "4");
}

TEST_CASE("golden: x86/irq-migrate --trace shows the IRTE rewritten, the IEC index flush and the wait, never the device") {
  check_golden("x86/irq-migrate", "4");
}

TEST_CASE("golden: x86/irq-unplug --trace shows every IRTE moved off the unplugged CPU and its IRR retriggered") {
  check_golden("x86/irq-unplug", "4");
}

TEST_CASE("golden: x86/vtd-enable --trace shows Linux's bring-up order (QI, SIRTP, global IEC, IRE)") {
  check_golden("x86/vtd-enable", "");
}

TEST_CASE("golden: x86/ioapic-migrate --trace shows the RTE left alone and only the IRTE rewritten") {
  check_golden("x86/ioapic-migrate", "2");
}

TEST_CASE("golden: arm64/lpi-self --trace shows each doorbell store and the LPI taken after it") {
  check_golden("arm64/lpi-self", "");
}

TEST_CASE("golden: arm64/its-migrate --trace shows MOVI moving the LPI and its pending state, then CPU_OFF") {
  check_golden("arm64/its-migrate", "4");
}

TEST_CASE("golden: arm64/device-migrate --trace shows the message store written once, then MOVI + SYNC only") {
  check_golden("arm64/device-migrate", "4");
}
