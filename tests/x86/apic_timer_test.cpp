// The local APIC timer (arch/x86/apic_timer.h; Intel SDM vol. 3A §11.5.4), alone and in a
// local APIC driven through its registers and on the machine.
#include <doctest/doctest.h>

#include <string>

#include "arch/x86/apic_regs.h"
#include "arch/x86/apic_timer.h"
#include "arch/x86/local_apic.h"
#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"
#include "tests/x86/stub_run.h"

using namespace irqremap;
using namespace irqremap::x86;

TEST_CASE("APIC timer: the Divide Configuration Register's bits 3, 1:0 select 2, 4, ..., 128 or 1 (SDM Figure 11-10)") {
  CHECK(ApicTimer::divisor(0x0) == 2);
  CHECK(ApicTimer::divisor(0x1) == 4);
  CHECK(ApicTimer::divisor(0x3) == 16);
  CHECK(ApicTimer::divisor(0x8) == 32);
  CHECK(ApicTimer::divisor(0xA) == 128);
  CHECK(ApicTimer::divisor(0xB) == 1);
}

TEST_CASE("APIC timer one-shot: TMCCT counts down from TMICT at clock / divisor, expires once at zero and stays there (§11.5.4)") {
  ApicTimer t;
  t.write_divide(0x0);  // / 2
  t.write_initial_count(100, 1000);
  CHECK(t.current_count(1000) == 100);
  CHECK(t.current_count(1050) == 75);
  REQUIRE(t.next_expiry().has_value());
  CHECK(*t.next_expiry() == 1200);
  CHECK_FALSE(t.expire(1199));
  CHECK(t.expire(1200));
  CHECK(t.current_count(1300) == 0);
  CHECK_FALSE(t.next_expiry().has_value());
  CHECK_FALSE(t.expire(5000));
}

TEST_CASE("APIC timer periodic: reloads from TMICT, one expiry per period, missed periods coalesce into one") {
  ApicTimer t;
  t.set_mode(ApicTimerMode::Periodic, 0);
  t.write_divide(0xB);
  t.write_initial_count(10, 0);
  CHECK(t.current_count(13) == 7);
  CHECK(t.expire(10));
  CHECK(*t.next_expiry() == 20);
  CHECK(t.expire(45));  // periods 2, 3 and 4 passed: one expiry
  CHECK(*t.next_expiry() == 50);
  t.write_initial_count(0, 46);  // a zero count stops it
  CHECK_FALSE(t.next_expiry().has_value());
}

TEST_CASE("APIC timer: between one-shot and periodic the count goes on; into TSC-deadline mode the timer is disarmed (§11.5.4.1)") {
  ApicTimer t;
  t.set_mode(ApicTimerMode::Periodic, 0);
  t.write_divide(0xB);
  t.write_initial_count(100, 0);
  t.set_mode(ApicTimerMode::OneShot, 230);  // 30 into the third period
  CHECK(t.current_count(230) == 70);
  CHECK(*t.next_expiry() == 300);
  CHECK(t.expire(300));
  t.set_mode(ApicTimerMode::Periodic, 310);  // the one-shot count had ended: it stays 0
  CHECK(t.current_count(320) == 0);
  t.write_initial_count(100, 400);
  t.set_mode(ApicTimerMode::TscDeadline, 410);
  CHECK_FALSE(t.next_expiry().has_value());
  CHECK(t.current_count(420) == 0);
  t.write_initial_count(5, 420);  // ignored in TSC-deadline mode
  CHECK_FALSE(t.next_expiry().has_value());
}

TEST_CASE("APIC timer TSC-deadline: IA32_TSC_DEADLINE arms it, it expires once and reads 0 after; 0 disarms; ignored in other modes") {
  ApicTimer t;
  t.write_deadline(5000, 500);
  CHECK(t.deadline() == 0);  // one-shot mode: the write is ignored
  t.set_mode(ApicTimerMode::TscDeadline, 0);
  t.write_deadline(5000, 500);
  CHECK(t.deadline() == 5000);
  CHECK(*t.next_expiry() == 500);
  CHECK(t.expire(600));
  CHECK(t.deadline() == 0);
  t.write_deadline(9000, 900);
  t.write_deadline(0, 0);
  CHECK_FALSE(t.next_expiry().has_value());
}

TEST_CASE("local APIC: a timer expiry sets the LVT Timer's vector in IRR; a masked entry counts but interrupts nobody") {
  uint64_t clock = 0;
  LocalApic a(0, true);
  a.set_clock([&] { return clock; });
  a.mmio_write(apic::SVR, 4, 0x1FF);
  a.mmio_write(apic::TIMER_DCR, 4, 0xB);
  a.mmio_write(apic::LVT_TIMER, 4, 0x40);
  a.mmio_write(apic::TIMER_ICR, 4, 1000);
  clock = 400;
  CHECK(a.mmio_read(apic::TIMER_CCR, 4) == 600);
  a.update_timer();
  CHECK_FALSE(a.irr(0x40));
  clock = 1000;
  CHECK(a.timer_expiry_matters());
  a.update_timer();
  CHECK(a.irr(0x40));
  CHECK_FALSE(a.timer_expiry_matters());  // pending already: another expiry changes nothing
  a.mmio_write(apic::LVT_TIMER, 4, 0x41 | apic::kLvtMasked);
  a.mmio_write(apic::TIMER_ICR, 4, 10);
  clock = 2000;
  a.update_timer();
  CHECK_FALSE(a.irr(0x41));
  CHECK(a.mmio_read(apic::TIMER_CCR, 4) == 0);
}

TEST_CASE("APIC timer on the machine: periodic ticks, a one-shot count and a TSC deadline taken by a halted CPU, CPUID reporting TSC-deadline (x86/apic-timer)") {
  const x86test::StubRun s = x86test::run_stub("x86/apic-timer");
  const arch::RunResult& r = s.r;
  const auto& m = s.m;
  INFO(r.message);
  CHECK(r.stop == arch::StopKind::SystemOff);
  CHECK(s.uart ==
        "apic-timer: periodic: 3 ticks\n"
        "apic-timer: one-shot: counted down, 1 interrupt, TMCCT 0\n"
        "apic-timer: TSC deadline: 1 interrupt, IA32_TSC_DEADLINE 0 after\n");
  CHECK(m->cpu(0).taken(0x30) == 3);
  CHECK(m->cpu(0).taken(0x31) == 1);
  CHECK(m->cpu(0).taken(0x32) == 1);
  // 3 ms + 0.5 ms + 2 ms of the 1 GHz clock passed, mostly halted: time jumped there.
  CHECK(m->tsc_now() >= 5'500'000);
  CHECK(r.instructions < 1'000'000);
}
