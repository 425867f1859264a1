#pragma once
// The instructions the x86 vCPU performs itself instead of letting Unicorn 2.0.1 execute
// them, recognised from their bytes in the code hook (Unicorn has no RDMSR, WRMSR, RDTSC
// or RDTSCP instruction hook):
//  - RDMSR (0F 32) / WRMSR (0F 30): the local APIC's MSRs and IA32_TSC, which Unicorn
//    reads as 0 and writes nowhere;
//  - RDTSC (0F 31) / RDTSCP (0F 01 F9): Unicorn answers both from the host's TSC, so two
//    runs of one program would read different values (time_stamp_counter.h).
// Legacy prefixes and REX do not change these instructions (SDM vol. 2, each one's
// "Opcode" table lists no prefixed form) and Unicorn executes them prefixed too, so they
// are skipped; a LOCK prefix makes each of them #UD (its "Exceptions" section), which
// Unicorn does not raise, so it is reported as `Undefined::Lock`.
// A VEX prefix (C4/C5) before the same opcode bytes makes an opcode the SDM does not
// define, #UD; Unicorn 2.0.1's decoder (QEMU 5's) keeps the implied 0F map of VEX and
// runs it as the legacy instruction, reading the host's TSC from a VEX "RDTSCP"
// (C5 0F 01 F9, found by fuzzing). It is reported as `Undefined::Vex`. Whether C4/C5 is a
// VEX prefix depends on the mode (SDM vol. 2A §2.3.5 "The VEX Prefix"): always in 64-bit
// mode; elsewhere only when the next byte's bits 7:6 are 11b, else LES/LDS (which need a
// memory operand, so in real mode, where VEX is #UD too, the 11b form is #UD either way).
#include <cstdint>
#include <span>

namespace irqremap::x86 {

enum class TrappedOp : uint8_t { None, Rdmsr, Wrmsr, Rdtsc, Rdtscp };

// Why a trapped opcode is #UD instead of performed.
enum class Undefined : uint8_t { No, Lock, Vex };

struct TrappedInsn {
  TrappedOp op = TrappedOp::None;
  Undefined undefined = Undefined::No;
};

constexpr const char* mnemonic(TrappedOp op) {
  switch (op) {
    case TrappedOp::Rdmsr: return "RDMSR";
    case TrappedOp::Wrmsr: return "WRMSR";
    case TrappedOp::Rdtsc: return "RDTSC";
    case TrappedOp::Rdtscp: return "RDTSCP";
    case TrappedOp::None: break;
  }
  return "(none)";
}

// The opcode after the 0F escape byte: 30/31/32, or 01 F9.
constexpr TrappedOp after_0f(std::span<const uint8_t> op) {
  if (op.size() == 1) {
    switch (op[0]) {
      case 0x32: return TrappedOp::Rdmsr;
      case 0x30: return TrappedOp::Wrmsr;
      case 0x31: return TrappedOp::Rdtsc;
      default: return TrappedOp::None;
    }
  }
  if (op.size() == 2 && op[0] == 0x01 && op[1] == 0xF9) return TrappedOp::Rdtscp;
  return TrappedOp::None;
}

// A legacy prefix (the four groups of SDM vol. 2A §2.1.1) or REX (40-4F, 64-bit mode; a
// DEC/INC elsewhere, which never precedes these opcodes in one instruction).
constexpr bool is_prefix(uint8_t b) {
  return b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65 || b == 0x66 ||
         b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3 || (b & 0xF0) == 0x40;
}

constexpr size_t opcode_start(std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size() && is_prefix(bytes[i])) ++i;
  return i;
}

// Whether the instruction starts (after its prefixes) with a C4/C5 that is a VEX prefix in
// 64-bit mode only (LES/LDS elsewhere): only then does its meaning need the mode, which
// costs the caller register reads.
constexpr bool vex_depends_on_mode(std::span<const uint8_t> bytes) {
  const size_t i = opcode_start(bytes);
  return i + 1 < bytes.size() && (bytes[i] == 0xC4 || bytes[i] == 0xC5) && bytes[i + 1] < 0xC0;
}

// `bytes` is the whole instruction, as long as Unicorn says it is (at most 15 bytes);
// `code64`: the CPU runs 64-bit code (IA-32e mode with CS.L = 1).
constexpr TrappedInsn classify_trapped(std::span<const uint8_t> bytes, bool code64) {
  TrappedInsn t;
  const size_t i = opcode_start(bytes);
  bool lock = false;
  for (size_t k = 0; k < i; ++k) lock |= bytes[k] == 0xF0;
  const std::span<const uint8_t> op = bytes.subspan(i);
  if (op.size() >= 2 && op[0] == 0x0F) {
    t.op = after_0f(op.subspan(1));
  } else if (op.size() >= 3 && (op[0] == 0xC4 || op[0] == 0xC5) && (code64 || op[1] >= 0xC0)) {
    // C5 R.vvvv.L.pp, then the opcode of the implied 0F map; C4 R.X.B.mmmmm W.vvvv.L.pp,
    // the map in mmmmm (1: 0F; 2 and 3 are 0F 38 and 0F 3A, where none of these are).
    if (op[0] == 0xC5) t.op = after_0f(op.subspan(2));
    else if ((op[1] & 0x1F) == 1) t.op = after_0f(op.subspan(3));
    if (t.op != TrappedOp::None) t.undefined = Undefined::Vex;
    return t;
  }
  if (t.op != TrappedOp::None && lock) t.undefined = Undefined::Lock;
  return t;
}

}  // namespace irqremap::x86
