#pragma once
// The breakpoint and watchpoint registers of self-hosted debug (Arm ARM D2, "AArch64
// Self-hosted Debug"; D13.3 DBGBCR<n>_EL1, DBGBVR<n>_EL1, DBGWCR<n>_EL1, DBGWVR<n>_EL1),
// kept by the machine rather than by Unicorn.
//
// Why not Unicorn's: Unicorn 2.0.1 keeps QEMU's breakpoint registers, and enabling one
// (an MSR to DBGBCR<n>_EL1 with E=1) inserts a CPU breakpoint, which flushes every
// translated block from inside the MSR's own helper while that block still runs: the host
// then executes freed code and dies (SIGSEGV; kvm-unit-tests' debug.flat `bp` did it). Its
// watchpoint insertion is compiled out altogether (exec.c, `#if 0`). So MRS/MSR of these
// registers never reach Unicorn, and the vCPU raises the exceptions itself.
//
// Implemented: Cortex-A57's six breakpoints and four watchpoints (ID_AA64DFR0_EL1.BRPs =
// 5, WRPs = 3, as Unicorn reports); registers past those are UNDEFINED, as on QEMU.
// Breakpoint exceptions for unlinked address-match breakpoints (BT = 0b0000) whose BAS
// covers the A64 instruction (0b1111), at the ELs PMC selects (0b01 EL1, 0b10 EL0, 0b11
// both), when debug exceptions are enabled: MDSCR_EL1.MDE = 1, and from EL1 also
// MDSCR_EL1.KDE = 1 and PSTATE.D = 0 (D2.1, "Enabling debug exceptions"; the OS Lock is
// never set here). The exception is taken before the instruction, to EL1, EC 0x30/0x31,
// IFSC 0x22, FAR = 0 as QEMU writes it (the architecture leaves FAR UNKNOWN).
// Watchpoint exceptions (EC 0x34/0x35, WnR, FAR = the first watched byte the access
// touches) are raised by the vCPU before the load or store runs: while a watchpoint is
// enabled it decodes each instruction's access (data_access.h) and asks watchpoint_hit().
// Why not Unicorn's memory hooks (read in Unicorn 2.0.1's accel/tcg/cputlb.c):
// UC_HOOK_MEM_READ / WRITE run inside load_helper/store_helper after the TLB entry was
// read and before the access, so the access cannot be refused from there, and the PROT
// hooks run only on that slow path (a TLB miss, or code translated while a MEM_READ /
// WRITE hook existed), so a protected page alone does not see every access.
// Linked breakpoints and watchpoints (D2.9.x "Breakpoint linking", D2.10 for watchpoints):
// a linked address-match breakpoint (BT = 0b0001) or a linked watchpoint (DBGWCR.WT = 1)
// fires only when the breakpoint its LBN names is a context-aware one (the highest
// numbered kContextAware: ID_AA64DFR0_EL1.CTX_CMPs = 1 on Cortex-A57, as Unicorn and QEMU
// report it), enabled, of type linked Context ID match (BT = 0b0011), and its DBGBVR[31:0]
// equals CONTEXTIDR_EL1; that breakpoint's own PMC, HMC and SSC are ignored, the address
// breakpoint's or watchpoint's apply. A link to a breakpoint that is not context-aware, or
// to one of another type, is CONSTRAINED UNPREDICTABLE; here, as on QEMU, it never fires.
// ARMv8.0 without EL2 has no other linked context types (VMID, CONTEXTIDR_EL2 need EL2 or
// FEAT_VHE). Not modelled, as on QEMU: unlinked Context ID breakpoints (BT = 0b0010; they
// read back and never fire). Software step is software_step.h's.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arch/arm64/sysreg.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

class SelfHostedDebug {
 public:
  static constexpr unsigned kBreakpoints = 6, kWatchpoints = 4;  // Cortex-A57
  // Context-aware breakpoints: the highest numbered CTX_CMPs + 1 (4 and 5 here).
  static constexpr unsigned kContextAware = 2;

  // Whether `enc` is one of the implemented DBGB*/DBGW* registers (op0 2, op1 0, CRn 0,
  // CRm = n, op2 4..7).
  static bool handles(uint32_t enc);
  static std::string name(uint32_t enc);
  uint64_t read(uint32_t enc) const;
  // Returns whether the set of breakpoint addresses changed.
  bool write(uint32_t enc, uint64_t value);

  // The addresses of enabled address-match breakpoints (for the vCPU's code hooks).
  std::vector<uint64_t> breakpoint_addresses() const;
  // The breakpoint that fires for an instruction at `va`, executed at `el` (0 or 1) with
  // MDSCR_EL1 = mdscr, PSTATE.D = d and CONTEXTIDR_EL1 = contextidr: its number, or nullopt.
  std::optional<unsigned> breakpoint_hit(uint64_t va, unsigned el, uint64_t mdscr, bool d,
                                         uint32_t contextidr = 0) const;

  // Watchpoints (Arm ARM D2.10): an enabled DBGWCR<n>_EL1 (E = 1, unlinked: WT = 0)
  // watches the bytes its BAS selects in the doubleword at DBGWVR<n>_EL1 (only BAS[3:0],
  // the word at DBGWVR, when DBGWVR[2] is 1), or with MASK = m (3..31) the 2^m bytes of
  // the naturally aligned block containing DBGWVR (BAS then all ones). It fires for a data
  // access of `size` bytes at `va` that touches a watched byte, when LSC matches (0b01
  // loads, 0b10 stores, 0b11 both), PAC names the EL (0b01 EL1, 0b10 EL0, 0b11 both) and
  // debug exceptions are enabled (MDSCR_EL1.MDE = 1; from EL1 also KDE = 1 and PSTATE.D
  // = 0, D2.1).
  struct WatchHit {
    unsigned n;
    uint64_t far;  // FAR_EL1: the lowest byte of the access that is watched
  };
  std::optional<WatchHit> watchpoint_hit(uint64_t va, unsigned size, bool write, unsigned el, uint64_t mdscr,
                                         bool d, uint32_t contextidr = 0) const;
  // Whether some watchpoint is enabled (E = 1): the vCPU then watches data accesses.
  bool any_watchpoint() const;

  // Its part of a snapshot: DBGBVR<n>_EL1, DBGBCR<n>_EL1, DBGWVR<n>_EL1, DBGWCR<n>_EL1.
  void state(snapshot::Io& io);
 private:
  // Whether breakpoint `lbn`, named by a linked breakpoint or watchpoint, matches (above).
  bool linked_context_matches(unsigned lbn, uint32_t contextidr) const;

  std::array<uint64_t, kBreakpoints> bvr_{}, bcr_{};
  std::array<uint64_t, kWatchpoints> wvr_{}, wcr_{};
};

}  // namespace irqremap::arm64
