// The PMUv3 of the AArch64 machine (arch/arm64/pmu.h; Arm ARM D11 "The Performance
// Monitors Extension", D13.4 its registers; QEMU 7.2's cortex-a57 for the implemented
// choices): the register file as a value, then a guest that reads its cycle counter.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/exception_entry.h"
#include "arch/arm64/pmu.h"
#include "tests/arm64/boot_rig.h"

using namespace irqremap;
using namespace irqremap::arm64;
using namespace irqremap::arm64::pmu;

namespace {
constexpr uint64_t kE = 1, kP = 2, kC = 4, kD = 8, kLc = 0x40;
constexpr uint64_t kCycleBit = uint64_t{1} << 31;

struct Rig {
  std::vector<bool> levels;
  Pmu pmu{[this](bool l) { levels.push_back(l); }};
  uint64_t now = 0;
  unsigned el = 1;
  uint64_t rd(uint32_t enc) { return pmu.read(enc, now, el); }
  void wr(uint32_t enc, uint64_t v) { pmu.write(enc, v, now, el); }
  void run(uint64_t insns) { now += insns; }
};
}  // namespace

TEST_CASE("pmu: PMCR_EL0 reads IMP 0x41, IDCODE 1, N = 6 (QEMU's cortex-a57); only E, D, X, DP, LC are kept; P and C read 0") {
  Rig r;
  CHECK(r.rd(PMCR_EL0) == 0x4101'3000);
  CHECK(fields::get(r.rd(PMCR_EL0), PMCR_N) == 6);
  r.wr(PMCR_EL0, ~uint64_t{0});
  CHECK(r.rd(PMCR_EL0) == 0x4101'3079);  // LP (bit 7) is RES0 without FEAT_PMUv3p5
  CHECK(r.rd(PMCEID0_EL0) == 0x2'0101);    // SW_INCR, INST_RETIRED, CPU_CYCLES
  CHECK((r.rd(PMCEID0_EL0) & (1u << 0x13)) == 0);  // MEM_ACCESS not implemented, as QEMU 7.2
  CHECK(r.rd(PMCEID1_EL0) == 0);
}

TEST_CASE("pmu: the cycle counter counts one per retired instruction only with PMCR_EL0.E and PMCNTENSET_EL0[31]; C resets it; D divides by 64") {
  Rig r;
  r.run(100);
  CHECK(r.rd(PMCCNTR_EL0) == 0);  // nothing enabled
  r.wr(PMCNTENSET_EL0, kCycleBit);
  r.run(10);
  CHECK(r.rd(PMCCNTR_EL0) == 0);  // E = 0
  r.wr(PMCR_EL0, kE | kLc);
  r.run(37);
  CHECK(r.rd(PMCCNTR_EL0) == 37);
  r.wr(PMCNTENCLR_EL0, kCycleBit);
  r.run(50);
  CHECK(r.rd(PMCCNTR_EL0) == 37);
  CHECK(r.rd(PMCNTENSET_EL0) == 0);
  r.wr(PMCNTENSET_EL0, kCycleBit);
  r.wr(PMCR_EL0, kE | kLc | kC);
  CHECK(r.rd(PMCCNTR_EL0) == 0);
  r.wr(PMCR_EL0, kE | kLc | kD);
  r.run(64 * 3 + 10);
  CHECK(r.rd(PMCCNTR_EL0) == 3);
}

TEST_CASE("pmu: filters: PMCCFILTR_EL0.P excludes EL1, U excludes EL0; instructions count at the EL of the last sync") {
  Rig r;
  r.wr(PMCNTENSET_EL0, kCycleBit | 1);
  r.wr(pmevtyper(0), kInstRetired | kFilterU);  // not at EL0
  r.wr(PMCCFILTR_EL0, kFilterP);                // not at EL1
  r.wr(PMCR_EL0, kE | kLc);
  r.run(5);
  r.pmu.sync(r.now, 0);  // an ERET to EL0 after 5 instructions at EL1
  r.run(7);
  r.pmu.sync(r.now, 1);  // an exception back to EL1 after 7 at EL0
  r.run(2);
  CHECK(r.rd(pmevcntr(0)) == 7);   // the EL1 instructions: 5 + 2
  CHECK(r.rd(PMCCNTR_EL0) == 7);  // the EL0 ones
  // NSK equal to P: EL1 counts again (Non-secure state without EL3, as QEMU).
  r.wr(PMCCFILTR_EL0, kFilterP | kFilterNsk);
  r.run(4);
  CHECK(r.rd(PMCCNTR_EL0) == 11);
  CHECK(r.rd(PMCCFILTR_EL0) == (kFilterP | kFilterNsk));
}

TEST_CASE("pmu: event counters count INST_RETIRED and CPU_CYCLES, never MEM_ACCESS (0x13, not implemented); SW_INCR counts PMSWINC_EL0 writes") {
  Rig r;
  r.wr(pmevtyper(0), kInstRetired);
  r.wr(pmevtyper(1), kCpuCycles);
  r.wr(pmevtyper(2), 0x13);
  r.wr(pmevtyper(3), kSwIncr);
  r.wr(PMCNTENSET_EL0, 0xF);
  r.wr(PMCR_EL0, kE);
  r.run(20);
  r.wr(PMSWINC_EL0, 0xF);  // only counter 3 counts SW_INCR
  r.wr(PMSWINC_EL0, 0x8);
  CHECK(r.rd(pmevcntr(0)) == 20);
  CHECK(r.rd(pmevcntr(1)) == 20);
  CHECK(r.rd(pmevcntr(2)) == 0);
  CHECK(r.rd(pmevcntr(3)) == 2);
  r.wr(PMCNTENCLR_EL0, 0x8);
  r.wr(PMSWINC_EL0, 0x8);  // a disabled counter does not count
  CHECK(r.rd(pmevcntr(3)) == 2);
  r.wr(PMCR_EL0, kE | kP);  // P resets the event counters, not the cycle counter
  CHECK(r.rd(pmevcntr(0)) == 0);
  CHECK(r.rd(pmevcntr(3)) == 0);
}

TEST_CASE("pmu: PMSELR_EL0 selects PMXEVTYPER/PMXEVCNTR (31: PMCCFILTR_EL0); counters past N = 6 read 0 and ignore writes; enables keep implemented bits") {
  Rig r;
  r.wr(PMSELR_EL0, 1);
  r.wr(PMXEVTYPER_EL0, 0xEA);
  r.wr(PMXEVCNTR_EL0, 0xdeadbeef);
  CHECK((r.rd(pmevtyper(1)) & 0xFFF) == 0xEA);
  CHECK(r.rd(pmevcntr(1)) == 0xdeadbeef);
  r.wr(PMSELR_EL0, 31);
  r.wr(PMXEVTYPER_EL0, ~uint64_t{0});
  CHECK(r.rd(PMCCFILTR_EL0) == kCcfiltrMask);
  r.wr(pmevcntr(6), 5);
  r.wr(pmevtyper(7), 5);
  CHECK(r.rd(pmevcntr(6)) == 0);
  CHECK(r.rd(pmevtyper(7)) == 0);
  r.wr(PMCNTENSET_EL0, 0xFFFF'FFFF);
  CHECK(r.rd(PMCNTENSET_EL0) == (kCycleBit | 0x3F));
  CHECK(r.rd(PMCNTENCLR_EL0) == (kCycleBit | 0x3F));
  r.wr(PMINTENSET_EL1, 0xFFFF'FFFF);
  CHECK(r.rd(PMINTENCLR_EL1) == (kCycleBit | 0x3F));
}

TEST_CASE("pmu: an event counter overflows from 0xFFFFFFFF to 0, sets PMOVSSET_EL0 and raises PPI 23 while E and PMINTENSET_EL1 allow; PMOVSCLR_EL0 lowers it") {
  Rig r;
  r.wr(pmevtyper(0), kInstRetired);
  r.wr(pmevcntr(0), 0xFFFF'FFF0);
  r.wr(PMCNTENSET_EL0, 1);
  r.wr(PMCR_EL0, kE);
  CHECK_FALSE(r.pmu.insns_to_overflow());  // its interrupt is disabled: no deadline
  r.wr(PMINTENSET_EL1, 1);
  REQUIRE(r.pmu.insns_to_overflow());
  CHECK(*r.pmu.insns_to_overflow() == 16);
  r.run(15);
  r.pmu.sync(r.now, 1);
  CHECK(r.rd(PMOVSSET_EL0) == 0);
  CHECK(r.levels.empty());
  r.run(3);
  r.pmu.sync(r.now, 1);
  CHECK(r.rd(pmevcntr(0)) == 2);
  CHECK(r.rd(PMOVSCLR_EL0) == 1);
  CHECK(r.pmu.irq());
  CHECK(r.levels == std::vector<bool>{true});
  r.wr(PMCR_EL0, 0);  // E = 0 masks the interrupt (QEMU's condition)
  CHECK(r.levels == std::vector<bool>{true, false});
  r.wr(PMCR_EL0, kE);
  r.wr(PMOVSCLR_EL0, 1);
  CHECK(r.levels == std::vector<bool>{true, false, true, false});
  CHECK(r.rd(PMOVSSET_EL0) == 0);
}

TEST_CASE("pmu: the cycle counter overflows at bit 31 with PMCR_EL0.LC = 0 and at bit 63 with LC = 1") {
  Rig r;
  r.wr(PMCNTENSET_EL0, kCycleBit);
  r.wr(PMINTENSET_EL1, kCycleBit);
  r.wr(PMCCNTR_EL0, 0xFFFF'FFFE);
  r.wr(PMCR_EL0, kE);
  CHECK(*r.pmu.insns_to_overflow() == 2);
  r.run(2);
  CHECK(r.rd(PMCCNTR_EL0) == 0x1'0000'0000);  // 64 bits count on
  CHECK(r.rd(PMOVSSET_EL0) == kCycleBit);
  r.wr(PMOVSCLR_EL0, kCycleBit);
  r.wr(PMCR_EL0, kE | kLc);
  r.wr(PMCCNTR_EL0, 0xFFFF'FFFE);
  r.run(2);
  CHECK(r.rd(PMOVSSET_EL0) == 0);
  r.wr(PMCCNTR_EL0, ~uint64_t{0});
  r.run(1);
  CHECK(r.rd(PMCCNTR_EL0) == 0);
  CHECK(r.rd(PMOVSSET_EL0) == kCycleBit);
}

TEST_CASE("pmu: EL0 access follows PMUSERENR_EL0 (EN, SW, CR, ER), else it traps to EL1; PMINTEN*_EL1 and PMMIR_EL1 are UNDEFINED at EL0") {
  Rig r;
  const uint32_t pmmir = sysreg(3, 0, 9, 14, 6);
  CHECK(r.pmu.check(pmmir, true, 1) == Pmu::Check::Undefined);  // FEAT_PMUv3p4 only
  CHECK(r.pmu.check(PMCEID0_EL0, false, 1) == Pmu::Check::Undefined);  // read-only
  CHECK(r.pmu.check(PMSWINC_EL0, true, 1) == Pmu::Check::Undefined);   // write-only
  CHECK(r.pmu.check(PMCCNTR_EL0, true, 1) == Pmu::Check::Ok);
  CHECK(r.pmu.check(PMCCNTR_EL0, true, 0) == Pmu::Check::TrapToEl1);
  CHECK(r.pmu.check(PMUSERENR_EL0, true, 0) == Pmu::Check::Ok);
  CHECK(r.pmu.check(PMUSERENR_EL0, false, 0) == Pmu::Check::Undefined);
  CHECK(r.pmu.check(PMINTENSET_EL1, true, 0) == Pmu::Check::Undefined);
  r.wr(PMUSERENR_EL0, kUserCr);
  CHECK(r.pmu.check(PMCCNTR_EL0, true, 0) == Pmu::Check::Ok);
  CHECK(r.pmu.check(PMCCNTR_EL0, false, 0) == Pmu::Check::TrapToEl1);
  CHECK(r.pmu.check(PMSWINC_EL0, false, 0) == Pmu::Check::TrapToEl1);
  r.wr(PMUSERENR_EL0, kUserSw | kUserEr);
  CHECK(r.pmu.check(PMSWINC_EL0, false, 0) == Pmu::Check::Ok);
  CHECK(r.pmu.check(pmevcntr(2), true, 0) == Pmu::Check::Ok);
  CHECK(r.pmu.check(PMSELR_EL0, false, 0) == Pmu::Check::Ok);
  CHECK(r.pmu.check(pmevcntr(2), false, 0) == Pmu::Check::TrapToEl1);
  r.wr(PMUSERENR_EL0, kUserEn);
  CHECK(r.pmu.check(PMCR_EL0, false, 0) == Pmu::Check::Ok);
  CHECK(Pmu::is_pmu_register(PMCCFILTR_EL0));
  CHECK(Pmu::is_pmu_register(PMINTENSET_EL1));
  CHECK_FALSE(Pmu::is_pmu_register(sysreg(3, 3, 14, 0, 2)));  // CNTVCT_EL0
  CHECK_FALSE(Pmu::is_pmu_register(sysreg(3, 3, 14, 3, 1)));  // CNTV_CTL_EL0
  CHECK(Pmu::name(pmevtyper(30)) == "PMEVTYPER30_EL0");
  CHECK(syndrome::sysreg_trap(0xD53B'9D02) == 0x6230'E45Bu);  // mrs x2, pmccntr_el0: EC 0x18, ISS
}

namespace {
// MRS/MSR Xt of a system register (Arm ARM C6.2.x: op0 is 2 + o0).
constexpr uint32_t mrs(uint32_t enc, unsigned rt) { return 0xD520'0000 | (enc << 5) | rt; }
constexpr uint32_t msr(uint32_t enc, unsigned rt) { return 0xD500'0000 | (enc << 5) | rt; }
constexpr uint32_t kNop = 0xD503'201F;
}  // namespace

TEST_CASE("arm64: a guest sees PMUv3 (PMUVer 1, PMCR_EL0 0x41013000) and its cycle counter counts exactly the instructions retired; PMMIR_EL1 is UNDEFINED") {
  for (bool precise : {false, true}) {  // fast mode (block hooks), then an instruction trace
    INFO("precise mode: " << precise);
    const uint32_t code[] = {
        0x10004000,                       // adr x0, #0x800
        0xd518c000,                       // msr vbar_el1, x0
        0xd5033fdf,                       // isb
        0xd5380501,                       // mrs x1, id_aa64dfr0_el1
        mrs(PMCR_EL0, 2),                 // x2
        0xd2a00003 | (0x8000u << 5),      // movz x3, #0x8000, lsl #16   (PMCNTENSET bit 31)
        msr(PMCNTENSET_EL0, 3),
        msr(PMCCFILTR_EL0, 31),           // xzr: count at EL0 and EL1
        0xd2800000 | (0x45u << 5),        // movz x0, #0x45: E | C | LC
        msr(PMCR_EL0, 0),                 // counting starts after this instruction
        kNop, kNop, kNop, kNop, kNop,
        mrs(PMCCNTR_EL0, 4),              // x4 = 5 NOPs + this MRS
        mrs(sysreg(3, 0, 9, 14, 6), 5),   // PMMIR_EL1: UNDEFINED   (offset 0x40)
        0x00000000,
    };
    const uint32_t handler[] = {  // VBAR + 0x200: synchronous, current EL with SP_EL1
        0xd5385206,  // mrs x6, esr_el1
        0xd5384027,  // mrs x7, elr_el1
        0xd2800100,  // movz x0, #0x8
        0xf2b08000,  // movk x0, #0x8400, lsl #16   (PSCI SYSTEM_OFF)
        0xd4000002,  // hvc #0
    };
    const auto g = arm64test::run_guest(code, handler, precise);
    const auto& r = g.r;
    const uint64_t* entry = &g.entry;
    INFO(r.message);
    CHECK(r.stop == arch::StopKind::SystemOff);
    auto& cpu = g.m->cpu(0);
    CHECK(((cpu.reg(UC_ARM64_REG_X1) >> 8) & 0xF) == 1);  // PMUVer: PMUv3
    CHECK(cpu.reg(UC_ARM64_REG_X2) == 0x4101'3000);
    CHECK(cpu.reg(UC_ARM64_REG_X4) == 6);
    CHECK(cpu.reg(UC_ARM64_REG_X5) == 0);  // the MRS wrote nothing
    CHECK(cpu.reg(UC_ARM64_REG_X6) == syndrome::uncategorized());
    CHECK(cpu.reg(UC_ARM64_REG_X7) == *entry + 0x40);
    CHECK(cpu.sync_exceptions_taken() == 1);
  }
}

TEST_CASE("arm64: write-only PMSWINC_EL0 and OSLAR_EL1 written by a guest are performed once, never read back through Unicorn (whose raw read of them aborts the host)") {
  // Found by fuzz_machine_arm64: the vCPU asked Unicorn whether it knows a register by
  // reading it, and QEMU's raw read asserts for a write-only register it defines.
  for (bool precise : {false, true}) {
    INFO("precise mode: " << precise);
    const uint32_t code[] = {
        0xd2800020,                                       // movz x0, #1
        msr(PMCNTENSET_EL0, 0),                           // counter 0 on
        msr(sysreg(3, 3, 14, 12, 0), 31),                 // PMEVTYPER0_EL0 = SW_INCR (0)
        0xd2800020,                                       // movz x0, #1: E
        msr(PMCR_EL0, 0),
        0xd2800020,                                       // movz x0, #1
        msr(sysreg(3, 3, 9, 12, 4), 0),                   // PMSWINC_EL0: counter 0 + 1
        msr(sysreg(3, 3, 9, 12, 4), 0),                   // again
        msr(sysreg(2, 0, 1, 0, 4), 31),                   // OSLAR_EL1 = 0: OS lock off
        mrs(sysreg(3, 3, 14, 8, 0), 1),                   // x1 = PMEVCNTR0_EL0
        0xd2800100,                                       // movz x0, #0x8
        0xf2b08000,                                       // movk x0, #0x8400, lsl #16
        0xd4000002,                                       // hvc #0: SYSTEM_OFF
    };
    const auto g = arm64test::run_guest(code, {}, precise);
    const auto& r = g.r;
    INFO(r.message);
    CHECK(r.stop == arch::StopKind::SystemOff);
    CHECK(g.m->cpu(0).reg(UC_ARM64_REG_X1) == 2);  // each write counted once
  }
}
