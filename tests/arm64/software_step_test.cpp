// The software step state machine (arch/arm64/software_step.h; Arm ARM D2.12) and the
// Software Step syndrome, as values.
#include <doctest/doctest.h>

#include <unicorn/unicorn.h>

#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/exception_entry.h"
#include "arch/arm64/software_step.h"
#include "tests/arm64/boot_rig.h"

using namespace irqremap;
using namespace irqremap::arm64;
using namespace irqremap::arm64::software_step;

TEST_CASE("software step: active only with MDSCR_EL1.SS and debug exceptions enabled: from EL0 always, from EL1 with KDE and PSTATE.D clear") {
  const uint64_t ss_kde = kMdscrSs | kMdscrKde;
  CHECK(active(ss_kde, 1, false));
  CHECK_FALSE(active(ss_kde, 1, true));          // PSTATE.D masks it at EL1
  CHECK_FALSE(active(kMdscrSs, 1, false));       // no KDE: not from EL1
  CHECK(active(kMdscrSs, 0, true));              // EL0: KDE and D do not matter
  CHECK_FALSE(active(kMdscrKde, 0, false));      // no SS
  CHECK_FALSE(active(ss_kde, 2, false));         // no EL2 here
}

TEST_CASE("software step: PSTATE.SS tells active-not-pending (step one instruction) from active-pending (take the exception now)") {
  const uint64_t ss_kde = kMdscrSs | kMdscrKde;
  CHECK(state(ss_kde, 1, false, true) == State::ActiveNotPending);
  CHECK(state(ss_kde, 1, false, false) == State::ActivePending);
  CHECK(state(ss_kde, 1, true, true) == State::Inactive);
  CHECK(state(0, 0, false, true) == State::Inactive);
}

TEST_CASE("software step: an exception return copies SPSR.SS into PSTATE.SS only when stepping is active at the EL returned to") {
  const uint64_t ss_kde = kMdscrSs | kMdscrKde;
  const uint64_t el1h = 0x5, el0t = 0x0;
  CHECK(ss_after_eret(ss_kde, el1h | kSpsrSs));
  CHECK_FALSE(ss_after_eret(ss_kde, el1h));                  // SPSR.SS = 0: active-pending
  CHECK_FALSE(ss_after_eret(ss_kde, el1h | kSpsrSs | kSpsrD));  // returns with D set: inactive
  CHECK(ss_after_eret(kMdscrSs, el0t | kSpsrSs | kSpsrD));   // to EL0: D and KDE do not matter
  CHECK_FALSE(ss_after_eret(kMdscrKde, el1h | kSpsrSs));     // MDSCR_EL1.SS clear
}

TEST_CASE("software step: ESR is EC 0x33 (same EL) or 0x32, IFSC 0x22, ISV and EX only after a stepped instruction") {
  CHECK(syndrome::software_step(true, false, false) == 0xCE00'0022u);
  CHECK(syndrome::software_step(false, true, false) == 0xCB00'0022u);
  CHECK(syndrome::software_step(true, true, true) == 0xCF00'0062u);
  CHECK(syndrome::software_step(true, false, true) == 0xCE00'0022u);  // EX needs ISV
  CHECK(is_load_exclusive(0xC85F'7C20));   // ldxr x0, [x1]
  CHECK(is_load_exclusive(0x885F'FC20));   // ldaxr w0, [x1]
  CHECK_FALSE(is_load_exclusive(0xC800'7C20));  // stxr w0, x0, [x1]
  CHECK_FALSE(is_load_exclusive(0xC8DF'FC20));  // ldar x0, [x1] (o2 = 1: not exclusive)
  CHECK_FALSE(is_load_exclusive(0xF940'0020));  // ldr x0, [x1]
}

namespace {
constexpr uint32_t kNop = 0xD503'201F;
}  // namespace

TEST_CASE("arm64: a guest single-steps with MDSCR_EL1.SS: the unmask takes a step exception before the next instruction (ISV 0), each ERET with SPSR.SS steps one (ISV 1), PSTATE.D stops it") {
  for (bool precise : {false, true}) {  // fast mode (block hooks), then an instruction trace
    INFO("precise mode: " << precise);
    const uint32_t code[] = {
        0x10004000,  // adr x0, #0x800
        0xd518c000,  // msr vbar_el1, x0
        0xd2840021,  // movz x1, #0x2001: MDSCR_EL1.SS | KDE
        0xd5100241,  // msr mdscr_el1, x1
        0xd5033fdf,  // isb
        0xd2a80134,  // movz x20, #0x4009, lsl #16: where the handler stores ELR_EL1
        0xd2a80135,  // movz x21, #0x4009, lsl #16
        0xf2820015,  // movk x21, #0x1000: where it stores ESR_EL1
        0xd50348ff,  // msr daifclr, #8   (offset 0x20): debug exceptions unmasked
        kNop,        // 0x24: the step exception comes before it
        kNop,        // 0x28
        0xd50348df,  // msr daifset, #8   (0x2c): stepped; after it stepping is inactive
        0xd2800100,  // movz x0, #0x8
        0xf2b08000,  // movk x0, #0x8400, lsl #16   (PSCI SYSTEM_OFF)
        0xd4000002,  // hvc #0
    };
    const uint32_t handler[] = {  // VBAR + 0x200: synchronous, current EL with SP_EL1
        0xd5384022,  // mrs x2, elr_el1
        0xd5385203,  // mrs x3, esr_el1
        0xf8008682,  // str x2, [x20], #8
        0xf80086a3,  // str x3, [x21], #8
        0xd5384004,  // mrs x4, spsr_el1
        0xb26b0084,  // orr x4, x4, #(1 << 21): SPSR.SS, step the next instruction
        0xd5184004,  // msr spsr_el1, x4
        0xd69f03e0,  // eret
    };
    const auto g = arm64test::run_guest(code, handler, precise);
    const auto& r = g.r;
    const uint64_t* entry = &g.entry;
    INFO(r.message);
    CHECK(r.stop == arch::StopKind::SystemOff);
    auto& mem = g.m->memory();
    const uint64_t elr = 0x4009'0000, esr = 0x4009'1000;
    CHECK(*mem.read64(elr) == *entry + 0x24);
    CHECK(*mem.read64(esr) == 0xCE00'0022u);  // EC 0x33, ISV 0: nothing was stepped
    CHECK(*mem.read64(elr + 8) == *entry + 0x28);
    CHECK(*mem.read64(esr + 8) == 0xCF00'0022u);  // ISV 1, EX 0
    CHECK(*mem.read64(elr + 16) == *entry + 0x2c);
    CHECK(*mem.read64(elr + 24) == 0);  // the stepped MSR DAIFSet masked debug: no fourth
    CHECK(g.m->cpu(0).sync_exceptions_taken() == 3);
    CHECK((g.m->cpu(0).mdscr() & kMdscrSs) != 0);   // the guest's view keeps SS
  }
}
