#pragma once
// The instructions the x86 vCPU performs itself instead of letting Unicorn 2.0.1 execute
// them, recognised from their bytes in the code hook (Unicorn has no RDMSR, WRMSR, RDTSC
// or RDTSCP instruction hook):
//  - RDMSR (0F 32) / WRMSR (0F 30): the local APIC's MSRs and IA32_TSC, which Unicorn
//    reads as 0 and writes nowhere;
//  - RDTSC (0F 31) / RDTSCP (0F 01 F9): Unicorn answers both from the host's TSC, so two
//    runs of one program would read different values (time_stamp_counter.h);
//  - SYSCALL (0F 05): Unicorn's only calls its hooks and goes on (x86_vcpu.h).
// Legacy prefixes and REX do not change these instructions (SDM vol. 2, each one's
// "Opcode" table lists no prefixed form) and Unicorn executes them prefixed too, so they
// are skipped; a LOCK prefix makes each of them #UD (its "Exceptions" section), which
// Unicorn does not raise, so it is reported as `lock`.
// A VEX prefix before the same opcode bytes is no such instruction; vex_prefix.h
// recognises it (#UD) before these are looked for.
#include <cstdint>
#include <optional>
#include <span>

#include "arch/x86/insn_prefixes.h"

namespace irqremap::x86 {

enum class TrappedOp : uint8_t { None, Rdmsr, Wrmsr, Rdtsc, Rdtscp, Syscall };

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
    case TrappedOp::Syscall: return "SYSCALL";
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
      case 0x05: return TrappedOp::Syscall;  // Unicorn 2.0.1's only calls hooks (x86_vcpu.h)
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

// The instructions the vCPU checks before Unicorn runs them (Unicorn 2.0.1 makes neither
// check): SGDT, SIDT, SLDT, STR and SMSW, which CR4.UMIP forbids above CPL 0 (SDM vol. 3A
// §2.5, each instruction's "Protected Mode Exceptions": #GP(0) if CR4.UMIP = 1 and CPL > 0),
// and MOV to CR4, whose reserved bits are #GP(0) (MOV—Move to/from Control Registers).
//  - 0F 00 /0 SLDT, /1 STR (register or memory operand);
//  - 0F 01 /0 SGDT, /1 SIDT (memory operand only: with mod = 11 these encodings are other
//    instructions), /4 SMSW (either; with a register operand of 32 bits outside 64-bit
//    code the vCPU performs it: Unicorn 2.0.1's translator, from QEMU 5.0, stores only
//    CR0[15:0] there, where processors (and QEMU 7.2, whose comment says so) store
//    CR0[31:0], the SDM calling the high half undefined — kvm-unit-tests' realmode checks
//    the whole of it);
//  - 0F 22 /r with ModRM.reg = 4 and no REX.R: MOV CR4, r64 (r32 outside 64-bit code).
//  - 0F 23 /r and 0F 21 /r with ModRM.reg = 7 or 5 (DR5 is DR7 while CR4.DE = 0): MOV to
//    and from DR7. Unicorn 2.0.1 arms QEMU's breakpoints for DR7's enable bits and then
//    crashes the host process in its translator (a segmentation fault in
//    translator_loop, found with kvm-unit-tests' debug.flat and reproduced on a bare
//    engine: DR0 = an address, DR7 = 0x402, any further code), so the vCPU keeps DR7
//    itself and hands Unicorn DR7 without enable bits; the vCPU raises instruction
//    breakpoints itself (x86_vcpu.h).
//  - 0F 23 /r with ModRM.reg = 0..3: MOV to DR0-DR3, performed by the vCPU so that it sees
//    a breakpoint address change.
//  - 0F 22 /r and 0F 20 /r with ModRM.reg = 0 and REX.R (64-bit mode only): MOV to and from
//    CR8, which is the local APIC's TPR[7:4] (SDM vol. 3A §11.8.6.1). Unicorn 2.0.1 has no
//    APIC behind CR8 (its reads return 0), so the vCPU performs both on its LocalApic.
//  - every other MOV to or from DR0-DR6 (0F 21 /r, 0F 23 /r with ModRM.reg = 4 or 6, 0F 21
//    with 0..3): Unicorn performs them, but DR7.GD (SDM vol. 3A §18.2.4) makes each a #DB
//    fault first, which only the vCPU raises.
enum class CheckedOp : uint8_t {
  None, Sgdt, Sidt, Sldt, Str, Smsw, MovToCr4, MovToCr8, MovFromCr8, MovToDr7, MovFromDr7, MovToDrAddr, MovDrOther
};
struct CheckedInsn {
  CheckedOp op = CheckedOp::None;
  uint8_t gpr = 0;  // MOV to/from CR4/CR8/DR7: the general register (ModRM.rm + 8 * REX.B)
  uint8_t dr = 0;   // MOV to/from DRn: the debug register named (7 or 5 for DR7)
  bool reg_operand = false;    // SMSW: ModRM.mod = 11, the register in `gpr`
  bool opsize_prefix = false;  // an operand-size prefix (66h) precedes the opcode
};
constexpr CheckedInsn classify_checked(std::span<const uint8_t> bytes) {
  const size_t i = opcode_start(bytes);
  if (i + 2 >= bytes.size() || bytes[i] != 0x0F) return {};
  const uint8_t rex = i > 0 && (bytes[i - 1] & 0xF0) == 0x40 ? bytes[i - 1] : 0;
  const uint8_t modrm = bytes[i + 2], mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;
  switch (bytes[i + 1]) {
    case 0x00:
      if (reg == 0) return {CheckedOp::Sldt};
      if (reg == 1) return {CheckedOp::Str};
      return {};
    case 0x01:
      if (reg == 0 && mod != 3) return {CheckedOp::Sgdt};
      if (reg == 1 && mod != 3) return {CheckedOp::Sidt};
      if (reg == 4) {
        bool opsize = false;
        for (size_t k = 0; k < i; ++k) opsize |= bytes[k] == 0x66;
        return {CheckedOp::Smsw, uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0)), 0, mod == 3, opsize};
      }
      return {};
    case 0x22:
      if (reg == 4 && (rex & 0x4) == 0) return {CheckedOp::MovToCr4, uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0))};
      if (reg == 0 && (rex & 0x4) != 0) return {CheckedOp::MovToCr8, uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0))};
      return {};
    case 0x20:
      if (reg == 0 && (rex & 0x4) != 0) return {CheckedOp::MovFromCr8, uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0))};
      return {};
    case 0x21:
    case 0x23:
      if ((rex & 0x4) != 0) return {};  // DR8-DR15: #UD, Unicorn's
      if (reg == 7 || reg == 5)
        return {bytes[i + 1] == 0x23 ? CheckedOp::MovToDr7 : CheckedOp::MovFromDr7,
                uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0)), reg};
      if (reg <= 3 && bytes[i + 1] == 0x23) return {CheckedOp::MovToDrAddr, uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0)), reg};
      return {CheckedOp::MovDrOther, uint8_t(rm + ((rex & 0x1) != 0 ? 8 : 0)), reg};
    default:
      return {};
  }
}

