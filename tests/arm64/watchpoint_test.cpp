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
