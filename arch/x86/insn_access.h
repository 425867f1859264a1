#pragma once
// Whether an x86-64 instruction writes memory, from its encoding (Capstone's operand
// access detail): the W/R bit of a #PF error code (SDM vol. 3A §4.7) that Unicorn 2.0.1
// raises but keeps to itself. An explicit memory destination (MOV [m], ADD [m], STOS,
// MOVS, ...) or an implicit stack store (PUSH, PUSHF, CALL, ENTER) is a write;
// read-modify-write instructions count as writes, as a processor reports a locked or
// read-for-ownership access.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace irqremap::x86 {

// nullopt when the bytes do not decode (or Capstone is missing).
std::optional<bool> instruction_writes_memory(const uint8_t* bytes, size_t n, uint64_t rip);

// An explicit memory operand that references the stack segment (SDM vol. 1 §3.7.5: the
// default segment of a reference based on RSP or RBP, or an SS override), as the address
// it forms: base + index * scale + disp, registers as 0 (RAX) to 15 (R15), -1 for none.
// A non-canonical address there is #SS(0), not #GP(0) (SDM vol. 3A §6.15, Interrupt 12).
struct StackOperand {
  int base = -1, index = -1;
  unsigned scale = 1;
  int64_t disp = 0;
};
// The 64-bit code instruction's operand (nullopt: none, or the bytes do not decode);
// `implicit_stack` is set for PUSH/POP/CALL/RET/ENTER/LEAVE/PUSHF/POPF, whose stack
// access is at RSP.
std::optional<StackOperand> stack_operand(const uint8_t* bytes, size_t n, uint64_t rip, bool& implicit_stack);

// How much a near branch moved RSP when it executed (CALL -8, RET +8 + imm16, JMP, Jcc,
// LOOP and JRCXZ 0): a branch to a non-canonical target is #GP(0) at the branch with
// nothing changed (SDM vol. 2A JMP, CALL, vol. 2B RET "64-Bit Mode Exceptions"), which
// the vCPU undoes by this much. nullopt: not a near branch.
std::optional<int64_t> near_branch_rsp_delta(const uint8_t* bytes, size_t n, uint64_t rip);

}  // namespace irqremap::x86
