// The instructions after which the vCPU drops its alias runs (arch/x86/tlb_invalidation.h):
// those SDM vol. 3A §4.10.4.1 lists as invalidating cached translations.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "arch/x86/tlb_invalidation.h"

using namespace irqremap::x86;

namespace {
bool inv(std::vector<uint8_t> b) { return invalidates_tlb(b); }
}  // namespace

TEST_CASE("tlb invalidation: MOV to CR0, CR3 and CR4 (any GPR, REX.B) invalidate; MOV to CR2 or CR8 and MOV from CR3 do not (SDM vol. 3A §4.10.4.1)") {
  CHECK(inv({0x0F, 0x22, 0xD8}));        // mov cr3, rax
  CHECK(inv({0x41, 0x0F, 0x22, 0xD8}));  // mov cr3, r8
  CHECK(inv({0x0F, 0x22, 0xC0}));        // mov cr0, rax
  CHECK(inv({0x0F, 0x22, 0xE1}));        // mov cr4, rcx
  CHECK_FALSE(inv({0x0F, 0x22, 0xD0}));        // mov cr2, rax
  CHECK_FALSE(inv({0x44, 0x0F, 0x22, 0xC0}));  // mov cr8, rax (REX.R)
  CHECK_FALSE(inv({0x0F, 0x20, 0xD8}));        // mov rax, cr3
}

TEST_CASE("tlb invalidation: INVLPG m (0F 01 /7, memory operand) and INVPCID (66 0F 38 82) invalidate; SWAPGS and RDTSCP (0F 01 /7 with mod 11b) do not") {
  CHECK(inv({0x0F, 0x01, 0x38}));                    // invlpg [rax]
  CHECK(inv({0x0F, 0x01, 0x7D, 0x08}));              // invlpg [rbp+8]
  CHECK(inv({0x66, 0x0F, 0x38, 0x82, 0x00}));        // invpcid rax, [rax]
  CHECK_FALSE(inv({0x0F, 0x01, 0xF8}));              // swapgs
  CHECK_FALSE(inv({0x0F, 0x01, 0xF9}));              // rdtscp
  CHECK_FALSE(inv({0x0F, 0x01, 0x10}));              // lgdt [rax]
  CHECK_FALSE(inv({0x90}));
}
