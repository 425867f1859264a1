// SGIs, PPIs and the generic timer (issue 11): the GICv3 CPU interface and SGI_base frame
// (Arm IHI0069 §4.1, §4.8, §12.2, §12.11) against the plain C++ models, the generic timer
// (Arm ARM D11.2, D13.8) against virtual time, and both through firmware on the machine.
#include <doctest/doctest.h>

#include "tests/arm64/boot_rig.h"

#include <memory>
#include <string>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/generic_timer.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "arch/common/virtual_time.h"
#include "guest-fw/firmware.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

constexpr uint64_t kPrio = 0xa0;

// Four PEs (QEMU virt affinities 0.0.0.0..3), the distributor with ARE + Group 1, every
// CPU interface at PMR 0xf0 with Group 1 on, SGIs enabled at priority 0xa0.
struct Gic {
  GuestMemory mem;
  Trace trace;
  Gicv3Distributor gicd{4};
  std::unique_ptr<Redistributors> rds;
  std::vector<std::unique_ptr<GicCpuInterface>> cpu;
  Gic() {
    REQUIRE(mem.add_ram(0x4000'0000, 0x10'0000, "ram"));
    rds = std::make_unique<Redistributors>(mem, 4);
    gicd.mmio_write(gicd::CTLR, 4, (1u << 4) | (1u << 1));
    for (unsigned c = 0; c < 4; ++c) {
      cpu.push_back(std::make_unique<GicCpuInterface>(c, *rds, gicd, trace));
      const uint64_t sgi = c * gicr::kFrameSize;
      for (unsigned i = 0; i < 32; i += 4) rds->mmio_write(sgi + gicr::IPRIORITYR + i, 4, 0xa0a0'a0a0);
      rds->mmio_write(sgi + gicr::ISENABLER0, 4, 0xFFFF'FFFF);
      cpu[c]->write(icc::PMR_EL1, 0xf0);
      cpu[c]->write(icc::IGRPEN1_EL1, 1);
    }
  }
  uint64_t iar(unsigned c) { return *cpu[c]->read(icc::IAR1_EL1); }
  uint32_t reg(unsigned c, uint64_t off) { return uint32_t(rds->mmio_read(c * gicr::kFrameSize + off, 4)); }
  // Which CPUs have SGI `id` signalled.
  std::vector<unsigned> signalled(uint32_t id) {
    std::vector<unsigned> out;
    for (unsigned c = 0; c < 4; ++c)
      if (auto s = cpu[c]->signalled(); s && s->intid == id) out.push_back(c);
    return out;
  }
};

uint64_t sgi1r(uint32_t intid, uint16_t targets) {
  return fields::set(fields::set(0, icc::SGI1R_INTID, intid), icc::SGI1R_TargetList, targets);
}

using arm64test::boot;
using arm64test::Booted;

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("sgi: ICC_SGI1R_EL1 TargetList sets the SGI pending at exactly the listed PEs (§12.2)") {
  Gic g;
  g.cpu[1]->write(icc::SGI1R_EL1, sgi1r(2, 0b1010));
  CHECK(g.signalled(2) == std::vector<unsigned>{1, 3});
  CHECK(g.reg(1, gicr::ISPENDR0) == 1u << 2);
  CHECK(g.reg(0, gicr::ISPENDR0) == 0);
  // A target list with Aff1 = 1 names no PE of this machine (all have Aff1 = 0).
  g.cpu[0]->write(icc::SGI1R_EL1, fields::set(sgi1r(4, 0xF), icc::SGI1R_Aff1, 1));
  CHECK(g.signalled(4).empty());
  // RS = 1 selects Aff0 16..31: none here either.
  g.cpu[0]->write(icc::SGI1R_EL1, fields::set(sgi1r(5, 0xF), icc::SGI1R_RS, 1));
  CHECK(g.signalled(5).empty());
}

TEST_CASE("sgi: IRM=1 broadcasts to every PE but the sender; a self-targeted SGI reaches the sender") {
  Gic g;
  g.cpu[2]->write(icc::SGI1R_EL1, fields::set(sgi1r(3, 0), icc::SGI1R_IRM, 1));
  CHECK(g.signalled(3) == std::vector<unsigned>{0, 1, 3});
  g.cpu[2]->write(icc::SGI1R_EL1, sgi1r(1, 1u << 2));
  CHECK(g.signalled(1) == std::vector<unsigned>{2});
}

TEST_CASE("sgi: IAR makes an SGI active; it is not offered again until EOI deactivates it (EOImode=0)") {
  Gic g;
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(5, 1));
  CHECK(*g.cpu[0]->read(icc::HPPIR1_EL1) == 5);
  CHECK(g.iar(0) == 5);
  CHECK(g.reg(0, gicr::ISACTIVER0) == 1u << 5);
  CHECK(g.reg(0, gicr::ISPENDR0) == 0);
  CHECK(*g.cpu[0]->read(icc::RPR_EL1) == kPrio);
  // The same SGI again: pending behind the active one, not signalled.
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(5, 1));
  CHECK(g.reg(0, gicr::ISPENDR0) == 1u << 5);
  CHECK_FALSE(g.cpu[0]->signalled());
  CHECK(g.iar(0) == icc::kSpurious);
  g.cpu[0]->write(icc::EOIR1_EL1, 5);
  CHECK(g.reg(0, gicr::ISACTIVER0) == 0);
  CHECK(*g.cpu[0]->read(icc::RPR_EL1) == 0xFF);
  CHECK(g.iar(0) == 5);
}

