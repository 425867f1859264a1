#pragma once
// The GICv3 CPU interface of one PE, reached through the ICC_* system registers (Arm
// IHI0069 §12.2 "AArch64 System register descriptions of the CPU interface"; §4.8
// priority). Plain C++: the vCPU's MRS/MSR hook calls read()/write() with the register's
// encoding. Only Group 1 (LPIs are always Group 1 non-secure; single security state) is
// signalled; Group 0 registers read as "no interrupt".
//
// Model: the highest-priority interrupt the PE's redistributor offers (a pending,
// enabled, inactive Group 1 SGI/PPI, or a pending enabled LPI) or the distributor routes
// here (an SPI, gicv3_distributor.h) is signalled when
// ICC_IGRPEN1_EL1.Enable=1, GICD_CTLR.EnableGrp1=1 and its priority beats both
// ICC_PMR_EL1 and the running priority.
//  - Priorities have 5 bits (ICC_CTLR_EL1.PRIbits = 4, as QEMU's Cortex-A57 GIC CPU
//    interface: 32 levels, the low three bits of a priority do not count).
//  - The active priorities are the architected ICC_AP0R0_EL1 / ICC_AP1R0_EL1 (§4.8
//    "Interrupt prioritization"; §12.2 ICC_AP1R<n>_EL1): bit n set = an interrupt of
//    group priority n << 3 is active. With 5 bits of preemption only n = 0 of
//    ICC_AP0R<n>/ICC_AP1R<n> exists; bits 63:32 are RES0, and ICC_AP{0,1}R{1,2,3}_EL1 are
//    UNDEFINED (handles() leaves them to the CPU, which has no such register). The
//    running priority (ICC_RPR_EL1) is the group priority of the lowest set bit of the
//    two, 0xFF if none. Software may write them (state save and restore; Linux 6.1 clears
//    both at start-up).
//  - ICC_IAR1_EL1 acknowledges it: an SGI/PPI becomes active, an LPI stops being pending;
//    its group priority's bit is set in ICC_AP1R0_EL1.
//  - ICC_EOIR1_EL1 drops the running priority: it clears the lowest set bit of
//    ICC_AP1R0_EL1 (the highest active Group 1 priority: software EOIs in the reverse order
//    of acknowledgement, §4.8); with ICC_CTLR_EL1.EOImode=0 it also deactivates the
//    INTID; with EOImode=1 ICC_DIR_EL1 deactivates (§4.1, §12.2 ICC_CTLR_EL1). LPIs have
//    no active state: only the priority drop applies.
//  - ICC_SGI1R_EL1 generates a Group 1 SGI (field table icc::kSgi1r): IRM=1 sends it to
//    every PE but this one; IRM=0 to the PEs with affinity Aff3.Aff2.Aff1 and Aff0 =
//    RS * 16 + n for each bit n of TargetList.
// Binary point grouping is not applied (BPR1 is stored and read back): every one of the
// 32 priority levels preempts, which is what firmware with one priority level sees anyway.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "arch/arm64/sysreg.h"
#include "remap/fields.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

