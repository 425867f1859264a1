#pragma once
// The Performance Monitors Extension of one PE, PMUv3 as QEMU 7.2's cortex-a57 has it
// (Arm ARM D11 "The Performance Monitors Extension"; registers in D13.4 "Performance
// Monitors registers"; QEMU target/arm/helper.c for what QEMU implements). Plain C++: the
// vCPU's MRS/MSR hook calls read()/write() with the register's encoding and the PE's
// retired-instruction count, as it does for the generic timer; Unicorn's own PMU (whose
// cycle counter runs on the host clock) is never reached.
//
// Model:
//  - PMCR_EL0 reads IMP 0x41 ('A'), IDCODE 0x01, N = 6 event counters (QEMU's cortex-a57
//    reset value 0x41013000); E, D, X, DP, LC are writable, P and C are write-only
//    actions (reset the event counters / the cycle counter), LP is RES0 (FEAT_PMUv3p5 is
//    not implemented: ID_AA64DFR0_EL1.PMUVer = 1, id_registers.h).
//  - Counting is deterministic: the counters advance with the PE's retired instructions,
//    never with the host clock. CPU_CYCLES (0x11) and the cycle counter count one cycle
//    per instruction retired (CPI 1; PMCR_EL0.D divides by 64), INST_RETIRED (0x08) one
//    per instruction, SW_INCR (0x00) one per PMSWINC_EL0 write of its bit. These are the
//    events QEMU 7.2 implements (INST_RETIRED only with -icount, its precise count: the
//    machine always has one), so PMCEID0_EL0 = bits 0, 8 and 17 and PMCEID1_EL0 = 0; a
//    counter given any other event (MEM_ACCESS 0x13 included) does not count, as on QEMU.
//  - The PE's count arrives lazily: sync(now, el) folds in the instructions retired since
//    the last sync, all at the EL of the last sync. The vCPU syncs at every PMU register
//    access, at every exception entry and ERET (the only ways the EL changes) and at every
//    quantum boundary, so no instruction pays for counting.
//  - Filtering (PMEVTYPER<n>_EL0 / PMCCFILTR_EL0): P (bit 31) excludes EL1 and U (bit 30)
//    EL0, with NSK/NSU as QEMU evaluates them in Non-secure state without EL3 (EL1 counts
//    when P == NSK, EL0 when U == NSU).
//  - Event counters are 32 bits and overflow from 0xFFFFFFFF to 0; the cycle counter is 64
//    bits and overflows at bit 63 with PMCR_EL0.LC = 1, at bit 31 with LC = 0 (D11.5
//    "Counter overflow"). An overflow sets its PMOVSSET_EL0 bit. The overflow interrupt
//    (PPI 23, level-sensitive, the virt device tree's "arm,armv8-pmuv3" node) is asserted
//    while PMCR_EL0.E = 1 and some counter has both its PMINTENSET_EL1 and PMOVSSET_EL0
//    bits set (QEMU's condition).
//  - Counters and event types past N read as zero and ignore writes (QEMU's choice: the
//    architecture makes direct accesses UNDEFINED and PMSELR_EL0 accesses UNPREDICTABLE).
//  - EL0 access is controlled by PMUSERENR_EL0.{EN,SW,CR,ER} (D13.4, PMUSERENR_EL0); a
//    disallowed access is trapped to EL1 (EC 0x18, check()). PMINTEN*_EL1 and writes of
//    PMUSERENR_EL0 are UNDEFINED at EL0. PMMIR_EL1 (FEAT_PMUv3p4) and the rest of the PMU
//    encoding space are UNDEFINED.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "arch/arm64/sysreg.h"
#include "remap/fields.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

