// The AArch64 machine: QEMU virt behaviour for firmware (issue 6), through the library
// API and through `irqremap run --arch arm64` in-process.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "arch/arm64/arm64_machine.h"
#include "guest-fw/firmware.h"
#include "tests/arm64/boot_rig.h"
#include "tools/cli.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

struct Result {
  int status;
  std::string out, err;
};

Result run_cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int st = cli::run(args, out, err);
  return {st, out.str(), err.str()};
}

// A raw image of A64 instruction words in a temporary file.
std::string raw_image(const char* name, std::initializer_list<uint32_t> words) {
  const std::string path = std::string("/tmp/irqremap-arm64-") + name + ".bin";
  std::ofstream f(path, std::ios::binary);
  for (uint32_t w : words)
    for (int i = 0; i < 4; ++i) f.put(char((w >> (8 * i)) & 0xFF));
  return path;
}

using arm64test::boot;
using arm64test::Booted;

// The LPI acknowledgements (ICC_IAR1_EL1 also acknowledges the SGIs that ring the
// secondaries' mailboxes in the migration stubs).
std::vector<Arm64Machine::Ack> lpi_acks(Arm64Machine& m) {
  std::vector<Arm64Machine::Ack> out;
  for (const auto& a : m.acks())
    if (a.intid >= 8192) out.push_back(a);
  return out;
}

}  // namespace

TEST_CASE("arm64 run: uart-hello prints on the PL011 and PSCI SYSTEM_OFF exits 0 (QEMU virt)") {
  auto r = run_cli({"run", "--arch", "arm64", "--firmware", "uart-hello"});
  CHECK(r.status == 0);
  CHECK(r.out == "irqremap: hello from arm64\n");
  CHECK(r.err.empty());
}

