#pragma once
// The GICv3 CPU interface of one PE, reached through the ICC_* system registers (Arm
// IHI0069 §12.2 "AArch64 System register descriptions of the CPU interface"; §4.8
// priority). Plain C++: the vCPU's MRS/MSR hook calls read()/write() with the
// register's encoding. Only Group 1 (LPIs are always Group 1 non-secure; single security
// state) is signalled; Group 0 registers read as "no interrupt".
//
// Model: the highest pending LPI of this CPU's redistributor is signalled when
// ICC_IGRPEN1_EL1.Enable=1, GICD_CTLR.EnableGrp1=1 and its priority beats both
// ICC_PMR_EL1 and the running priority (the highest active priority, kept as a stack of
// acknowledged priorities dropped by ICC_EOIR1_EL1; EOImode=0 so EOI also deactivates).
// Binary point grouping is not applied (BPR1 is stored and read back): every priority
// level preempts, which is what firmware with one priority level sees anyway.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "remap/trace.h"

namespace irqremap::arm64 {

// op0:op1:CRn:CRm:op2 of a system register, packed as in the MRS/MSR encoding.
constexpr uint32_t sysreg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

namespace icc {
inline constexpr uint32_t PMR_EL1 = sysreg(3, 0, 4, 6, 0);
inline constexpr uint32_t IAR0_EL1 = sysreg(3, 0, 12, 8, 0);
inline constexpr uint32_t EOIR0_EL1 = sysreg(3, 0, 12, 8, 1);
inline constexpr uint32_t HPPIR0_EL1 = sysreg(3, 0, 12, 8, 2);
inline constexpr uint32_t BPR0_EL1 = sysreg(3, 0, 12, 8, 3);
inline constexpr uint32_t DIR_EL1 = sysreg(3, 0, 12, 11, 1);
inline constexpr uint32_t RPR_EL1 = sysreg(3, 0, 12, 11, 3);
inline constexpr uint32_t SGI1R_EL1 = sysreg(3, 0, 12, 11, 5);
inline constexpr uint32_t IAR1_EL1 = sysreg(3, 0, 12, 12, 0);
inline constexpr uint32_t EOIR1_EL1 = sysreg(3, 0, 12, 12, 1);
inline constexpr uint32_t HPPIR1_EL1 = sysreg(3, 0, 12, 12, 2);
inline constexpr uint32_t BPR1_EL1 = sysreg(3, 0, 12, 12, 3);
inline constexpr uint32_t CTLR_EL1 = sysreg(3, 0, 12, 12, 4);
inline constexpr uint32_t SRE_EL1 = sysreg(3, 0, 12, 12, 5);
inline constexpr uint32_t IGRPEN0_EL1 = sysreg(3, 0, 12, 12, 6);
inline constexpr uint32_t IGRPEN1_EL1 = sysreg(3, 0, 12, 12, 7);
inline constexpr uint32_t kSpurious = 1023;  // INTID returned when nothing is signalled
}  // namespace icc

class GicCpuInterface {
 public:
  GicCpuInterface(unsigned cpu, Redistributors& rds, const Gicv3Distributor& gicd, Trace& trace);

  // Whether `encoding` (sysreg()) is a CPU interface register this model answers.
  static bool handles(uint32_t encoding);
  // MRS: the value; nullopt for a write-only register (the vCPU reports it).
  std::optional<uint64_t> read(uint32_t encoding);
  // MSR: false for a read-only register.
  bool write(uint32_t encoding, uint64_t value);
  static std::string name(uint32_t encoding);

  // The interrupt the CPU interface signals now (IRQ line), if any.
  std::optional<PendingLpi> signalled() const;
  uint8_t running_priority() const { return active_.empty() ? 0xFF : active_.back().priority; }
  uint64_t acknowledged() const { return acks_; }
  // Called for each LPI acknowledged through ICC_IAR1_EL1; and after an ICC_EOIR1_EL1.
  void set_on_ack(std::function<void(uint32_t intid)> f) { on_ack_ = std::move(f); }

 private:
  unsigned cpu_;
  Redistributors& rds_;
  const Gicv3Distributor& gicd_;
  Trace& trace_;
  std::string unit_;
  uint8_t pmr_ = 0;   // reset: everything masked
  uint8_t bpr1_ = 0, bpr0_ = 0;
  bool igrpen1_ = false, igrpen0_ = false;
  uint64_t ctlr_ = 0;
  std::vector<PendingLpi> active_;  // acknowledged, not yet EOId (nesting order)
  uint64_t acks_ = 0;
  std::function<void(uint32_t)> on_ack_;
};

}  // namespace irqremap::arm64
