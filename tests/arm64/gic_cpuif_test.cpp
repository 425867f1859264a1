// What Linux 6.1's GICv3 driver reads and writes of the CPU interface at start-up, beyond
// what kvm-unit-tests needs: the active priority registers ICC_AP0R0_EL1 / ICC_AP1R0_EL1
// (Arm IHI0069 §4.8, §12.2) and ID_AA64PFR0_EL1.GIC (Arm ARM, ID_AA64PFR0_EL1), against
// the plain C++ models and from a guest on the machine.
#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/exception_entry.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "arch/arm64/id_registers.h"
#include "tests/arm64/boot_rig.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

// One PE with Group 1 on, PMR 0xf8 (everything but the lowest level passes), SGIs enabled.
struct Cpuif {
  GuestMemory mem;
  Trace trace;
  Gicv3Distributor gicd{1};
  std::unique_ptr<Redistributors> rds;
  std::unique_ptr<GicCpuInterface> cpu;
  Cpuif() {
    REQUIRE(mem.add_ram(0x4000'0000, 0x10'0000, "ram"));
    rds = std::make_unique<Redistributors>(mem, 1);
    gicd.mmio_write(gicd::CTLR, 4, (1u << 4) | (1u << 1));
    cpu = std::make_unique<GicCpuInterface>(0, *rds, gicd, trace);
    rds->mmio_write(gicr::ISENABLER0, 4, 0xFFFF);
    cpu->write(icc::PMR_EL1, 0xf8);
    cpu->write(icc::IGRPEN1_EL1, 1);
  }
  void priority(uint32_t sgi, uint8_t p) { rds->mmio_write(gicr::IPRIORITYR + sgi, 1, p); }
  void send(uint32_t sgi) {
    cpu->write(icc::SGI1R_EL1, fields::set(fields::set(0, icc::SGI1R_INTID, sgi), icc::SGI1R_TargetList, 1));
  }
  uint64_t rd(uint32_t reg) { return *cpu->read(reg); }
};

Arm64Machine& run_words(std::unique_ptr<Arm64Machine>& m, const std::vector<uint32_t>& words, uint64_t budget) {
  auto made = Arm64Machine::create(Arm64MachineConfig{});
  REQUIRE(made);
  m = std::move(*made);
  auto entry = m->load(arm64test::image_of(words));
  REQUIRE(entry);
  auto r = m->run(*entry, budget);
  INFO(r.message);
  CHECK(r.stop != arch::StopKind::Unsupported);
  CHECK(r.stop != arch::StopKind::GuestFault);
  return *m;
}

}  // namespace

TEST_CASE("cpuif: ICC_AP1R0_EL1 bit n = group priority n << 3 active; IAR sets it, EOI clears the lowest (§4.8)") {
  Cpuif g;
  g.priority(1, 0xa0);
  g.priority(2, 0x80);
  g.send(1);
  CHECK(g.rd(icc::IAR1_EL1) == 1);
  CHECK(g.rd(icc::AP1R0_EL1) == 1u << (0xa0 >> 3));
  CHECK(g.rd(icc::RPR_EL1) == 0xa0);
  // A higher priority preempts and nests: both priorities active.
  g.send(2);
  CHECK(g.rd(icc::IAR1_EL1) == 2);
  CHECK(g.rd(icc::AP1R0_EL1) == ((1u << (0xa0 >> 3)) | (1u << (0x80 >> 3))));
  CHECK(g.rd(icc::RPR_EL1) == 0x80);
  // Priority drop takes the highest active priority (the lowest set bit) first.
  g.cpu->write(icc::EOIR1_EL1, 2);
  CHECK(g.rd(icc::AP1R0_EL1) == 1u << (0xa0 >> 3));
  CHECK(g.rd(icc::RPR_EL1) == 0xa0);
  g.cpu->write(icc::EOIR1_EL1, 1);
  CHECK(g.rd(icc::AP1R0_EL1) == 0);
  CHECK(g.rd(icc::RPR_EL1) == 0xFF);
  CHECK(g.rd(icc::AP0R0_EL1) == 0);  // nothing of Group 0 is ever acknowledged here
}

