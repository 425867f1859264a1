#pragma once
// The Arm generic timer of one PE as EL1 software sees it (Arm ARM D11 "The Generic
// Timer in AArch64 state"; registers in D13.8 "Generic Timer registers"). Plain
// C++: the vCPU's MRS/MSR hook calls read()/write() with the register's encoding, as it
// does for the GIC CPU interface.
//
// Model:
//  - The system counter is the machine's deterministic virtual time (arch/common/
//    virtual_time.h), counting at CNTFRQ_EL0's reset value 62.5 MHz, the frequency QEMU
//    7.2 virt reports for cortex-a57 (its 16 ns timer scale). CNTFRQ_EL0 itself is only
//    a record of the frequency (D11.1.2): writing it does not change the count rate.
//  - No EL2: CNTVOFF_EL2 is zero, so CNTVCT_EL0 == CNTPCT_EL0 (D11.2.4).
//  - Two EL1 timers: the virtual timer (CNTV_*, PPI 27) and the non-secure EL1 physical
//    timer (CNTP_*, PPI 30), the INTIDs QEMU virt's device tree gives them. Each is a
//    compare value CVAL against its counter; the condition CVAL <= count makes ISTATUS 1
//    while ENABLE is 1 (D11.2.4: the condition is "Count - CVAL >= 0", unsigned), and its
//    interrupt line is asserted while ENABLE=1, ISTATUS=1 and IMASK=0, level-sensitive.
//  - ENABLE=0: ISTATUS reads as zero (the architecture makes it UNKNOWN; QEMU also
//    reports zero) and the line is deasserted.
//  - TVAL is a view of CVAL (D11.2.4): a read gives the low 32 bits of CVAL - count, a
//    write sets CVAL = count + SignExtend(TVAL[31:0]).
// The line goes to the PE's redistributor (set_ppi_level); `update()` re-evaluates both
// lines against the current count, which the machine calls whenever time may have passed
// (before each quantum) and after every register write.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "arch/arm64/sysreg.h"
#include "arch/common/virtual_time.h"
#include "remap/fields.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

namespace cnt {
using fields::Access;
using fields::Field;
inline constexpr uint32_t FRQ_EL0 = sysreg(3, 3, 14, 0, 0);
inline constexpr uint32_t PCT_EL0 = sysreg(3, 3, 14, 0, 1);
inline constexpr uint32_t VCT_EL0 = sysreg(3, 3, 14, 0, 2);
inline constexpr uint32_t P_TVAL_EL0 = sysreg(3, 3, 14, 2, 0);
inline constexpr uint32_t P_CTL_EL0 = sysreg(3, 3, 14, 2, 1);
inline constexpr uint32_t P_CVAL_EL0 = sysreg(3, 3, 14, 2, 2);
inline constexpr uint32_t V_TVAL_EL0 = sysreg(3, 3, 14, 3, 0);
inline constexpr uint32_t V_CTL_EL0 = sysreg(3, 3, 14, 3, 1);
inline constexpr uint32_t V_CVAL_EL0 = sysreg(3, 3, 14, 3, 2);

inline constexpr uint64_t kFrequency = 62'500'000;  // CNTFRQ_EL0 reset value (Hz)
inline constexpr uint32_t kVirtualPpi = 27;         // CNTV: PPI 11 of the virt device tree
inline constexpr uint32_t kPhysicalPpi = 30;        // CNTP (non-secure EL1): PPI 14

// CNTV_CTL_EL0 / CNTP_CTL_EL0 (Arm ARM D13.8: the two share one layout).
inline constexpr Field CTL_ENABLE{"ENABLE", 0, 0, Access::RW, "Timer enabled"};
inline constexpr Field CTL_IMASK{"IMASK", 1, 1, Access::RW, "Timer interrupt masked"};
inline constexpr Field CTL_ISTATUS{"ISTATUS", 2, 2, Access::RO,
                                   "Timer condition met (CVAL <= count) while enabled"};
inline constexpr Field kCtlFields[] = {
    CTL_ENABLE, CTL_IMASK, CTL_ISTATUS,
    {"Rsvd", 63, 3, Access::Rsvd, "RES0"},
};
static_assert(fields::well_formed(kCtlFields, 64, true));
inline constexpr fields::Format kCtl{"cnt-ctl", "CNTV_CTL_EL0 / CNTP_CTL_EL0 (generic timer control)",
                                     "Arm ARM D13.8 (CNTV_CTL_EL0, CNTP_CTL_EL0)", 64, kCtlFields};
}  // namespace cnt

class GenericTimer {
 public:
  enum class Kind : uint8_t { Virtual = 0, Physical = 1 };
  // intid: the PPI; level: asserted or not.
  using IrqLine = std::function<void(uint32_t intid, bool level)>;

  GenericTimer(unsigned cpu, const arch::VirtualTime& time, IrqLine line, Trace& trace);

  // Whether `encoding` (sysreg()) is a generic timer register this model answers.
  static bool handles(uint32_t encoding);
  static std::string name(uint32_t encoding);
  // MRS: the value (every modelled register is readable).
  std::optional<uint64_t> read(uint32_t encoding);
  // MSR: false for a read-only register (CNTPCT_EL0, CNTVCT_EL0).
  bool write(uint32_t encoding, uint64_t value);

  // Counter value now (CNTVCT_EL0 == CNTPCT_EL0: CNTVOFF is zero).
  uint64_t count() const { return time_.now(); }
  // Re-evaluates both timers against the count and drives their lines.
  void update();
  // The timer's interrupt output (ENABLE && ISTATUS && !IMASK) now.
  bool output(Kind k) const;
  // The earliest compare value of a timer whose output would rise later (enabled,
  // unmasked, condition not met yet): when an idle machine may move time to.
  std::optional<uint64_t> next_deadline() const;
  // Instructions the running CPU retires before the counter reaches next_deadline().
  std::optional<uint64_t> insns_to_deadline() const {
    if (auto d = next_deadline()) return time_.insns_until(*d);
    return std::nullopt;
  }

  // Its part of a snapshot: CNTFRQ_EL0, CNTV_CTL/CVAL, CNTP_CTL/CVAL and the level each
  // timer drives (the counter is the machine's virtual time, saved by the machine).
  void state(snapshot::Io& io);
 private:
  struct Timer {
    uint64_t ctl = 0;   // ENABLE and IMASK as written (ISTATUS is computed)
    uint64_t cval = 0;  // reset: UNKNOWN; zero here
    bool line = false;  // the level last driven
  };
  bool condition(const Timer& t) const;
  uint64_t ctl_value(const Timer& t) const;
  void drive(Kind k);

  unsigned cpu_;
  const arch::VirtualTime& time_;
  IrqLine line_;
  Trace& trace_;
  std::string unit_;
  uint64_t frq_ = cnt::kFrequency;
  std::array<Timer, 2> timers_{};
};

}  // namespace irqremap::arm64
