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
#include <cstdint>
#include <span>

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

// `bytes` is the whole instruction, as long as Unicorn says it is (at most 15 bytes).
constexpr TrappedInsn classify_trapped(std::span<const uint8_t> bytes) {
  TrappedInsn t;
  size_t i = 0;
  for (; i < bytes.size(); ++i) {
    const uint8_t b = bytes[i];
    const bool legacy = b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65 ||
                        b == 0x66 || b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3;
    if (!legacy && (b & 0xF0) != 0x40) break;  // neither a legacy prefix nor REX
    if (b == 0xF0) t.lock = true;
  }
  const std::span<const uint8_t> op = bytes.subspan(i);
  if (op.size() == 2 && op[0] == 0x0F) {
    switch (op[1]) {
      case 0x32: t.op = TrappedOp::Rdmsr; break;
      case 0x30: t.op = TrappedOp::Wrmsr; break;
      case 0x31: t.op = TrappedOp::Rdtsc; break;
      default: break;
    }
  } else if (op.size() == 3 && op[0] == 0x0F && op[1] == 0x01 && op[2] == 0xF9) {
    t.op = TrappedOp::Rdtscp;
  }
  if (t.op == TrappedOp::None) t.lock = false;
  return t;
}

}  // namespace irqremap::x86