TEST_CASE("cpuif: with 5 priority bits 0xa4 does not preempt 0xa0: they share a group priority") {
  Cpuif g;
  g.priority(1, 0xa0);
  g.priority(2, 0xa4);
  g.priority(3, 0x98);
  g.send(1);
  CHECK(g.rd(icc::IAR1_EL1) == 1);
  g.send(2);
  CHECK_FALSE(g.cpu->signalled());
  g.send(3);
  CHECK(g.cpu->signalled()->intid == 3);  // 0x98 is a higher group priority than 0xa0
}

TEST_CASE("cpuif: a write to ICC_AP1R0_EL1/ICC_AP0R0_EL1 is kept (bits 63:32 RES0) and sets the running priority") {
  Cpuif g;
  REQUIRE(g.cpu->write(icc::AP1R0_EL1, ~0ull));
  CHECK(g.rd(icc::AP1R0_EL1) == 0xFFFF'FFFFull);
  CHECK(g.rd(icc::RPR_EL1) == 0x00);
  REQUIRE(g.cpu->write(icc::AP1R0_EL1, 1u << 12));
  CHECK(g.rd(icc::RPR_EL1) == 12 << 3);
  g.priority(1, 12 << 3);
  g.send(1);
  CHECK_FALSE(g.cpu->signalled());  // the restored active priority masks its own level
  REQUIRE(g.cpu->write(icc::AP0R0_EL1, 1u << 2));
  CHECK(g.rd(icc::AP0R0_EL1) == 1u << 2);
  CHECK(g.rd(icc::RPR_EL1) == 2 << 3);  // the running priority spans both groups
  // What Linux 6.1 gic_cpu_sys_reg_init does for 5 priority bits: clear both.
  REQUIRE(g.cpu->write(icc::AP0R0_EL1, 0));
  REQUIRE(g.cpu->write(icc::AP1R0_EL1, 0));
  CHECK(g.rd(icc::RPR_EL1) == 0xFF);
  CHECK(g.cpu->signalled()->intid == 1);
}

TEST_CASE("cpuif: ICC_AP{0,1}R{1,2,3}_EL1 are not this CPU interface's: only 6 or 7 preemption bits have them") {
  CHECK(GicCpuInterface::handles(icc::AP0R0_EL1));
  CHECK(GicCpuInterface::handles(icc::AP1R0_EL1));
  for (unsigned n = 1; n < 4; ++n) {
    INFO("n = " << n);
    CHECK_FALSE(GicCpuInterface::handles(icc::AP0R_EL1(n)));
    CHECK_FALSE(GicCpuInterface::handles(icc::AP1R_EL1(n)));
  }
  CHECK(icc::AP1R_EL1(1) == sysreg(3, 0, 12, 9, 1));
  CHECK(icc::AP0R_EL1(3) == sysreg(3, 0, 12, 8, 7));
  CHECK(GicCpuInterface::name(icc::AP1R0_EL1) == "ICC_AP1R0_EL1");
}

TEST_CASE("arm64: a guest's MSR/MRS of ICC_AP1R0_EL1 and ICC_AP0R0_EL1 round-trip, RES0 bits read 0, RPR follows") {
  std::unique_ptr<Arm64Machine> m;
  Arm64Machine& mach = run_words(m, {
      0x92800001,  // mov x1, #-1
      0xd518c901,  // msr icc_ap1r0_el1, x1
      0xd538c902,  // mrs x2, icc_ap1r0_el1
      0xd2800201,  // mov x1, #0x10
      0xd518c901,  // msr icc_ap1r0_el1, x1
      0xd538c903,  // mrs x3, icc_ap1r0_el1
      0xd538cb64,  // mrs x4, icc_rpr_el1
      0xd518c91f,  // msr icc_ap1r0_el1, xzr
      0xd538cb66,  // mrs x6, icc_rpr_el1
      0xd2800061,  // mov x1, #3
      0xd518c881,  // msr icc_ap0r0_el1, x1
      0xd538c887,  // mrs x7, icc_ap0r0_el1
      0xd538cb68,  // mrs x8, icc_rpr_el1
      0xd518c89f,  // msr icc_ap0r0_el1, xzr
      0xd538cb69,  // mrs x9, icc_rpr_el1
      0x14000000,  // b .
  }, 100);
  auto& cpu = mach.cpu(0);
  CHECK(cpu.reg(UC_ARM64_REG_X2) == 0xFFFF'FFFFull);
  CHECK(cpu.reg(UC_ARM64_REG_X3) == 0x10);
  CHECK(cpu.reg(UC_ARM64_REG_X4) == 0x20);  // bit 4: group priority 4 << 3
  CHECK(cpu.reg(UC_ARM64_REG_X6) == 0xFF);
  CHECK(cpu.reg(UC_ARM64_REG_X7) == 3);
  CHECK(cpu.reg(UC_ARM64_REG_X8) == 0x00);
  CHECK(cpu.reg(UC_ARM64_REG_X9) == 0xFF);
  CHECK(mach.gic(0).running_priority() == 0xFF);
}

TEST_CASE("arm64: MRS ICC_AP1R1_EL1 is UNDEFINED with 5 priority bits (EC 0, ELR = the MRS), not a stopped run") {
  std::vector<uint32_t> words(0x300, 0xd503201f);  // NOPs; vectors at +0x800
  const uint32_t code[] = {
      0x10004000,  // adr x0, #0x800
      0xd518c000,  // msr vbar_el1, x0
      0xd5033fdf,  // isb
      0xd538c923,  // mrs x3, icc_ap1r1_el1      (offset 0x0c)
      0x00000000,  // udf: never reached
  };
  std::copy(std::begin(code), std::end(code), words.begin());
  const uint32_t handler[] = {  // VBAR + 0x200: synchronous, current EL with SP_EL1
      0xd5385205,  // mrs x5, esr_el1
      0xd5384026,  // mrs x6, elr_el1
      0x14000000,  // b .
  };
  std::copy(std::begin(handler), std::end(handler), words.begin() + 0xA00 / 4);
  std::unique_ptr<Arm64Machine> m;
  Arm64Machine& mach = run_words(m, words, 1'000);
  auto& cpu = mach.cpu(0);
  CHECK(cpu.reg(UC_ARM64_REG_X5) == syndrome::uncategorized());
  CHECK(cpu.reg(UC_ARM64_REG_X6) == 0x4008'000c);
  CHECK(cpu.sync_exceptions_taken() == 1);
}

TEST_CASE("id registers: one table sets ID_AA64PFR0_EL1.GIC/ID_PFR1_EL1.GIC to 1 and the PMU fields to PMUv3, the other fields stay") {
  using namespace id_registers;
  CHECK(value(kIdAa64Pfr0El1, 0x2222) == 0x0100'2222);
  CHECK(value(kIdAa64Pfr0El1, 0x0F00'2222) == 0x0100'2222);  // 0b1111 would claim more
  CHECK(value(kIdPfr1El1, 0x0001'1011) == 0x1001'1011);
  CHECK(value(kIdAa64Dfr0El1, 0x1030'5006) == 0x1030'5106);  // PMUVer 1: PMUv3
  CHECK(value(kIdAa64Dfr0El1, 0x1030'5F06) == 0x1030'5106);  // never IMPLEMENTATION DEFINED (0xF)
  CHECK(value(kIdDfr0El1, 0x0001'0066) == 0x0301'0066);      // PerfMon 3: PMUv3
  CHECK(value(sysreg(3, 0, 0, 4, 1), 0x1234) == 0x1234);  // ID_AA64PFR1_EL1: not touched
  CHECK(has_override(kIdAa64Pfr0El1));
  CHECK(has_override(kIdPfr1El1));
  CHECK(has_override(kIdAa64Dfr0El1));
  CHECK_FALSE(has_override(sysreg(3, 0, 0, 0, 0)));  // MIDR_EL1
}

TEST_CASE("arm64: a guest reads ID_AA64PFR0_EL1.GIC = 1, the GIC system register interface (QEMU's cortex-a57)") {
  std::unique_ptr<Arm64Machine> m;
  Arm64Machine& mach = run_words(m, {
      0xd5380401,  // mrs x1, id_aa64pfr0_el1
      0xd5380122,  // mrs x2, id_pfr1_el1
      0x14000000,  // b .
  }, 20);
  const uint64_t pfr0 = mach.cpu(0).reg(UC_ARM64_REG_X1);
  CHECK(((pfr0 >> 24) & 0xF) == 1);  // Linux 6.1: "detected: GIC system register CPU interface"
  CHECK((pfr0 & 0xFFFF) == 0x2222);  // EL0..EL3 AArch64 and AArch32, as the Cortex-A57's
  CHECK(((mach.cpu(0).reg(UC_ARM64_REG_X2) >> 28) & 0xF) == 1);
}
