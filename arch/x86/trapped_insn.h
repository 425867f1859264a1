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
// Unicorn does not raise, so it is reported as `lock`.
// A VEX prefix before the same opcode bytes is no such instruction; vex_prefix.h
// recognises it (#UD) before these are looked for.
#include <cstdint>
#include <span>

#include "arch/x86/insn_prefixes.h"

namespace irqremap::x86 {

enum class TrappedOp : uint8_t { None, Rdmsr, Wrmsr, Rdtsc, Rdtscp };

struct TrappedInsn {
  TrappedOp op = TrappedOp::None;
  bool lock = false;  // a LOCK (F0) prefix: #UD
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

// `bytes` is the whole instruction, as long as Unicorn says it is (at most 15 bytes).
constexpr TrappedInsn classify_trapped(std::span<const uint8_t> bytes) {
  TrappedInsn t;
  const size_t i = opcode_start(bytes);
  const std::span<const uint8_t> op = bytes.subspan(i);
  if (op.size() >= 2 && op[0] == 0x0F) t.op = after_0f(op.subspan(1));
  for (size_t k = 0; k < i && t.op != TrappedOp::None; ++k) t.lock |= bytes[k] == 0xF0;
  return t;
}

}  // namespace irqremap::x86