constexpr const char* mnemonic(CheckedOp op) {
  switch (op) {
    case CheckedOp::Sgdt: return "SGDT";
    case CheckedOp::Sidt: return "SIDT";
    case CheckedOp::Sldt: return "SLDT";
    case CheckedOp::Str: return "STR";
    case CheckedOp::Smsw: return "SMSW";
    case CheckedOp::MovToCr4: return "MOV to CR4";
    case CheckedOp::MovToCr8: return "MOV to CR8";
    case CheckedOp::MovFromCr8: return "MOV from CR8";
    case CheckedOp::MovToDr7: return "MOV to DR7";
    case CheckedOp::MovFromDr7: return "MOV from DR7";
    case CheckedOp::MovToDrAddr: return "MOV to DR0-DR3";
    case CheckedOp::MovDrOther: return "MOV to/from DR0-DR6";
    case CheckedOp::None: break;
  }
  return "(none)";
}

// The software interrupts (INT n "CD ib", INT3 "CC", INTO "CE"; SDM vol. 2A INT n/INTO/INT3/
// INT1): the vCPU delivers them itself, because a gate's DPL is checked only for them
// (interrupt_entry.h) and Unicorn reports them to UC_HOOK_INTR like any exception. INT1
// (F1) is no software interrupt in this sense (no DPL check) and is left to Unicorn.
struct SoftwareInterrupt {
  uint8_t vector = 0;
  bool into = false;  // INTO: only with RFLAGS.OF set, and #UD in 64-bit mode
};
constexpr std::optional<SoftwareInterrupt> classify_software_interrupt(std::span<const uint8_t> bytes) {
  const size_t i = opcode_start(bytes);
  if (i >= bytes.size()) return std::nullopt;
  const uint8_t op = bytes[i];
  if (op == 0xCC && i + 1 == bytes.size()) return SoftwareInterrupt{3, false};
  if (op == 0xCE && i + 1 == bytes.size()) return SoftwareInterrupt{4, true};
  if (op == 0xCD && i + 2 == bytes.size()) return SoftwareInterrupt{bytes[i + 1], false};
  return std::nullopt;
}

}  // namespace irqremap::x86