TEST_CASE("sgi: with EOImode=1 EOI only drops the priority; ICC_DIR_EL1 deactivates (§12.2 ICC_CTLR_EL1)") {
  Gic g;
  g.cpu[1]->write(icc::CTLR_EL1, fields::set(0, icc::CTLR_EOImode, 1));
  CHECK(fields::get(*g.cpu[1]->read(icc::CTLR_EL1), icc::CTLR_EOImode) == 1);
  g.cpu[1]->write(icc::SGI1R_EL1, sgi1r(6, 1u << 1));
  CHECK(g.iar(1) == 6);
  g.cpu[1]->write(icc::EOIR1_EL1, 6);
  CHECK(*g.cpu[1]->read(icc::RPR_EL1) == 0xFF);
  CHECK(g.reg(1, gicr::ISACTIVER0) == 1u << 6);
  g.cpu[1]->write(icc::DIR_EL1, 6);
  CHECK(g.reg(1, gicr::ISACTIVER0) == 0);
}

TEST_CASE("sgi: clearing the active state with GICR_ICACTIVER0 from the handler (kvm-unit-tests 'active')") {
  Gic g;
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(1, 1));
  CHECK(g.iar(0) == 1);
  g.rds->mmio_write(gicr::ICACTIVER0, 4, 1u << 1);
  CHECK(g.reg(0, gicr::ISACTIVER0) == 0);
  // No EOI: the running priority stays at the SGI's, so nothing of equal priority preempts.
  CHECK(*g.cpu[0]->read(icc::RPR_EL1) == kPrio);
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(1, 1));
  CHECK_FALSE(g.cpu[0]->signalled());
  CHECK(*g.cpu[0]->read(icc::HPPIR1_EL1) == 1);
}

TEST_CASE("sgi: ICC_PMR_EL1 masks an SGI whose priority does not beat it; HPPIR still names it (§4.8)") {
  Gic g;
  g.cpu[0]->write(icc::PMR_EL1, 0x80);
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(4, 1));
  CHECK_FALSE(g.cpu[0]->signalled());
  CHECK(*g.cpu[0]->read(icc::HPPIR1_EL1) == 4);
  CHECK(g.iar(0) == icc::kSpurious);
  g.cpu[0]->write(icc::PMR_EL1, 0xf0);
  CHECK(g.cpu[0]->signalled()->intid == 4);
}

TEST_CASE("sgi: the lowest priority value wins, ties to the lowest INTID; disabled and Group 0 are not offered") {
  Gic g;
  g.rds->mmio_write(gicr::IPRIORITYR + 9, 1, 0x40);
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(3, 1));
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(9, 1));
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(7, 1));
  CHECK(g.iar(0) == 9);
  g.cpu[0]->write(icc::EOIR1_EL1, 9);
  CHECK(g.iar(0) == 3);
  g.cpu[0]->write(icc::EOIR1_EL1, 3);
  g.rds->mmio_write(gicr::ICENABLER0, 4, 1u << 7);
  CHECK_FALSE(g.cpu[0]->signalled());
  g.rds->mmio_write(gicr::ISENABLER0, 4, 1u << 7);
  g.rds->mmio_write(gicr::IGROUPR0, 4, ~(1u << 7));
  CHECK_FALSE(g.cpu[0]->signalled());
  // An SGI1R (Group 1) SGI is not set pending where the INTID is Group 0.
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(7, 1));
  g.rds->mmio_write(gicr::ICPENDR0, 4, 1u << 7);
  g.cpu[0]->write(icc::SGI1R_EL1, sgi1r(7, 1));
  CHECK((g.reg(0, gicr::ISPENDR0) & (1u << 7)) == 0);
}

