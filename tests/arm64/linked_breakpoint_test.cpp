// Linked breakpoints on the AArch64 machine (Arm ARM D2.9 "Breakpoint linking", D2.10 for
// watchpoints; arch/arm64/self_hosted_debug.h): a linked address-match breakpoint fires only
// while the context-aware breakpoint its LBN names, a linked Context ID match, equals
// CONTEXTIDR_EL1. Cortex-A57 has two context-aware breakpoints (ID_AA64DFR0_EL1.CTX_CMPs
// = 1: breakpoints 4 and 5).
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/exception_entry.h"
#include "arch/arm64/self_hosted_debug.h"
#include "tests/arm64/boot_rig.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {
constexpr uint32_t bvr(unsigned n) { return sysreg(2, 0, 0, n, 4); }
constexpr uint32_t bcr(unsigned n) { return sysreg(2, 0, 0, n, 5); }
constexpr uint32_t wcr(unsigned n) { return sysreg(2, 0, 0, n, 7); }
constexpr uint32_t wvr(unsigned n) { return sysreg(2, 0, 0, n, 6); }
constexpr uint64_t kMde = 1u << 15, kKde = 1u << 13;
constexpr uint64_t kBcrEl1 = 0x1E3;  // E, PMC 0b01, BAS 0b1111
constexpr uint64_t bt(unsigned t) { return uint64_t(t) << 20; }
constexpr uint64_t lbn(unsigned n) { return uint64_t(n) << 16; }
}  // namespace

