// Watchpoints (arch/arm64/self_hosted_debug.h; Arm ARM D2.10): the data access a load or
// store is about to make (arch/arm64/data_access.h), and a guest that takes the
// Watchpoint exception before its store is performed.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/data_access.h"
#include "arch/arm64/exception_entry.h"
#include "tests/arm64/boot_rig.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {
// X0..X30 = 0x1000 * n, SP = 0x8000.
uint64_t regs(unsigned n) { return n == 31 ? 0x8000 : 0x1000ull * n; }
std::optional<DataAccess> at(uint32_t w) { return decode_data_access(w, 0x4000, regs); }
bool same(const std::optional<DataAccess>& a, uint64_t va, unsigned size, bool write) {
  return a && a->va == va && a->size == size && a->write == write;
}
constexpr uint32_t kNop = 0xD503'201F;
}  // namespace

TEST_CASE("data access: address, size and direction of A64 loads and stores in every addressing mode, before they run") {
  CHECK(same(at(0xF9000041), 0x2000, 8, true));           // str x1, [x2]
  CHECK(same(at(0xB9400883), 0x4008, 4, false));          // ldr w3, [x4, #8]
  CHECK(same(at(0x385FFC20), 0x0FFF, 1, false));          // ldrb w0, [x1, #-1]!
  CHECK(same(at(0xF81007E0), 0x8000, 8, true));           // str x0, [sp], #16 (post-index: the base)
  CHECK(same(at(0xA9BE7BFD), 0x8000 - 32, 16, true));     // stp x29, x30, [sp, #-32]!
  CHECK(same(at(0xAD410440), 0x2000 + 32, 32, false));    // ldp q0, q1, [x2, #32]
  CHECK(same(at(0xC85F7C20), 0x1000, 8, false));          // ldxr x0, [x1]
  CHECK(same(at(0xC8027C20), 0x1000, 8, true));           // stxr w2, x0, [x1]
  CHECK(same(at(0x58000040), 0x4008, 8, false));          // ldr x0, #+8 (literal)
  CHECK(same(at(0xF8627820), 0x1000 + (0x2000 << 3), 8, false));  // ldr x0, [x1, x2, lsl #3]
  CHECK(same(at(0x3D800020), 0x1000, 16, true));          // str q0, [x1]
  CHECK_FALSE(at(0xF9800000));                             // prfm pldl1keep, [x0]: no access
  // Advanced SIMD structures: every register's bytes in one access at the base.
  CHECK(same(at(0x4C00A040), 0x2000, 32, true));          // st1 {v0.16b, v1.16b}, [x2]
  CHECK(same(at(0x0C407060), 0x3000, 8, false));          // ld1 {v0.8b}, [x3]
  CHECK(same(at(0x4C9F0820), 0x1000, 64, true));          // st4 {v0.4s-v3.4s}, [x1], #64
  CHECK(same(at(0x4C4047E4), 0x8000, 48, false));         // ld3 {v4.8h-v6.8h}, [sp]
  CHECK(same(at(0x4C852C40), 0x2000, 64, true));          // st1 {v0.2d-v3.2d}, [x2], x5
  CHECK(same(at(0x0D009040), 0x2000, 4, true));           // st1 {v0.s}[1], [x2]
  CHECK(same(at(0x4D60A420), 0x1000, 32, false));         // ld4 {v0.d-v3.d}[1], [x1]
  CHECK(same(at(0x4D60C460), 0x3000, 4, false));          // ld2r {v0.8h, v1.8h}, [x3]
  CHECK(same(at(0x0D9F2C80), 0x4000, 3, true));           // st3 {v0.b-v2.b}[3], [x4], #3
  CHECK(same(at(0x0D405020), 0x1000, 2, false));          // ld1 {v0.h}[2], [x1]
  CHECK(same(at(0xAD3F0440), 0x2000 - 32, 32, true));     // stp q0, q1, [x2, #-32]
  CHECK_FALSE(at(0x8B020020));                             // add x0, x1, x2
}