namespace icc {
inline constexpr uint32_t PMR_EL1 = sysreg(3, 0, 4, 6, 0);
// ICC_AP0R<n>_EL1 (n = 0..3) and ICC_AP1R<n>_EL1 (n = 0..3); only n = 0 is implemented.
constexpr uint32_t AP0R_EL1(unsigned n) { return sysreg(3, 0, 12, 8, 4 + n); }
constexpr uint32_t AP1R_EL1(unsigned n) { return sysreg(3, 0, 12, 9, n); }
inline constexpr uint32_t AP0R0_EL1 = AP0R_EL1(0);
inline constexpr uint32_t AP1R0_EL1 = AP1R_EL1(0);
// Priority bits implemented (ICC_CTLR_EL1.PRIbits + 1) and the group priority they give.
inline constexpr unsigned kPriorityBits = 5;
inline constexpr uint8_t kPriorityMask = uint8_t(0xFF << (8 - kPriorityBits));  // 0xF8
// ICC_AP{0,1}R0_EL1 bits: one per group priority (32 with 5 bits); the rest RES0.
inline constexpr uint64_t kAprMask = (uint64_t{1} << (1u << kPriorityBits)) - 1;
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

// ICC_SGI1R_EL1 (IHI0069 §12.2, ICC_SGI1R_EL1).
using fields::Access;
using fields::Field;
inline constexpr Field SGI1R_TargetList{"TargetList", 15, 0, Access::RW,
                                        "PEs with Aff0 = RS * 16 + n for each set bit n"};
inline constexpr Field SGI1R_Aff1{"Aff1", 23, 16, Access::RW, "Affinity level 1 of the targets"};
inline constexpr Field SGI1R_INTID{"INTID", 27, 24, Access::RW, "The SGI (0..15)"};
inline constexpr Field SGI1R_Aff2{"Aff2", 39, 32, Access::RW, "Affinity level 2 of the targets"};
inline constexpr Field SGI1R_IRM{"IRM", 40, 40, Access::RW,
                                 "Interrupt Routing Mode: 1 = every PE except this one"};
inline constexpr Field SGI1R_RS{"RS", 47, 44, Access::RW, "Range selector: Aff0 = RS * 16 + n"};
inline constexpr Field SGI1R_Aff3{"Aff3", 55, 48, Access::RW, "Affinity level 3 of the targets"};
inline constexpr Field kSgi1rFields[] = {
    SGI1R_TargetList, SGI1R_Aff1, SGI1R_INTID,
    {"Rsvd", 31, 28, Access::Rsvd, "RES0"},
    SGI1R_Aff2, SGI1R_IRM,
    {"Rsvd", 43, 41, Access::Rsvd, "RES0"},
    SGI1R_RS, SGI1R_Aff3,
    {"Rsvd", 63, 56, Access::Rsvd, "RES0"},
};
static_assert(fields::well_formed(kSgi1rFields, 64, true));
inline constexpr fields::Format kSgi1r{"icc-sgi1r", "ICC_SGI1R_EL1 (generate a Group 1 SGI)",
                                       "Arm IHI0069 §12.2 (ICC_SGI1R_EL1)", 64, kSgi1rFields};

// ICC_CTLR_EL1 fields this model keeps (IHI0069 §12.2, ICC_CTLR_EL1).
inline constexpr Field CTLR_CBPR{"CBPR", 0, 0, Access::RW, "Common binary point register"};
inline constexpr Field CTLR_EOImode{"EOImode", 1, 1, Access::RW,
                                    "1: ICC_EOIR1_EL1 only drops priority, ICC_DIR_EL1 deactivates"};
inline constexpr Field CTLR_PRIbits{"PRIbits", 10, 8, Access::RO, "Priority bits implemented - 1"};
}  // namespace icc

class GicCpuInterface {
 public:
  GicCpuInterface(unsigned cpu, Redistributors& rds, Gicv3Distributor& gicd, Trace& trace);

  // Whether `encoding` (sysreg()) is a CPU interface register this model answers.
  static bool handles(uint32_t encoding);
  // MRS: the value; nullopt for a write-only register (the vCPU reports it).
  std::optional<uint64_t> read(uint32_t encoding);
  // MSR: false for a read-only register.
  bool write(uint32_t encoding, uint64_t value);
  static std::string name(uint32_t encoding);

  // The interrupt the CPU interface signals now (IRQ line), if any.
  std::optional<PendingIrq> signalled() const;
  // ICC_RPR_EL1: the group priority of the highest active priority (§12.2 ICC_RPR_EL1).
  uint8_t running_priority() const;
  uint64_t acknowledged() const { return acks_; }
  // Called for each interrupt acknowledged through ICC_IAR1_EL1.
  void set_on_ack(std::function<void(uint32_t intid)> f) { on_ack_ = std::move(f); }
  bool eoi_mode() const { return fields::get(ctlr_, icc::CTLR_EOImode) != 0; }

  // Its part of a snapshot: ICC_PMR/BPR0/BPR1/IGRPEN0/IGRPEN1/CTLR_EL1, the active
  // priorities (ICC_AP0R0/AP1R0_EL1, from which the running priority is computed) and the
  // acknowledge count.
  void state(snapshot::Io& io);
 private:
  // The redistributor's best (SGI, PPI, LPI) against the distributor's best SPI for this PE.
  std::optional<PendingIrq> highest_pending() const;
  void generate_sgi(uint64_t sgi1r);
  void end_of_interrupt(uint32_t intid);
  void deactivate(uint32_t intid);

  unsigned cpu_;
  Redistributors& rds_;
  Gicv3Distributor& gicd_;
  Trace& trace_;
  std::string unit_;
  uint8_t pmr_ = 0;   // reset: everything masked
  uint8_t bpr1_ = 0, bpr0_ = 0;
  bool igrpen1_ = false, igrpen0_ = false;
  uint64_t ctlr_ = 0;
  // ICC_AP0R0_EL1, ICC_AP1R0_EL1: the active priorities of Group 0 and Group 1.
  uint64_t ap0r0_ = 0, ap1r0_ = 0;
  uint64_t acks_ = 0;
  std::function<void(uint32_t)> on_ack_;
};

}  // namespace irqremap::arm64
