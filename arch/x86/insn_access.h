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

}  // namespace irqremap::x86