namespace pmu {
using fields::Access;
using fields::Field;
inline constexpr uint32_t PMCR_EL0 = sysreg(3, 3, 9, 12, 0);
inline constexpr uint32_t PMCNTENSET_EL0 = sysreg(3, 3, 9, 12, 1);
inline constexpr uint32_t PMCNTENCLR_EL0 = sysreg(3, 3, 9, 12, 2);
inline constexpr uint32_t PMOVSCLR_EL0 = sysreg(3, 3, 9, 12, 3);
inline constexpr uint32_t PMSWINC_EL0 = sysreg(3, 3, 9, 12, 4);
inline constexpr uint32_t PMSELR_EL0 = sysreg(3, 3, 9, 12, 5);
inline constexpr uint32_t PMCEID0_EL0 = sysreg(3, 3, 9, 12, 6);
inline constexpr uint32_t PMCEID1_EL0 = sysreg(3, 3, 9, 12, 7);
inline constexpr uint32_t PMCCNTR_EL0 = sysreg(3, 3, 9, 13, 0);
inline constexpr uint32_t PMXEVTYPER_EL0 = sysreg(3, 3, 9, 13, 1);
inline constexpr uint32_t PMXEVCNTR_EL0 = sysreg(3, 3, 9, 13, 2);
inline constexpr uint32_t PMUSERENR_EL0 = sysreg(3, 3, 9, 14, 0);
inline constexpr uint32_t PMOVSSET_EL0 = sysreg(3, 3, 9, 14, 3);
inline constexpr uint32_t PMINTENSET_EL1 = sysreg(3, 0, 9, 14, 1);
inline constexpr uint32_t PMINTENCLR_EL1 = sysreg(3, 0, 9, 14, 2);
inline constexpr uint32_t PMCCFILTR_EL0 = sysreg(3, 3, 14, 15, 7);
// PMEVCNTR<n>_EL0: op1 3, CRn 14, CRm 0b10:n[4:3], op2 n[2:0]; PMEVTYPER<n>_EL0: CRm 0b11:n[4:3].
constexpr uint32_t pmevcntr(unsigned n) { return sysreg(3, 3, 14, 8 + (n >> 3), n & 7); }
constexpr uint32_t pmevtyper(unsigned n) { return sysreg(3, 3, 14, 12 + (n >> 3), n & 7); }

inline constexpr unsigned kCounters = 6;     // PMCR_EL0.N of QEMU's cortex-a57
inline constexpr unsigned kCycleIndex = 31;  // the cycle counter's bit in PMCNTEN/PMINTEN/PMOVS
inline constexpr uint32_t kPpi = 23;         // INTID of the overflow interrupt (virt: PPI 7)
inline constexpr uint64_t kCounterMask = (uint64_t{1} << kCycleIndex) | ((uint64_t{1} << kCounters) - 1);

// Common events this PMU counts (Arm ARM D11.11 "Common event numbers").
inline constexpr uint32_t kSwIncr = 0x00, kInstRetired = 0x08, kCpuCycles = 0x11;
inline constexpr uint64_t kPmceid0 = (uint64_t{1} << kSwIncr) | (uint64_t{1} << kInstRetired) | (uint64_t{1} << kCpuCycles);

// PMCR_EL0 (Arm ARM D13.4, PMCR_EL0), with QEMU's cortex-a57 read-only values.
inline constexpr Field PMCR_E{"E", 0, 0, Access::RW, "Enable: all counters enabled by PMCNTENSET_EL0 count"};
inline constexpr Field PMCR_P{"P", 1, 1, Access::WO, "Event counter reset (write 1)"};
inline constexpr Field PMCR_C{"C", 2, 2, Access::WO, "Cycle counter reset (write 1)"};
inline constexpr Field PMCR_D{"D", 3, 3, Access::RW, "Clock divider: the cycle counter counts every 64th cycle"};
inline constexpr Field PMCR_X{"X", 4, 4, Access::RW, "Export of events (no export bus here)"};
inline constexpr Field PMCR_DP{"DP", 5, 5, Access::RW, "Cycle counter disabled where event counting is prohibited"};
inline constexpr Field PMCR_LC{"LC", 6, 6, Access::RW, "Long cycle counter: overflow at bit 63, not bit 31"};
inline constexpr Field PMCR_N{"N", 15, 11, Access::RO, "Number of event counters (6)"};
inline constexpr Field PMCR_IDCODE{"IDCODE", 23, 16, Access::RO, "Identification code (0x01)"};
inline constexpr Field PMCR_IMP{"IMP", 31, 24, Access::RO, "Implementer code (0x41, Arm)"};
inline constexpr Field kPmcrFields[] = {
    PMCR_E, PMCR_P, PMCR_C, PMCR_D, PMCR_X, PMCR_DP, PMCR_LC,
    {"LP", 7, 7, Access::Rsvd, "RES0 without FEAT_PMUv3p5"},
    {"Rsvd", 10, 8, Access::Rsvd, "RES0"},
    PMCR_N, PMCR_IDCODE, PMCR_IMP,
    {"Rsvd", 63, 32, Access::Rsvd, "RES0"},
};
static_assert(fields::well_formed(kPmcrFields, 64, true));
inline constexpr uint64_t kPmcrReadOnly = 0x4101'3000;  // IMP, IDCODE, N
inline constexpr uint64_t kPmcrWritable = 0x79;         // E, D, X, DP, LC

// PMEVTYPER<n>_EL0 / PMCCFILTR_EL0 filter bits and the writable masks QEMU keeps.
inline constexpr uint64_t kFilterP = uint64_t{1} << 31, kFilterU = uint64_t{1} << 30;
inline constexpr uint64_t kFilterNsk = uint64_t{1} << 29, kFilterNsu = uint64_t{1} << 28;
inline constexpr uint64_t kEvtyperMask = 0xFE00'FFFF;  // P U NSK NSU NSH M MT, evtCount
inline constexpr uint64_t kCcfiltrMask = 0xFC00'0000;  // P U NSK NSU NSH M
// PMUSERENR_EL0 (Arm ARM D13.4): EN, SW (PMSWINC), CR (cycle counter read), ER (event
// counter read, PMSELR).
inline constexpr uint64_t kUserEn = 1, kUserSw = 2, kUserCr = 4, kUserEr = 8;
}  // namespace pmu