TEST_CASE("ppi: a level-sensitive PPI is pending while its line is high; ICPENDR0 cannot clear it") {
  Gic g;
  (*g.rds)[0].set_ppi_level(27, true);
  CHECK(g.reg(0, gicr::ISPENDR0) == 1u << 27);
  g.rds->mmio_write(gicr::ICPENDR0, 4, 1u << 27);
  CHECK(g.reg(0, gicr::ISPENDR0) == 1u << 27);
  CHECK(g.iar(0) == 27);
  CHECK(g.reg(0, gicr::ISACTIVER0) == 1u << 27);
  (*g.rds)[0].set_ppi_level(27, false);
  CHECK(g.reg(0, gicr::ISPENDR0) == 0);
  g.cpu[0]->write(icc::EOIR1_EL1, 27);
  CHECK_FALSE(g.cpu[0]->signalled());
  // Configured edge-triggered (ICFGR1 Int_config[1] for PPI 27): a rising edge latches.
  g.rds->mmio_write(gicr::ICFGR1, 4, 2u << (2 * (27 - 16)));
  (*g.rds)[0].set_ppi_level(27, true);
  (*g.rds)[0].set_ppi_level(27, false);
  CHECK(g.reg(0, gicr::ISPENDR0) == 1u << 27);
}

TEST_CASE("timer: CNTV fires PPI 27 once the counter reaches CVAL; IMASK and ENABLE gate the line (D11.2.4)") {
  arch::VirtualTime time(16, 1);
  Trace trace;
  std::vector<std::pair<uint32_t, bool>> line;
  GenericTimer t(0, time, [&](uint32_t id, bool level) { line.push_back({id, level}); }, trace);
  CHECK(*t.read(cnt::FRQ_EL0) == 62'500'000);
  time.retire(10);
  CHECK(*t.read(cnt::VCT_EL0) == 160);
  CHECK(*t.read(cnt::PCT_EL0) == 160);
  CHECK_FALSE(t.write(cnt::VCT_EL0, 0));
  REQUIRE(t.write(cnt::V_CVAL_EL0, 320));
  REQUIRE(t.write(cnt::V_CTL_EL0, 1));
  CHECK(line.empty());
  CHECK(*t.read(cnt::V_CTL_EL0) == 1);  // ISTATUS 0
  CHECK(t.next_deadline() == 320);
  time.retire(9);  // 304
  t.update();
  CHECK(line.empty());
  time.retire(1);  // 320
  t.update();
  CHECK(line == std::vector<std::pair<uint32_t, bool>>{{27, true}});
  CHECK(*t.read(cnt::V_CTL_EL0) == 5);  // ENABLE | ISTATUS
  CHECK_FALSE(t.next_deadline());
  REQUIRE(t.write(cnt::V_CTL_EL0, 3));  // IMASK: condition holds, line drops
  CHECK(*t.read(cnt::V_CTL_EL0) == 7);
  CHECK(line.back() == std::pair<uint32_t, bool>{27, false});
  REQUIRE(t.write(cnt::V_CTL_EL0, 0));  // disabled: ISTATUS reads 0
  CHECK(*t.read(cnt::V_CTL_EL0) == 0);
}

TEST_CASE("timer: TVAL writes CVAL = count + SignExtend(TVAL); reads are the signed 32-bit distance") {
  arch::VirtualTime time(16, 1);
  Trace trace;
  GenericTimer t(0, time, {}, trace);
  time.retire(1000);  // count 16000
  REQUIRE(t.write(cnt::P_TVAL_EL0, 500));
  CHECK(*t.read(cnt::P_CVAL_EL0) == 16500);
  CHECK(*t.read(cnt::P_TVAL_EL0) == 500);
  REQUIRE(t.write(cnt::P_TVAL_EL0, uint32_t(-100)));
  CHECK(*t.read(cnt::P_CVAL_EL0) == 15900);
  time.retire(10);  // 16160
  CHECK(int32_t(uint32_t(*t.read(cnt::P_TVAL_EL0))) == -260);
  REQUIRE(t.write(cnt::P_CTL_EL0, 1));
  CHECK(t.output(GenericTimer::Kind::Physical));
}

TEST_CASE("virtual time: a stated rate per CPU; CPUs running side by side share the clock, exactly") {
  arch::VirtualTime time(1, 16);  // the AArch64 machine's 62.5 MHz counter at 1 insn/ns
  time.retire(160);               // one CPU: 160 instructions = 10 ticks
  CHECK(time.now() == 10);
  time.set_sharing(4);            // four CPUs each retire 160: the clock moves 10 ticks, not 40
  for (int c = 0; c < 4; ++c) time.retire(160);
  CHECK(time.now() == 20);
  CHECK(time.retired() == 800);
  time.set_sharing(3);            // thirds add up without rounding
  for (int c = 0; c < 3; ++c) time.retire(16);
  CHECK(time.now() == 21);
  // The running CPU's own instructions until a deadline, at the current sharing.
  CHECK(time.insns_until(22) == 3 * 16);
  uint64_t in_flight = 24;
  time.set_in_flight([&] { return in_flight; });
  CHECK(time.now() == 21);  // 24 of 3 sharing: half a tick so far
  CHECK(time.insns_until(22) == 24);
  time.set_sharing(99);  // more CPUs than a machine has: clamped to 8
  CHECK(time.sharing() == 8);
}