TEST_CASE("linked breakpoints: a linked address match (BT 0b0001) fires only while the linked Context ID breakpoint LBN names matches CONTEXTIDR_EL1") {
  SelfHostedDebug d;
  const uint64_t mdscr = kMde | kKde;
  d.write(bvr(4), 0x1234'ABCD);  // a Context ID: all 32 bits kept, the low two included
  CHECK(d.read(bvr(4)) == 0x1234'ABCD);
  d.write(bcr(4), 1 | bt(3));  // E, linked Context ID match; its PMC (0) is ignored
  d.write(bvr(1), 0x4008'0100);
  CHECK(d.write(bcr(1), kBcrEl1 | bt(1) | lbn(4)));
  CHECK(d.breakpoint_addresses() == std::vector<uint64_t>{0x4008'0100});
  CHECK(d.breakpoint_hit(0x4008'0100, 1, mdscr, false, 0x1234'ABCD) == 1u);
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, mdscr, false, 0x1234'ABCC));  // another context
  CHECK_FALSE(d.breakpoint_hit(0x4008'0104, 1, mdscr, false, 0x1234'ABCD));  // another address
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 0, mdscr, false, 0x1234'ABCD));  // PMC of breakpoint 1: EL1
  // The context breakpoint alone never fires, whatever the address.
  CHECK_FALSE(d.breakpoint_hit(0x1234'ABCC, 1, mdscr, false, 0x1234'ABCD));
  // Disabled, or of the unlinked type (BT 0b0010): the link generates nothing.
  d.write(bcr(4), bt(3));
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, mdscr, false, 0x1234'ABCD));
  d.write(bcr(4), 1 | bt(2));
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, mdscr, false, 0x1234'ABCD));
  // A link to a breakpoint that is not context-aware (0..3) is CONSTRAINED UNPREDICTABLE:
  // never fires (QEMU's choice too).
  d.write(bvr(3), 0x1234'ABCD);
  d.write(bcr(3), 1 | bt(3));
  d.write(bcr(1), kBcrEl1 | bt(1) | lbn(3));
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, mdscr, false, 0x1234'ABCD));
  // Breakpoint 5 is context-aware too.
  d.write(bvr(5), 7);
  d.write(bcr(5), 1 | bt(3));
  d.write(bcr(1), kBcrEl1 | bt(1) | lbn(5));
  CHECK(d.breakpoint_hit(0x4008'0100, 1, mdscr, false, 7) == 1u);
}

TEST_CASE("linked watchpoints: DBGWCR.WT = 1 makes a watchpoint fire only while its linked Context ID breakpoint matches (Arm ARM D2.10)") {
  SelfHostedDebug d;
  const uint64_t mdscr = kMde | kKde;
  d.write(bvr(5), 0x42);
  d.write(bcr(5), 1 | bt(3));
  d.write(wvr(0), 0x4000'1000);
  d.write(wcr(0), 1 | (1u << 1) | (3u << 3) | (0xFFu << 5) | (1u << 20) | lbn(5));  // E, EL1, both, 8 bytes, WT
  CHECK(d.watchpoint_hit(0x4000'1004, 4, true, 1, mdscr, false, 0x42)->far == 0x4000'1004);
  CHECK_FALSE(d.watchpoint_hit(0x4000'1004, 4, true, 1, mdscr, false, 0x43));
  d.write(wcr(0), 1 | (1u << 1) | (3u << 3) | (0xFFu << 5) | (1u << 20) | lbn(0));  // linked to a plain one
  CHECK_FALSE(d.watchpoint_hit(0x4000'1004, 4, true, 1, mdscr, false, 0x42));
}

namespace {
// At EL1: CONTEXTIDR_EL1 = ctx; breakpoint 4 = linked Context ID 0x55; breakpoint 1 =
// linked address match on `target` with LBN = link; MDE, KDE, PSTATE.D clear; then the
// target, ID_AA64DFR0_EL1 into x13, SYSTEM_OFF. The handler counts in x12, keeps ESR/ELR
// in x10/x11 and sets CONTEXTIDR_EL1 = 0x56, so the target runs again without a match.
arm64test::GuestRun run_linked(uint32_t ctx, unsigned link, bool precise) {
  const uint32_t code[] = {
      0x10004000,                          //  0 adr x0, #0x800
      0xd518c000,                          //  1 msr vbar_el1, x0
      0xD2800001 | (ctx << 5),             //  2 movz x1, #ctx
      0xD518D021,                          //  3 msr contextidr_el1, x1
      0xD2800AA2,                          //  4 movz x2, #0x55
      0xD5100482,                          //  5 msr dbgbvr4_el1, x2
      0xD2A00603,                          //  6 movz x3, #0x30, lsl #16: BT 0b0011
      0xF2800023,                          //  7 movk x3, #1: E
      0xD51004A3,                          //  8 msr dbgbcr4_el1, x3
      0x10000124,                          //  9 adr x4, target (+36)
      0xD5100184,                          // 10 msr dbgbvr1_el1, x4
      0xD2A00005 | ((0x10 | link) << 5),   // 11 movz x5, #(BT 0b0001 | LBN), lsl #16
      0xF2803C65,                          // 12 movk x5, #0x1e3: BAS, PMC EL1, E
      0xD51001A5,                          // 13 msr dbgbcr1_el1, x5
      0xD2940006,                          // 14 movz x6, #0xa000: MDSCR_EL1.MDE | KDE
      0xD5100246,                          // 15 msr mdscr_el1, x6
      0xd5033fdf,                          // 16 isb
      0xd50348ff,                          // 17 msr daifclr, #8
      0xD503201F,                          // 18 target: nop
      0xD538050D,                          // 19 mrs x13, id_aa64dfr0_el1
      0xd2800100,                          // 20 movz x0, #0x8
      0xf2b08000,                          // 21 movk x0, #0x8400, lsl #16 (PSCI SYSTEM_OFF)
      0xd4000002,                          // 22 hvc #0
  };
  const uint32_t handler[] = {
      0xD538520A,  // mrs x10, esr_el1
      0xD538402B,  // mrs x11, elr_el1
      0x9100058C,  // add x12, x12, #1
      0xD2800AC1,  // movz x1, #0x56
      0xD518D021,  // msr contextidr_el1, x1
      0xd69f03e0,  // eret
  };
  return arm64test::run_guest(code, handler, precise);
}
}  // namespace

TEST_CASE("arm64: a linked address breakpoint takes the Breakpoint exception only while CONTEXTIDR_EL1 matches its linked Context ID breakpoint (EC 0x31, ELR = the instruction)") {
  for (bool precise : {false, true}) {
    INFO("precise mode: " << precise);
    {
      const auto g = run_linked(0x55, 4, precise);
      INFO(g.r.message);
      REQUIRE(g.r.stop == arch::StopKind::SystemOff);
      auto& cpu = g.m->cpu(0);
      CHECK(cpu.reg(UC_ARM64_REG_X12) == 1);  // once: after the handler the context is 0x56
      CHECK(cpu.reg(UC_ARM64_REG_X10) == syndrome::breakpoint(true));
      CHECK(cpu.reg(UC_ARM64_REG_X11) == g.entry + 18 * 4);
      // ID_AA64DFR0_EL1 as Cortex-A57's: CTX_CMPs = 1 (two context-aware), BRPs = 5, WRPs = 3.
      CHECK(((cpu.reg(UC_ARM64_REG_X13) >> 28) & 0xF) == 1);
      CHECK(((cpu.reg(UC_ARM64_REG_X13) >> 12) & 0xF) == 5);
      CHECK(((cpu.reg(UC_ARM64_REG_X13) >> 20) & 0xF) == 3);
    }
    {
      const auto g = run_linked(0x54, 4, precise);  // another context from the start
      REQUIRE(g.r.stop == arch::StopKind::SystemOff);
      CHECK(g.m->cpu(0).reg(UC_ARM64_REG_X12) == 0);
      CHECK(g.m->cpu(0).sync_exceptions_taken() == 0);
    }
    {
      const auto g = run_linked(0x55, 2, precise);  // linked to breakpoint 2: not context-aware
      REQUIRE(g.r.stop == arch::StopKind::SystemOff);
      CHECK(g.m->cpu(0).reg(UC_ARM64_REG_X12) == 0);
    }
  }
}