TEST_CASE("arm64: a store to a watched word takes the Watchpoint exception before it is performed (EC 0x35, WnR, FAR); a load and a neighbouring store do not") {
  for (bool precise : {false, true}) {
    INFO("precise mode: " << precise);
    const uint32_t code[] = {
        0x10004000,  // adr x0, #0x800
        0xd518c000,  // msr vbar_el1, x0
        0xd2a80134,  // movz x20, #0x4009, lsl #16: the data
        0xd51000d4,  // msr dbgwvr0_el1, x20
        0xd283fee1,  // movz x1, #0x1ff7: E, PAC EL0+EL1, LSC stores, BAS all 8 bytes
        0xd51000e1,  // msr dbgwcr0_el1, x1
        0xd2940002,  // movz x2, #0xa000: MDSCR_EL1.MDE | KDE
        0xd5100242,  // msr mdscr_el1, x2
        0xd5033fdf,  // isb
        0xd50348ff,  // msr daifclr, #8
        0xf9400283,  // ldr x3, [x20]        (0x28): a load: LSC watches stores only
        0xd2800aa4,  // movz x4, #0x55
        0xf9000684,  // str x4, [x20, #8]    (0x30): the next doubleword, not watched
        0xb9000684,  // str w4, [x20, #4]    (0x34): watched bytes 4..7
        0xd2800100,  // movz x0, #0x8
        0xf2b08000,  // movk x0, #0x8400, lsl #16   (PSCI SYSTEM_OFF)
        0xd4000002,  // hvc #0
    };
    const uint32_t handler[] = {  // VBAR + 0x200: synchronous, current EL with SP_EL1
        0xd5385205,  // mrs x5, esr_el1
        0xd5386006,  // mrs x6, far_el1
        0xd5384027,  // mrs x7, elr_el1
        0xf9400288,  // ldr x8, [x20]: the watched word before the store
        0xd5384009,  // mrs x9, spsr_el1
        0xb2770129,  // orr x9, x9, #(1 << 9): return with PSTATE.D set
        0xd5184009,  // msr spsr_el1, x9
        0xd69f03e0,  // eret
    };
    const auto g = arm64test::run_guest(code, handler, precise);
    const auto& r = g.r;
    const uint64_t* entry = &g.entry;
    INFO(r.message);
    CHECK(r.stop == arch::StopKind::SystemOff);
    auto& cpu = g.m->cpu(0);
    CHECK(cpu.reg(UC_ARM64_REG_X5) == syndrome::watchpoint(true, true));
    CHECK(cpu.reg(UC_ARM64_REG_X5) == 0xD600'0062u);
    CHECK(cpu.reg(UC_ARM64_REG_X6) == 0x4009'0004u);
    CHECK(cpu.reg(UC_ARM64_REG_X7) == *entry + 0x34);
    CHECK(cpu.reg(UC_ARM64_REG_X8) == 0);  // not performed before the exception
    CHECK(*g.m->memory().read32(0x4009'0004) == 0x55);  // performed after the return
    CHECK(*g.m->memory().read64(0x4009'0008) == 0x55);
    CHECK(cpu.sync_exceptions_taken() == 1);
  }
}

TEST_CASE("arm64: ST1 of two Q registers whose second register's bytes are watched takes the Watchpoint exception (FAR = the first watched byte); LD1 and an STP Q beside them do not") {
  for (bool precise : {false, true}) {
    INFO("precise mode: " << precise);
    const uint32_t code[] = {
        0x10004000,  //  0 adr x0, #0x800
        0xd518c000,  //  1 msr vbar_el1, x0
        0xD2A00600,  //  2 movz x0, #0x30, lsl #16: CPACR_EL1.FPEN = 0b11
        0xD5181040,  //  3 msr cpacr_el1, x0
        0xd5033fdf,  //  4 isb
        0xd2a80134,  //  5 movz x20, #0x4009, lsl #16: the data
        0x91006295,  //  6 add x21, x20, #0x18: the watched doubleword (v1's upper half)
        0xD51000D5,  //  7 msr dbgwvr0_el1, x21
        0xd283fee1,  //  8 movz x1, #0x1ff7: E, PAC EL0+EL1, LSC stores, BAS all 8 bytes
        0xd51000e1,  //  9 msr dbgwcr0_el1, x1
        0xd2940002,  // 10 movz x2, #0xa000: MDSCR_EL1.MDE | KDE
        0xd5100242,  // 11 msr mdscr_el1, x2
        0xd5033fdf,  // 12 isb
        0xd50348ff,  // 13 msr daifclr, #8
        0x4C40A280,  // 14 ld1 {v0.16b, v1.16b}, [x20]: a load (LSC: stores only)
        0x4F00E620,  // 15 movi v0.16b, #0x11
        0x4F01E441,  // 16 movi v1.16b, #0x22
        0xAD010680,  // 17 stp q0, q1, [x20, #32]: bytes 32..63, not watched
        0x4C00A280,  // 18 st1 {v0.16b, v1.16b}, [x20]: bytes 0..31, 24..31 watched
        0xd2800100,  // 19 movz x0, #0x8
        0xf2b08000,  // 20 movk x0, #0x8400, lsl #16 (PSCI SYSTEM_OFF)
        0xd4000002,  // 21 hvc #0
    };
    const uint32_t handler[] = {
        0xd5385205,  // mrs x5, esr_el1
        0xd5386006,  // mrs x6, far_el1
        0xd5384027,  // mrs x7, elr_el1
        0xF9400E88,  // ldr x8, [x20, #0x18]: the watched bytes before the store
        0xd5384009,  // mrs x9, spsr_el1
        0xb2770129,  // orr x9, x9, #(1 << 9): return with PSTATE.D set
        0xd5184009,  // msr spsr_el1, x9
        0xd69f03e0,  // eret
    };
    const auto g = arm64test::run_guest(code, handler, precise);
    INFO(g.r.message);
    REQUIRE(g.r.stop == arch::StopKind::SystemOff);
    auto& cpu = g.m->cpu(0);
    CHECK(cpu.sync_exceptions_taken() == 1);
    CHECK(cpu.reg(UC_ARM64_REG_X5) == syndrome::watchpoint(true, true));  // EC 0x35, WnR
    CHECK(cpu.reg(UC_ARM64_REG_X6) == 0x4009'0018u);
    CHECK(cpu.reg(UC_ARM64_REG_X7) == g.entry + 18 * 4);
    CHECK(cpu.reg(UC_ARM64_REG_X8) == 0);  // not performed before the exception
    CHECK(*g.m->memory().read64(0x4009'0000) == 0x1111'1111'1111'1111u);  // performed after the return
    CHECK(*g.m->memory().read64(0x4009'0018) == 0x2222'2222'2222'2222u);
    CHECK(*g.m->memory().read64(0x4009'0038) == 0x2222'2222'2222'2222u);  // the STP
  }
}
