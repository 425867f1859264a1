#pragma once
// Which A64 maintenance instructions (SYS, op0 = 1) another PE must see.
//
// Each CPU of the AArch64 machine is its own Unicorn engine with its own TLB and its own
// cache of translated code, while on hardware (and on QEMU, one engine for all CPUs) one
// PE's broadcast maintenance acts on every PE of the shareability domain:
//  - TLB maintenance "IS" forms (Arm ARM D5.10.2 "TLB maintenance requirements and the TLB
//    maintenance instructions"; the encodings in C5.5): an Inner Shareable TLBI affects
//    all PEs in the Inner Shareable domain. Linux's flush_tlb_* use them after changing a
//    live mapping; a PE that kept the old entry would read and write the old page.
//  - Instruction cache invalidation (Arm ARM D4.4.7 / C5.3): IC IALLUIS invalidates every
//    PE's instruction caches in the Inner Shareable domain; IC IVAU by VA to the Point of
//    Unification is broadcast the same way. Software that writes code (a module loader, a
//    page of a new executable) ends with them before another PE may run it. The engine
//    that wrote the code already forgets what it translated from it (QEMU's own
//    self-modifying-code detection); the other engines must be told.
// Local forms (TLBI without IS, IC IALLU) affect only the PE that executes them, which
// Unicorn does itself.
#include <cstdint>

namespace irqremap::arm64 {

enum class Broadcast : uint8_t {
  None,         // not broadcast, or not maintenance another PE must see
  Tlbi,         // replay the same TLBI (same register value) on every other PE
  CodeLine,     // IC IVAU, Xt: every other PE forgets code translated from that line
  CodeAll,      // IC IALLUIS: every other PE forgets all its translated code
};

// SYS #op1, Cn, Cm, #op2 (op0 = 1).
constexpr Broadcast broadcast_of(uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) {
  if (crn == 8) {
    // CRm = 3: the Inner Shareable forms of every EL (op1 0: EL1, 4: EL2/EL1 from EL2,
    // 6: EL3); CRm = 1 and 2 hold the Outer Shareable and range forms of later
    // architecture versions, broadcast as well. CRm = 0 at op1 = 4 is IPAS2E1IS /
    // IPAS2LE1IS (op2 1, 5). The rest (CRm 4..7) are the local forms.
    if (crm == 1 || crm == 2 || crm == 3) return Broadcast::Tlbi;
    if (crm == 0 && op1 == 4 && (op2 == 1 || op2 == 5)) return Broadcast::Tlbi;
    return Broadcast::None;
  }
  if (crn == 7) {
    if (op1 == 0 && crm == 1 && op2 == 0) return Broadcast::CodeAll;   // IC IALLUIS
    if (op1 == 3 && crm == 5 && op2 == 1) return Broadcast::CodeLine;  // IC IVAU, Xt
  }
  return Broadcast::None;
}

}  // namespace irqremap::arm64
