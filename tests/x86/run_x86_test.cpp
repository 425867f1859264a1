// `irqremap run --arch x86` in-process: UART output, exit statuses, clean stops.
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include "tools/run_x86.h"

using namespace irqremap::cli;

namespace {
struct Out {
  int status;
  std::string out, err;
};
RunX86Options opts(std::string fw, unsigned smp = 1, uint64_t max_insns = 100'000'000,
                   bool trace = false) {
  RunX86Options o;
  o.firmware = std::move(fw);
  o.smp = smp;
  o.max_insns = max_insns;
  o.trace = trace;
  return o;
}
Out run(RunX86Options o) {
  std::ostringstream out, err;
  const int st = run_x86(o, Io{out, err});
  return {st, out.str(), err.str()};
}
}  // namespace

TEST_CASE("run x86: uart-hello prints on COM1 and isa-debug-exit 0 gives status 1, as QEMU") {
  auto r = run(opts("x86/uart-hello"));
  CHECK(r.out == "irqremap: hello from x86\n");
  CHECK(r.status == 1);
  CHECK(r.err.empty());
}

TEST_CASE("run x86: ipi-ping wakes 8 APs through the mailbox, IPIs round-trip, power-off exits 0") {
  auto r = run(opts("ipi-ping", 8));
  CHECK(r.status == 0);
  CHECK(r.out.find("ipi-ping: 8 CPUs") != std::string::npos);
  CHECK(r.out.find("pong from cpu7") != std::string::npos);
  CHECK(r.out.find("ipi-ping: ok") != std::string::npos);
}

TEST_CASE("run x86: the instruction budget stops the run with status 1 and one line naming PC and instruction") {
  auto r = run(opts("ipi-ping", 2, 500));
  CHECK(r.status == 1);
  CHECK(r.err.find("instruction budget of 500 exhausted") != std::string::npos);
  CHECK(r.err.find("PC 0x") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("run x86: --trace interleaves disassembled guest instructions with MMIO and APIC events") {
  auto r = run(opts("ipi-ping", 2, 100'000'000, true));
  CHECK(r.status == 0);
  CHECK(r.out.find("[cpu0] insn: 0x100000:") != std::string::npos);
  CHECK(r.out.find("MMIO write LAPIC") != std::string::npos);
  CHECK(r.out.find("[wakeup] command: Wakeup APIC 0x1") != std::string::npos);
  CHECK(r.out.find("taken: vector 0x40 through the IDT") != std::string::npos);
  // CPU 1 answered through the x2APIC MSR interface.
  CHECK(r.out.find("[lapic1] reg-write: IA32_APIC_BASE <- 0xfee00c00: x2APIC mode") != std::string::npos);
  CHECK(r.out.find("[lapic1] reg-write: WRMSR 0x830 <- 0x41") != std::string::npos);
}

TEST_CASE("run x86: bad arguments are usage errors") {
  CHECK_THROWS_AS(run(opts("x86/no-such")), UsageError);
  CHECK_THROWS_AS(run(opts("ipi-ping", 9)), UsageError);
  CHECK_THROWS_AS(run(RunX86Options{}), UsageError);
  CHECK_THROWS_AS(run([] { RunX86Options o; o.kernel = "/nonexistent.elf"; return o; }()), UsageError);
}

TEST_CASE("run x86: vtd-enable brings up interrupt remapping as Linux does and takes the invalidation completion event") {
  auto r = run(opts("vtd-enable", 1, 100'000'000, true));
  CHECK(r.status == 0);
  CHECK(r.out.find("IRES=1 QIES=1 IRTPS=1 CFIS=0") != std::string::npos);
  CHECK(r.out.find("invalidation completion event taken on cpu0") != std::string::npos);
  CHECK(r.out.find("taken: vector 0xe1 through the IDT") != std::string::npos);
}

TEST_CASE("run x86: irq-migrate through the CLI path: VT-d, the device and the worker migration, status 0") {
  auto r = run(opts("irq-migrate", 3));
  CHECK(r.status == 0);
  CHECK(r.out.find("before: slot 0 handled on cpu1") != std::string::npos);
  CHECK(r.out.find("after migration (cmpxchg16b): slot 0 handled on cpu2") != std::string::npos);
  CHECK(r.out.find("irq-migrate: ok") != std::string::npos);
}

TEST_CASE("run x86: a scenario stub on too few CPUs fails cleanly through isa-debug-exit ((0x20 << 1) | 1)") {
  auto r = run(opts("irq-migrate", 1));
  CHECK(r.status == 0x41);
  CHECK(r.out.find("needs --smp 3") != std::string::npos);
}

TEST_CASE("run x86: --trace of irq-clear-p shows the IEC invalidation, the fault 22h and the hazard") {
  auto r = run(opts("irq-clear-p", 3, 100'000'000, true));
  CHECK(r.status == 0);
  CHECK(r.out.find("[x86] HAZARD: in-flight MSI lost: IRTE 0x20 had P=0") != std::string::npos);
  CHECK(r.out.find("[vtd] fault:") != std::string::npos);
  CHECK(r.out.find("[dev0]") != std::string::npos);
}
