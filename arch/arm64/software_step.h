#pragma once
// The software step state machine of self-hosted debug (Arm ARM D2.12 "Software Step
// exceptions"), as values: the vCPU keeps the guest's MDSCR_EL1.SS and PSTATE.SS and asks
// these functions what the PE must do before its next instruction.
//
// Software step is *active* when MDSCR_EL1.SS = 1 and debug exceptions are enabled from
// the current EL (D2.1 "Enabling debug exceptions"): always from EL0 (the debug target
// is EL1; the OS Lock is never set here), from EL1 only with MDSCR_EL1.KDE = 1 and
// PSTATE.D = 0. Then PSTATE.SS tells the two active states apart (D2.12.2, Table D2-x):
//  - active-not-pending (PSTATE.SS = 1): the PE executes one instruction, after which
//    PSTATE.SS is 0;
//  - active-pending (PSTATE.SS = 0): a Software Step exception is taken before the next
//    instruction. ESR.ISV is 1 only when it follows a stepped instruction (EX then says
//    whether that was a load-exclusive), 0 when the state was entered otherwise (debug
//    exceptions unmasked by MSR DAIFClr, an exception return with SPSR.SS = 0).
// An exception return sets PSTATE.SS from SPSR_EL1.SS when software step is active at
// the EL returned to, and clears it otherwise (D2.12.3); exception entry clears it, and
// SPSR.SS records it (1 only for an asynchronous exception taken before the stepped
// instruction ran).
#include <cstdint>

namespace irqremap::arm64::software_step {

inline constexpr uint64_t kMdscrSs = 1;                 // MDSCR_EL1.SS
inline constexpr uint64_t kMdscrKde = uint64_t{1} << 13;  // MDSCR_EL1.KDE
inline constexpr uint64_t kSpsrSs = uint64_t{1} << 21;    // PSTATE.SS in SPSR_EL1
inline constexpr uint64_t kSpsrD = uint64_t{1} << 9;      // PSTATE.D in SPSR_EL1

enum class State : uint8_t { Inactive, ActiveNotPending, ActivePending };

// Whether software step is active at `el` with PSTATE.D = d.
constexpr bool active(uint64_t mdscr, unsigned el, bool d) {
  if ((mdscr & kMdscrSs) == 0) return false;
  if (el == 0) return true;
  return el == 1 && (mdscr & kMdscrKde) != 0 && !d;
}

constexpr State state(uint64_t mdscr, unsigned el, bool d, bool pstate_ss) {
  if (!active(mdscr, el, d)) return State::Inactive;
  return pstate_ss ? State::ActiveNotPending : State::ActivePending;
}

// PSTATE.SS after an exception return (ERET) with SPSR_EL1 = spsr.
constexpr bool ss_after_eret(uint64_t mdscr, uint64_t spsr) {
  const unsigned el = unsigned((spsr >> 2) & 3);
  return (spsr & kSpsrSs) != 0 && active(mdscr, el, (spsr & kSpsrD) != 0);
}

// Whether instruction word `w` is a load-exclusive (LDXR, LDAXR, LDXP, LDAXP; Arm ARM
// C4.1.x "Load/store exclusive": bits 29:24 = 0b001000, o2 (bit 23) = 0, L (bit 22) = 1),
// for ESR.EX.
constexpr bool is_load_exclusive(uint32_t w) {
  return ((w >> 24) & 0x3F) == 0x08 && ((w >> 23) & 1) == 0 && ((w >> 22) & 1) == 1;
}

}  // namespace irqremap::arm64::software_step
