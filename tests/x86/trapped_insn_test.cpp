// The instructions the x86 vCPU performs itself (arch/x86/trapped_insn.h), recognised
// from their bytes with any legacy prefix or REX, and a LOCK prefix reported (#UD).
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "arch/x86/trapped_insn.h"

using namespace irqremap::x86;

namespace {
TrappedInsn of(std::vector<uint8_t> b) { return classify_trapped(b); }
}  // namespace

TEST_CASE("trapped insn: RDMSR 0F 32, WRMSR 0F 30, RDTSC 0F 31, RDTSCP 0F 01 F9 (SDM vol. 2 opcode tables)") {
  static_assert(classify_trapped(std::array<uint8_t, 2>{0x0F, 0x31}).op == TrappedOp::Rdtsc);
  CHECK(of({0x0F, 0x32}).op == TrappedOp::Rdmsr);
  CHECK(of({0x0F, 0x30}).op == TrappedOp::Wrmsr);
  CHECK(of({0x0F, 0x31}).op == TrappedOp::Rdtsc);
  CHECK(of({0x0F, 0x01, 0xF9}).op == TrappedOp::Rdtscp);
  CHECK_FALSE(of({0x0F, 0x31}).lock);
}

TEST_CASE("trapped insn: legacy prefixes and REX are skipped; LOCK is reported for #UD") {
  CHECK(of({0x2E, 0x0F, 0x31}).op == TrappedOp::Rdtsc);
  CHECK(of({0x66, 0xF3, 0x0F, 0x01, 0xF9}).op == TrappedOp::Rdtscp);
  CHECK(of({0x48, 0x0F, 0x32}).op == TrappedOp::Rdmsr);
  CHECK(of({0x65, 0x67, 0x41, 0x0F, 0x30}).op == TrappedOp::Wrmsr);
  const TrappedInsn locked = of({0xF0, 0x0F, 0x31});
  CHECK(locked.op == TrappedOp::Rdtsc);
  CHECK(locked.lock);
  CHECK(of({0x3E, 0xF0, 0x48, 0x0F, 0x01, 0xF9}).lock);
}

TEST_CASE("trapped insn: other instructions that end in the same bytes are not trapped") {
  CHECK(of({0x31, 0xC0}).op == TrappedOp::None);                    // xor eax,eax
  CHECK(of({0x0F, 0x01, 0xF8}).op == TrappedOp::None);              // swapgs
  CHECK(of({0x0F, 0x01, 0xD0}).op == TrappedOp::None);              // xgetbv
  CHECK(of({0xB8, 0x0F, 0x31, 0x00, 0x00}).op == TrappedOp::None);  // mov eax,0x310f
  CHECK(of({0x0F, 0x33}).op == TrappedOp::None);                    // rdpmc: Unicorn's own
  CHECK(of({0xF0, 0x01, 0x30}).op == TrappedOp::None);              // lock add [rax],esi
  CHECK_FALSE(of({0xF0, 0x01, 0x30}).lock);                         // ... is no concern here
  CHECK(of({}).op == TrappedOp::None);
  CHECK(of({0x66, 0x66}).op == TrappedOp::None);
}

TEST_CASE("trapped insn: every MOV to or from DR0-DR7 is checked, so that DR7.GD can fault before it (SDM vol. 3A §18.2.4); DR8+ (REX.R) is not") {
  const std::array<uint8_t, 3> from_dr0{0x0F, 0x21, 0xC1};  // mov rcx, dr0
  const std::array<uint8_t, 3> to_dr6{0x0F, 0x23, 0xF0};    // mov dr6, rax
  const std::array<uint8_t, 3> from_dr4{0x0F, 0x21, 0xE2};  // mov rdx, dr4
  const std::array<uint8_t, 3> to_dr1{0x0F, 0x23, 0xC8};    // mov dr1, rax
  const std::array<uint8_t, 4> dr8{0x44, 0x0F, 0x21, 0xC0}; // mov rax, dr8
  CHECK(classify_checked(from_dr0).op == CheckedOp::MovDrOther);
  CHECK(classify_checked(from_dr0).dr == 0);
  CHECK(classify_checked(from_dr0).gpr == 1);
  CHECK(classify_checked(to_dr6).op == CheckedOp::MovDrOther);
  CHECK(classify_checked(to_dr6).dr == 6);
  CHECK(classify_checked(from_dr4).dr == 4);
  CHECK(classify_checked(to_dr1).op == CheckedOp::MovToDrAddr);
  CHECK(classify_checked(dr8).op == CheckedOp::None);
}

TEST_CASE("SMSW r32 outside 64-bit code is recognised with its register and operand-size prefix (the vCPU stores all of CR0[31:0], as processors do)") {
  // 66 0F 01 E0: smsw eax in 16-bit code (kvm-unit-tests' realmode); 0F 01 E3: smsw bx.
  constexpr uint8_t wide[] = {0x66, 0x0F, 0x01, 0xE0};
  const CheckedInsn a = classify_checked(wide);
  CHECK(a.op == CheckedOp::Smsw);
  CHECK(a.reg_operand);
  CHECK(a.opsize_prefix);
  CHECK(a.gpr == 0);
  constexpr uint8_t narrow[] = {0x0F, 0x01, 0xE3};
  const CheckedInsn b = classify_checked(narrow);
  CHECK(b.reg_operand);
  CHECK_FALSE(b.opsize_prefix);
  CHECK(b.gpr == 3);
  constexpr uint8_t memory[] = {0x0F, 0x01, 0x20};  // smsw [eax]: 16 bits, Unicorn's
  CHECK_FALSE(classify_checked(memory).reg_operand);
}