TEST_CASE("virtual time: the running quantum's instructions count, jumps only go forward") {
  arch::VirtualTime time(16, 1);  // 16 ticks per instruction
  uint64_t in_flight = 0;
  time.set_in_flight([&] { return in_flight; });
  in_flight = 5;
  CHECK(time.now() == 80);
  in_flight = 0;
  time.retire(5);
  CHECK(time.now() == 80);
  CHECK(time.insns_until(100) == 2);
  CHECK(time.advance_to(1000));
  CHECK_FALSE(time.advance_to(500));
  CHECK(time.now() == 1000);
}

TEST_CASE("arm64 sgi-ipi: self, target-list and broadcast SGIs reach exactly their targets; active state and EOImode") {
  auto b = boot("arm64/sgi-ipi", 4);
  INFO(b.uart);
  CHECK(b.r.stop == arch::StopKind::SystemOff);
  CHECK(has(b.uart, "self: SGI 1 handled per CPU: 1 0 0 0\n"));
  CHECK(has(b.uart, "target-list {1,3}: SGI 2 handled per CPU: 0 1 0 1\n"));
  CHECK(has(b.uart, "broadcast: SGI 3 handled per CPU: 0 1 1 1\n"));
  CHECK(has(b.uart, "pmr 0x80: handled 0, ICC_HPPIR1_EL1 4, ICC_RPR_EL1 0xff; pmr 0xf0: handled 1\n"));
  CHECK(has(b.uart, "active: IAR 5, active 1, ICC_RPR_EL1 0xa0; again while active: IAR 1023; after EOI: active 0, IAR 5"));
  CHECK(has(b.uart, "eoimode 1: IAR 6, after EOI: ICC_RPR_EL1 0xff active 1; after DIR: active 0\n"));
  // The secondaries slept in WFI between SGIs: each woke for its SGIs only.
  unsigned on1 = 0;
  for (const auto& a : b.m->acks()) on1 += a.cpu == 1;
  CHECK(on1 == 2);
}

TEST_CASE("arm64 timer: PPI 27/30 fire after CVAL, WFI with a timer armed wakes (time jumps), not a deadlock") {
  auto b = boot("arm64/timer", 1);
  INFO(b.uart);
  CHECK(b.r.stop == arch::StopKind::SystemOff);
  CHECK(has(b.uart, "frequency: CNTFRQ_EL0 62500000 Hz\n"));
  CHECK(has(b.uart, "imask: PPI 27 pending while masked 0, unmasked 1, taken 1\n"));
  CHECK(has(b.uart, "virtual: PPI 27 taken 1 time(s), at or after CVAL yes\n"));
  CHECK(has(b.uart, "physical: PPI 30 taken 1 time(s), at or after CVAL yes\n"));
  CHECK(has(b.uart, "wfi-masked: woke with PPI 27 pending 1, taken while masked 0, after unmask 1\n"));
  // One CPU in WFI: only a jump of virtual time could have woken it. Without jumps the
  // counter would be the CPU's instructions / insns_per_tick.
  CHECK(b.m->time().now() > b.m->instructions() / b.m->time().insns_per());
}

TEST_CASE("arm64 timer: two runs read the same counter values (virtual time is deterministic)") {
  auto a = boot("arm64/timer", 4);
  auto b = boot("arm64/timer", 4);
  CHECK(a.uart == b.uart);
  CHECK(a.m->instructions() == b.m->instructions());
  CHECK(a.m->time().now() == b.m->time().now());
  CHECK(a.m->time().now() > 0);
}

TEST_CASE("virtual time: a quantum's stall (x86 PAUSE) moves the clock as instructions would, but is no instruction: not retired, not on the timeline") {
  arch::VirtualTime time(1, 1);
  time.set_sharing(2);
  time.retire(10, 278);  // 10 instructions, two of them PAUSEs of 140 instruction-times
  CHECK(time.retired() == 10);
  CHECK(time.now() == 144);  // (10 + 278) / 2 CPUs
  CHECK(time.timeline_now() == 10);
  uint64_t insns = 4, stall = 139;  // in flight: 4 instructions, one PAUSE among them
  time.set_in_flight([&] { return insns; }, [&] { return stall; });
  CHECK(time.now() == 215);  // 144 + 143 / 2
  CHECK(time.timeline_now() == 14);
  CHECK(time.insns_until(216) == 1);
}