TEST_CASE("arm64 run: --trace interleaves disassembled instructions, MMIO and PSCI") {
  auto r = run_cli({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello", "--trace"});
  CHECK(r.status == 0);
  CHECK(r.out.find("0x40080000: mrs x0, mpidr_el1") != std::string::npos);
  CHECK(r.out.find("MMIO write PL011 0x9000000") != std::string::npos);
  CHECK(r.out.find("PSCI call 0x84000008") != std::string::npos);
  CHECK(r.out.find("irqremap: hello from arm64\n") != std::string::npos);
}

TEST_CASE("arm64 run: the instruction budget stops with status 1, PC and the instruction") {
  auto r = run_cli({"run", "--arch", "arm64", "--smp", "4", "--firmware", "its-migrate", "--max-insns", "500"});
  CHECK(r.status == 1);
  CHECK(r.err.find("instruction budget of 500 exhausted (cpu0, PC 0x4008") != std::string::npos);
  CHECK(r.err.find("PC 0x") != std::string::npos);
}

TEST_CASE("arm64 run: a load from an unmapped address is a guest fault with PC and instruction") {
  // movz x1, #0x0C00, lsl #16; ldr x0, [x1]: 0x0C00_0000 is QEMU virt's platform bus,
  // empty on QEMU and absent here (0x1000_0000, the PCIe MMIO window, reads all-ones on
  // both; 0x1000 would be flash, which reads fine).
  auto path = raw_image("fault", {0xd2a18001, 0xf9400020});
  auto r = run_cli({"run", "--arch", "arm64", "--kernel", path});
  CHECK(r.status == 1);
  CHECK(r.err.find("guest fault") != std::string::npos);
  CHECK(r.err.find("PC 0x40080004: ldr x0, [x1]") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("arm64 run: an UNDEFINED instruction stops as unsupported with the disassembly") {
  auto path = raw_image("udf", {0xd503201f, 0x00000000});  // nop; udf #0
  auto r = run_cli({"run", "--arch", "arm64", "--kernel", path});
  CHECK(r.status == 1);
  CHECK(r.err.find("undefined instruction") != std::string::npos);
  INFO(r.err);
  CHECK(r.err.find("(cpu0, PC 0x40080004:") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("arm64 run: WFI with nothing that can wake the CPU is a deadlock, not a hang") {
  auto path = raw_image("wfi", {0xd503207f, 0x17ffffff});  // wfi; b .-4
  auto r = run_cli({"run", "--arch", "arm64", "--kernel", path});
  CHECK(r.status == 1);
  CHECK(r.err.find("nothing can wake") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("arm64 run: a malformed ELF or a bad --smp is a usage error (status 2)") {
  const std::string path = "/tmp/irqremap-arm64-bad.elf";
  {
    std::ofstream f(path, std::ios::binary);
    f << "\x7f" "ELF" << std::string(20, '\0');
  }
  auto r = run_cli({"run", "--arch", "arm64", "--kernel", path});
  CHECK(r.status == 2);
  CHECK(r.err.find("ELF") != std::string::npos);
  std::remove(path.c_str());
  CHECK(run_cli({"run", "--arch", "arm64", "--smp", "9", "--firmware", "uart-hello"}).status == 2);
  CHECK(run_cli({"run", "--arch", "arm64", "--firmware", "no-such-stub"}).status == 2);
}

TEST_CASE("arm64: HVC #0 is PSCI; CPU 1 reports its own MPIDR affinity (QEMU virt)") {
  // CPU 0: x0 = CPU_ON, x1 = 1, x2 = entry (0x40080020), hvc; then wfi loop.
  // CPU 1 at 0x40080020: mrs x3, mpidr_el1; then SYSTEM_OFF.
  Arm64MachineConfig cfg;
  cfg.cpus = 2;
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  const uint32_t words[] = {
      0xd2800060,  // movz x0, #3
      0xf2b88000,  // movk x0, #0xc400, lsl #16  -> 0xC4000003 CPU_ON
      0xd2800021,  // movz x1, #1
      0xd2800402,  // movz x2, #0x20
      0xf2a80102,  // movk x2, #0x4008, lsl #16
      0xd4000002,  // hvc #0
      0xd503207f,  // wfi
      0x17ffffff,  // b .-4
      0xd53800a3,  // mrs x3, mpidr_el1
      0xd2800100,  // movz x0, #8
      0xf2b08000,  // movk x0, #0x8400, lsl #16 -> SYSTEM_OFF
      0xd4000002,  // hvc #0
  };
  auto entry = (*m)->load(arm64test::image_of(words));
  REQUIRE(entry);
  auto r = (*m)->run(*entry, 10'000);
  INFO(r.message);
  CHECK(r.stop == arch::StopKind::SystemOff);
  CHECK(r.exit_status == 0);
  CHECK((*m)->cpu(0).reg(UC_ARM64_REG_X0) == 0);  // CPU_ON returned SUCCESS
  CHECK((*m)->cpu(1).reg(UC_ARM64_REG_X3) == 0x8000'0001);
  CHECK((*m)->psci().state(1) == PowerState::On);
}

TEST_CASE("arm64 its-migrate: LPIs handled on CPU 1, MOVI moves them to CPU 2, hot-unplug loses none") {
  auto b = boot("arm64/its-migrate", 4);
  INFO(b.uart);
  INFO(b.r.message);
  REQUIRE(b.r.stop == arch::StopKind::SystemOff);
  CHECK(b.uart.find("phase 1: handled on CPU 1: 3/3") != std::string::npos);
  CHECK(b.uart.find("phase 2: worker CPU 3 did MOVI + SYNC; handled on CPU 2: 3/3") != std::string::npos);
  CHECK(b.uart.find("pending LPI kept: yes; handled on CPU 1: 4/4; on CPU 2 after CPU_OFF: 0") !=
        std::string::npos);
  CHECK(b.uart.find("total: 10 triggered, 10 handled") != std::string::npos);
  // Where each LPI was acknowledged (ICC_IAR1_EL1), in order.
  const auto acks = lpi_acks(*b.m);
  REQUIRE(acks.size() == 10);
  for (size_t i = 0; i < 10; ++i) {
    CHECK(acks[i].intid == 8192);
    CHECK(acks[i].cpu == (i >= 3 && i < 6 ? 2u : 1u));
  }
  // The secondaries sleep in WFI: CPU 0 rang the worker (CPU 3) once and CPU 2 once while
  // it took interrupts (the second ring finds it masked and is never acknowledged).
  std::vector<unsigned> rings;
  for (const auto& a : b.m->acks())
    if (a.intid == 0) rings.push_back(a.cpu);
  CHECK(rings == std::vector<unsigned>{3, 2});
  CHECK(b.m->psci().state(2) == PowerState::Off);
  CHECK(b.m->its().error_count() == 0);
  // No LPI stays behind at the unplugged CPU; only the unanswered ring (SGI 0) does.
  CHECK(b.m->redistributors()[2].pending_lpis().empty());
  CHECK(b.m->redistributors()[2].sgi_ppi_pending() == 1u);
}

TEST_CASE("arm64: the same firmware and inputs give the same run (deterministic scheduler)") {
  auto a = boot("arm64/its-migrate", 4), b = boot("arm64/its-migrate", 4);
  CHECK(a.uart == b.uart);
  CHECK(a.r.instructions == b.r.instructions);
  REQUIRE(a.m->acks().size() == b.m->acks().size());
  for (size_t i = 0; i < a.m->acks().size(); ++i) CHECK(a.m->acks()[i].cpu == b.m->acks()[i].cpu);
}

TEST_CASE("arm64 device-migrate: the device's message is written once; MOVI moves its interrupt; unplug loses none") {
  auto b = boot("arm64/device-migrate", 4);
  INFO(b.uart);
  INFO(b.r.message);
  REQUIRE(b.r.stop == arch::StopKind::SystemOff);
  device::MsgDevice* dev = b.m->device();
  REQUIRE(dev != nullptr);
  // The driver wrote slot 0 once (one commit, no rewrite of a live message) and the
  // device sent every one of its 10 events through GITS_TRANSLATER with DeviceID 0x10.
  CHECK(dev->counters(0).commits == 1);
  CHECK(dev->counters(0).rewrites_enabled == 0);
  CHECK(dev->counters(0).torn == 0);
  CHECK(dev->counters(0).events == 10);
  CHECK(dev->counters(0).messages == 10);
  CHECK(dev->message(0) == MsiWrite{virt::kGitsTranslater, 0, virt::kDeviceId});
  CHECK(b.uart.find("phase 1: handled on CPU 1: 3/3") != std::string::npos);
  CHECK(b.uart.find("handled on CPU 2: 3/3") != std::string::npos);
  CHECK(b.uart.find("pending LPI kept: yes; handled on CPU 1: 4/4; on CPU 2 after CPU_OFF: 0") !=
        std::string::npos);
  const auto acks = lpi_acks(*b.m);
  REQUIRE(acks.size() == 10);
  for (size_t i = 0; i < 10; ++i) CHECK(acks[i].cpu == (i >= 3 && i < 6 ? 2u : 1u));
  CHECK(b.m->its().resolve(virt::kDeviceId, 0).has_value());
  CHECK(b.m->its().error_count() == 0);
}

TEST_CASE("arm64: a pending LPI follows MOVI to the new redistributor (GICv3 §6.3 MOVI)") {
  // Drive the machine's ITS from the host after its-migrate set the tables up: CPU 2 is
  // off, so make the LPI pending at CPU 1, MOVI to CPU 3's collection, and look.
  auto b = boot("arm64/its-migrate", 4);
  REQUIRE(b.r.stop == arch::StopKind::SystemOff);
  Redistributors& rds = b.m->redistributors();
  REQUIRE(rds[1].lpis_enabled());
  REQUIRE(rds[3].lpis_enabled());
  rds.set_pending(1, 8192);
  CHECK(rds[1].is_pending(8192));
  rds.move_pending(1, 3, 8192);
  CHECK(!rds[1].is_pending(8192));
  CHECK(rds[3].is_pending(8192));
  CHECK(rds.highest_pending(3) == PendingIrq{8192, 0xa0});
}

namespace {

// Counts trace events and remembers where IRQ exceptions were taken.
struct IrqProbe final : TraceSink {
  uint64_t translater_writes = 0;
  std::vector<uint64_t> irq_from;  // PC at which each IRQ was taken (= ELR_EL1)
  std::string order;               // W: a GITS_TRANSLATER write, I: an IRQ taken
  void on_event(const Event& e) override {
    if (e.kind == EventKind::RegWrite && e.text.find("MMIO write ITS") != std::string::npos &&
        e.value("address") == virt::kGitsTranslater) {
      ++translater_writes;
      order += 'W';
    }
    if (e.kind == EventKind::Delivery && e.text.starts_with("IRQ exception taken")) {
      irq_from.push_back(e.value("pc"));
      order += 'I';
    }
  }
};

}  // namespace

TEST_CASE("arm64 precise interrupts: a self-targeted LPI is taken after the store retires, by the end of its block, the store runs once") {
  // Issue 11 item 1 / issue 36 item 3: an LPI that a store to GITS_TRANSLATER makes
  // pending on the storing CPU is taken at an instruction boundary after the store (at the
  // latest at the end of the store's translated block, as QEMU's TCG takes interrupts),
  // and the store is never performed again.
  IrqProbe probe;
  Booted b = boot("arm64/lpi-self", 1, 20'000'000, &probe);
  INFO(b.uart);
  INFO(b.r.message);
  CHECK(b.r.stop == arch::StopKind::SystemOff);
  CHECK(b.uart.find("unmasked: 5 stores, 5 handler runs, 5 in time\n") != std::string::npos);
  // A masked burst coalesces into one pending LPI (IHI0069 §5.1: no count) and the
  // program goes on past it.
  CHECK(b.uart.find("masked: 64 stores, 0 handler runs while masked, highest pending 8192\n") != std::string::npos);
  CHECK(b.uart.find("unmasked again: 1 handler run\n") != std::string::npos);
  CHECK(b.uart.find("total: 6 handler runs for 69 stores\n") != std::string::npos);
  // Every guest store reached the ITS exactly once.
  CHECK(probe.translater_writes == 69);
  // Each of the five unmasked LPIs was taken after its store and before the next one:
  // the trace reads store, IRQ, store, IRQ, ... (in fast mode the IRQ comes at the end of
  // the store's translated block at the latest: arm64_vcpu.h "Interrupts").
  REQUIRE(probe.irq_from.size() == 6);
  CHECK(probe.order.substr(0, 10) == "WIWIWIWIWI");
  CHECK(b.m->acks().size() == 6);
}

TEST_CASE("arm64 quanta: a CPU that runs alone gets long quanta, yet an LPI or SGI for another CPU ends its quantum (issue 36 item 2)") {
  // its-migrate's CPUs wait in WFI or spin on a flag until another CPU's handler ran. A
  // CPU that runs alone gets a 1,000,000-instruction quantum; if an interrupt made pending
  // for a CPU in WFI did not end the sender's quantum, the sender would spin through all
  // of it before the target's turn, and the run would retire more than that.
  Booted b = boot("arm64/its-migrate", 4);
  INFO(b.uart);
  CHECK(b.r.stop == arch::StopKind::SystemOff);
  CHECK(b.uart.find("total: 10 triggered, 10 handled\n") != std::string::npos);
  const uint64_t solo = arm64::Arm64MachineConfig{}.solo_quantum;
  CHECK(solo >= 1'000'000);
  CHECK(b.m->instructions() < solo);
}