class Pmu {
 public:
  // The overflow interrupt's level (PPI 23 of this PE).
  using IrqLine = std::function<void(bool level)>;
  explicit Pmu(IrqLine line) : line_(std::move(line)) {}

  // Whether `enc` (sysreg()) lies in the PMU's encoding space (op1 3 CRn 9 CRm 12-14;
  // op1 0 CRn 9 CRm 14; op1 3 CRn 14 CRm 8-15). Every such access is the PMU's to answer.
  static bool is_pmu_register(uint32_t enc);
  static std::string name(uint32_t enc);

  enum class Check : uint8_t { Ok, Undefined, TrapToEl1 };
  // Whether an MRS (is_read) or MSR of `enc` at `el` is performed (Ok), UNDEFINED, or
  // trapped to EL1 by PMUSERENR_EL0 (EC 0x18).
  Check check(uint32_t enc, bool is_read, unsigned el) const;

  // Accesses that check() allowed. `now` is the PE's retired-instruction count so far,
  // `el` its current EL; both sync first.
  uint64_t read(uint32_t enc, uint64_t now, unsigned el);
  void write(uint32_t enc, uint64_t value, uint64_t now, unsigned el);

  // Folds in the instructions retired since the last sync (counted at the EL of the last
  // sync), then records `el` as the EL from now on. Drives the interrupt line.
  void sync(uint64_t now, unsigned el);
  // Instructions this PE retires, from the last sync at its EL, before a counter whose
  // overflow interrupt is enabled overflows (a quantum ends there).
  std::optional<uint64_t> insns_to_overflow() const;
  // The interrupt output now (PMCR_EL0.E && (PMINTENSET & PMOVSSET) != 0).
  bool irq() const;

  // Its part of a snapshot: every PMU register as written, the counters, the cycle
  // divider's remainder, where counting got to (instructions and EL) and the PPI level.
  void state(snapshot::Io& io);
 private:
  bool counts(unsigned index, unsigned el) const;
  uint64_t filter(unsigned index) const { return index == pmu::kCycleIndex ? ccfiltr_ : evtyper_[index]; }
  // Adds `n` to event counter i (32 bits) or the cycle counter; sets PMOVS on overflow.
  void add_event(unsigned i, uint64_t n);
  void add_cycles(uint64_t n);
  void drive();

  IrqLine line_;
  uint64_t pmcr_ = 0;  // the writable bits
  uint64_t cntens_ = 0, intens_ = 0, ovs_ = 0;
  uint64_t selr_ = 0, userenr_ = 0, ccfiltr_ = 0;
  uint64_t ccnt_ = 0;
  uint64_t ccnt_div_ = 0;  // cycles toward the next count with PMCR_EL0.D = 1
  std::array<uint64_t, pmu::kCounters> evcnt_{}, evtyper_{};
  uint64_t last_now_ = 0;
  unsigned el_ = 1;
  bool level_ = false;
};

}  // namespace irqremap::arm64
