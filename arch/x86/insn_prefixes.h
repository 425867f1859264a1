#pragma once
// The prefixes before an x86 opcode, as the vCPU's code hook skips them to recognise the
// instructions it checks or performs itself (trapped_insn.h, vex_prefix.h).
#include <cstddef>
#include <cstdint>
#include <span>

namespace irqremap::x86 {

// A legacy prefix (the four groups of SDM vol. 2A §2.1.1) or REX (40-4F, §2.2.1; in 64-bit
// mode: elsewhere these bytes are INC/DEC, one-byte instructions of their own, which
// Unicorn never reports as part of the next instruction).
constexpr bool is_prefix(uint8_t b) {
  return b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65 || b == 0x66 ||
         b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3 || (b & 0xF0) == 0x40;
}

// Where the opcode (or a VEX prefix) starts: after every prefix.
constexpr size_t opcode_start(std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size() && is_prefix(bytes[i])) ++i;
  return i;
}

}  // namespace irqremap::x86
