#pragma once
// AArch64 exception entry to EL1 as a value (Arm ARM D1.10 "Exception entry"): which
// vector, what ESR_EL1 / ELR_EL1 / SPSR_EL1 hold and the PSTATE the handler runs with.
// Plain C++; Arm64Vcpu applies the plan to its Unicorn engine.
#include <cstdint>
#include <expected>
#include <string>

namespace irqremap::arm64 {

// ESR_ELx.EC values this machine raises (Arm ARM D17.2.37, Table D17-4). For the
// abort classes the same-EL class is the lower-EL class + 1.
enum class ExceptionClass : uint8_t {
  Unknown = 0x00,         // undefined instruction, unallocated system register
  Svc64 = 0x15,           // SVC in AArch64 state
  TrappedSysreg = 0x18,   // MSR, MRS or System instruction trapped (PMUSERENR_EL0)
  InsnAbortLower = 0x20,  // instruction abort from a lower EL
  InsnAbortSame = 0x21,   // instruction abort taken without a change of EL
  DataAbortLower = 0x24,
  DataAbortSame = 0x25,
  BreakpointLower = 0x30,  // hardware breakpoint (DBGBCR<n>_EL1) from a lower EL
  BreakpointSame = 0x31,
  SoftwareStepLower = 0x32,  // software step (MDSCR_EL1.SS) from a lower EL
  SoftwareStepSame = 0x33,
  WatchpointLower = 0x34,  // watchpoint (DBGWCR<n>_EL1) from a lower EL
  WatchpointSame = 0x35,
};

// Fault status codes of ISS.IFSC / ISS.DFSC (Arm ARM D17.2.37, ISS encoding for an
// exception from an instruction or data abort).
namespace fsc {
inline constexpr uint32_t kSyncExternal = 0x10;  // synchronous external abort, not on a walk
constexpr uint32_t address_size(unsigned level) { return 0x00 | level; }
constexpr uint32_t translation(unsigned level) { return 0x04 | level; }
constexpr uint32_t access_flag(unsigned level) { return 0x08 | level; }
constexpr uint32_t permission(unsigned level) { return 0x0C | level; }
constexpr uint32_t external_on_walk(unsigned level) { return 0x14 | level; }
}  // namespace fsc

// ESR_EL1 values, one per exception class (IL = 1: every A64 instruction is 32 bits).
namespace syndrome {
inline constexpr uint32_t kIl = 1u << 25;
constexpr uint32_t make(ExceptionClass ec, uint32_t iss) { return (uint32_t(ec) << 26) | kIl | (iss & 0x1FF'FFFF); }
constexpr uint32_t uncategorized() { return make(ExceptionClass::Unknown, 0); }
constexpr uint32_t svc64(uint16_t imm16) { return make(ExceptionClass::Svc64, imm16); }
constexpr uint32_t insn_abort(bool same_el, uint32_t ifsc) {
  return make(same_el ? ExceptionClass::InsnAbortSame : ExceptionClass::InsnAbortLower, ifsc & 0x3F);
}
// WnR (ISS bit 6) says the faulting access was a write.
constexpr uint32_t data_abort(bool same_el, bool write, uint32_t dfsc) {
  return make(same_el ? ExceptionClass::DataAbortSame : ExceptionClass::DataAbortLower,
              (write ? 1u << 6 : 0u) | (dfsc & 0x3F));
}
// A Breakpoint exception: ISS.IFSC = 0b100010, debug exception (Arm ARM D17.2.37, ISS
// encoding for an exception from a Breakpoint or Vector Catch debug exception).
constexpr uint32_t breakpoint(bool same_el) {
  return make(same_el ? ExceptionClass::BreakpointSame : ExceptionClass::BreakpointLower, 0x22);
}
// A trapped MSR/MRS (Arm ARM D17.2.37, ISS encoding for an exception from MSR, MRS, or
// System instruction execution in AArch64 state): Op0 [21:20], Op2 [19:17], Op1 [16:14],
// CRn [13:10], Rt [9:5], CRm [4:1], Direction [0] (1 = MRS). `word` is the instruction.
// A Software Step exception (Arm ARM D17.2.37, ISS encoding for an exception from a
// Software Step exception): ISV (bit 24) says EX is valid, which it is only when an
// instruction was stepped; EX (bit 6) says that instruction was a load-exclusive; IFSC
// 0b100010 (debug exception).
constexpr uint32_t software_step(bool same_el, bool isv, bool ex) {
  return make(same_el ? ExceptionClass::SoftwareStepSame : ExceptionClass::SoftwareStepLower,
              (isv ? 1u << 24 : 0u) | (isv && ex ? 1u << 6 : 0u) | 0x22);
}
// A Watchpoint exception (Arm ARM D17.2.37, ISS encoding for an exception from a
// Watchpoint exception): WnR (bit 6) for a store, DFSC 0b100010 (debug exception).
constexpr uint32_t watchpoint(bool same_el, bool write) {
  return make(same_el ? ExceptionClass::WatchpointSame : ExceptionClass::WatchpointLower, (write ? 1u << 6 : 0u) | 0x22);
}
constexpr uint32_t sysreg_trap(uint32_t word) {
  const uint32_t op0 = 2 + ((word >> 19) & 1), op1 = (word >> 16) & 7, crn = (word >> 12) & 0xF,
                 crm = (word >> 8) & 0xF, op2 = (word >> 5) & 7, rt = word & 0x1F, read = (word >> 21) & 1;
  return make(ExceptionClass::TrappedSysreg,
              (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) | read);
}
constexpr ExceptionClass exception_class(uint32_t esr) { return ExceptionClass(esr >> 26); }
}  // namespace syndrome

// The four kinds of exception, in vector-table order (Arm ARM D1.10.2, Table D1-7).
enum class ExceptionKind : uint8_t { Synchronous = 0, Irq = 1, Fiq = 2, SError = 3 };

// PSTATE as Unicorn's UC_ARM64_REG_PSTATE reads it (SPSR layout, Arm ARM C5.2.18).
namespace pstate {
inline constexpr uint64_t kModeMask = 0x1F;  // M[4] (AArch32) and M[3:0]
inline constexpr uint64_t kEl0t = 0x0, kEl1t = 0x4, kEl1h = 0x5;
inline constexpr uint64_t kDaif = 0x3C0;
inline constexpr uint64_t kNzcv = 0xF000'0000;
constexpr unsigned el(uint64_t ps) { return unsigned((ps >> 2) & 3); }
}  // namespace pstate

// The state an exception is taken from.
struct ExceptionSource {
  uint64_t pstate = 0;          // PSTATE before the exception
  uint64_t return_address = 0;  // the preferred return address (ELR_EL1)
  uint64_t vbar = 0;            // VBAR_EL1
};

// What the exception entry writes.
struct ExceptionEntry {
  uint64_t vector = 0;       // new PC
  uint64_t vector_offset = 0;
  uint64_t elr = 0;
  uint64_t spsr = 0;
  uint64_t pstate = 0;       // EL1h, D A I F set, NZCV kept
  bool from_el0 = false;     // the EL changes (the glue must switch Unicorn's regime)
  bool from_sp_el0 = false;  // SP was SP_EL0 (EL0t or EL1t): the handler switches to SP_EL1
};

// The entry to EL1 for an exception of `kind` taken from `from` (Arm ARM D1.10.1-D1.10.2:
// the vector is VBAR_EL1 + the offset for the source (current EL with SP_EL0 0x000, with
// SP_ELx 0x200, lower EL in AArch64 0x400) + 0x80 * kind). Errors for states this machine
// does not model (AArch32, EL2, EL3).
std::expected<ExceptionEntry, std::string> plan_exception_entry(const ExceptionSource& from, ExceptionKind kind);

// The vector offset from VBAR_EL1 (exposed for tests and trace lines).
std::expected<uint64_t, std::string> vector_offset(uint64_t pstate_before, ExceptionKind kind);

}  // namespace irqremap::arm64
