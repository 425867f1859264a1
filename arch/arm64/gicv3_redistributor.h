#pragma once
// GICv3 redistributors: the LPI side of the GIC (Arm IHI0069 §5.1 LPIs, §12.10/§12.11
// GICR registers, §12.11.30 GICR_PROPBASER, §12.11.29 GICR_PENDBASER). Plain C++: no
// Unicorn. One Gicv3Redistributor per CPU; `Redistributors` holds them all, maps their frames
// (RD_base + SGI_base, 0x2_0000 per CPU from GICR base) and is the ITS's LpiTarget.
//
// Model choices (IMPLEMENTATION DEFINED or CONSTRAINED UNPREDICTABLE in the spec, said once):
//  - Single security state (GICD_CTLR.DS=1): the config byte's priority is used as-is.
//  - LPI state costs host memory only in proportion to what is in use, never a dense
//    copy of the guest's tables (issue 13: 2^24 LPIs x 64 CPUs would be 1 GiB of copies):
//  - LPI configuration is cached, as the architecture allows (§5.1.1: "the Redistributor
//    may cache configuration"): an LPI's byte is read from the guest's configuration
//    table the first time it is needed after EnableLPIs goes 0->1, and then kept until
//    INV/INVALL re-read it (reload_config/reload_all_config) or MOVI/MOVALL bring the old
//    redistributor's byte (adopt_config). The cache is direct-mapped by INTID with at
//    most kConfigCacheEntries entries: with no more LPIs than that in range (IDbits <= 13,
//    as kvm-unit-tests programs) nothing is ever evicted; beyond it, an LPI whose entry
//    another LPI took is read again, which software cannot tell apart as long as it
//    issues INV after changing a byte, as it must.
//  - Pending state lives only in the guest's pending table (one bit per INTID from INTID 0,
//    as QEMU keeps it, so firmware can look). A summary with one bit per 64 INTIDs says
//    which table words are non-zero, so a scan for the highest pending LPI skips empty
//    stretches. When EnableLPIs goes 0->1 the summary is built from the table, or, when
//    PENDBASER.PTZ was 1, the table is cleared where it is not already zero. When
//    EnableLPIs goes 1->0 the summary is dropped (the table keeps the bits). A pending
//    table that is not wholly in guest RAM is replaced by a host bitmap (and traced).
//  - GICR_PROPBASER and GICR_PENDBASER ignore writes while EnableLPIs=1 (§12.11.29:
//    changing them then is UNPREDICTABLE); EnableLPIs can be cleared again (as on QEMU).
//  - Number of LPI INTIDs: 2^(min(PROPBASER.IDbits + 1, id_bits)), where id_bits is the
//    GICD_TYPER.IDbits + 1 the machine advertises (16 by default, as QEMU); IDbits < 13
//    means no LPI is in range.
//  - Highest priority: lowest priority value; ties go to the lowest INTID.
//  - DirectLPI=0: GICR_SETLPIR/CLRLPIR/INVLPIR/INVALLR are RAZ/WI, GICR_SYNCR reads 0.
//  - LPIs have no active state (§5.1): acknowledge() clears the pending bit; eoi() only
//    records the end of the handler (the CPU interface drops the running priority).
//
// SGIs and PPIs (INTIDs 0..31) live in the SGI_base frame (§12.10, §12.11): enable,
// pending, active, group and priority per INTID, and the configuration (ICFGR0 reads as
// all SGIs edge-triggered; ICFGR1 holds the PPIs' edge/level bits, reset level).
//  - Pending state of an edge-triggered INTID is a latch: set by an SGI (ICC_SGI1R_EL1 at
//    some PE), a rising edge, or ISPENDR0; cleared by ICPENDR0 or acknowledgement. A
//    level-sensitive PPI is pending while its line is asserted or its latch (ISPENDR0) is
//    set (ICPENDR0 cannot clear an asserted level: IHI0069 §4.1, interrupt life cycle).
//  - Acknowledging an SGI/PPI makes it active (§4.1); it is not offered again until
//    deactivated (EOI with EOImode=0, ICC_DIR_EL1, or ICACTIVER0).
//  - Reset: every SGI/PPI in Group 1 (IGROUPR0 all ones), as QEMU resets them when it
//    boots a kernel directly without EL3 firmware to configure groups; disabled, priority 0.
//  - An SGI from ICC_SGI1R_EL1 becomes pending only where that INTID is configured as
//    Group 1 (with GICD_CTLR.DS=1, Group 1 SGIs go to Group 1 INTIDs only: IHI0069
//    §12.2, ICC_SGI1R_EL1).
//  - Offered to the CPU interface: pending, enabled, not active, Group 1 INTIDs; among
//    them and the pending LPIs, the lowest priority value wins, ties to the lowest INTID.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "remap/fields.h"
#include "remap/guest_memory.h"
#include "remap/its/lpi_format.h"
#include "remap/its/lpi_target.h"
#include "remap/mmio.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

namespace gicr {
using fields::Access;
using fields::Field;
// RD_base frame (§12.10).
inline constexpr uint64_t CTLR = 0x0000, IIDR = 0x0004, TYPER = 0x0008, STATUSR = 0x0010,
                          WAKER = 0x0014, SETLPIR = 0x0040, CLRLPIR = 0x0048,
                          PROPBASER = 0x0070, PENDBASER = 0x0078, INVLPIR = 0x00A0,
                          INVALLR = 0x00B0, SYNCR = 0x00C0, PIDR2 = 0xFFE8;
// SGI_base frame, 64 KiB above RD_base (§12.10): SGI/PPI registers.
inline constexpr uint64_t SGI_BASE = 0x1'0000;
inline constexpr uint64_t IGROUPR0 = SGI_BASE + 0x0080, ISENABLER0 = SGI_BASE + 0x0100,
                          ICENABLER0 = SGI_BASE + 0x0180, ISPENDR0 = SGI_BASE + 0x0200,
                          ICPENDR0 = SGI_BASE + 0x0280, ISACTIVER0 = SGI_BASE + 0x0300,
                          ICACTIVER0 = SGI_BASE + 0x0380, IPRIORITYR = SGI_BASE + 0x0400,
                          ICFGR0 = SGI_BASE + 0x0C00, ICFGR1 = SGI_BASE + 0x0C04,
                          IGRPMODR0 = SGI_BASE + 0x0D00, NSACR = SGI_BASE + 0x0E00;
inline constexpr uint64_t kFrameSize = 0x2'0000;  // RD_base + SGI_base per CPU

// GICR_CTLR (§12.11.2).
inline constexpr Field CTLR_EnableLPIs{"EnableLPIs", 0, 0, Access::RW, "LPIs enabled"};
inline constexpr Field CTLR_RWP{"RWP", 3, 3, Access::RO, "Register Write Pending"};
inline constexpr Field CTLR_UWP{"UWP", 31, 31, Access::RO, "Upstream Write Pending"};
// GICR_TYPER (§12.11.35).
inline constexpr Field TYPER_PLPIS{"PLPIS", 0, 0, Access::RO, "Physical LPIs supported"};
inline constexpr Field TYPER_VLPIS{"VLPIS", 1, 1, Access::RO, "Virtual LPIs supported"};
inline constexpr Field TYPER_DirectLPI{"DirectLPI", 3, 3, Access::RO,
                                       "Direct LPI registers (SETLPIR...) supported"};
inline constexpr Field TYPER_Last{"Last", 4, 4, Access::RO, "Last redistributor in the series"};
inline constexpr Field TYPER_Processor_Number{"Processor_Number", 23, 8, Access::RO,
                                              "Processor number (ITS RDbase with PTA=0)"};
inline constexpr Field TYPER_CommonLPIAff{"CommonLPIAff", 25, 24, Access::RO,
                                          "LPI configuration sharing (0: all share)"};
inline constexpr Field TYPER_Affinity_Value{"Affinity_Value", 63, 32, Access::RO,
                                            "Aff3.Aff2.Aff1.Aff0 of the PE"};
// GICR_WAKER (§12.11.43).
inline constexpr Field WAKER_ProcessorSleep{"ProcessorSleep", 1, 1, Access::RW,
                                            "PE is asleep: interrupts wake it, not signal it"};
inline constexpr Field WAKER_ChildrenAsleep{"ChildrenAsleep", 2, 2, Access::RO,
                                            "Interface to the PE is quiescent"};
}  // namespace gicr

// The highest-priority pending interrupt (SGI, PPI or LPI) a redistributor offers its
// CPU interface.
struct PendingIrq {
  uint32_t intid = 0;
  uint8_t priority = 0;  // LPI: config byte bits 7:2, bits 1:0 zero; SGI/PPI: IPRIORITYR
  bool operator==(const PendingIrq&) const = default;
};

class Gicv3Redistributor final : public MmioDevice {
 public:
  // processor_number: GICR_TYPER.Processor_Number (the ITS RDbase with PTA=0).
  // affinity: MPIDR_EL1 affinity (Aff3 in bits 39:32, Aff2..Aff0 in 23:0).
  // last: GICR_TYPER.Last. trace: where events go (unit "gicr<N>"); may be shared.
  // id_bits: INTID bits of the GIC (GICD_TYPER.IDbits + 1, 14..32): caps the LPI range.
  Gicv3Redistributor(GuestMemory& mem, uint32_t processor_number, uint64_t affinity, bool last,
                     Trace& trace, unsigned id_bits = 16);
  static constexpr uint32_t kConfigCacheEntries = 16384;

  // MmioDevice: RD_base + SGI_base frames, offsets 0..0x1FFFF.
  std::string_view mmio_name() const override { return "GICR"; }
  uint64_t mmio_size() const override { return gicr::kFrameSize; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // --- LPI state (the ITS side) ---
  uint32_t processor_number() const { return processor_number_; }
  bool lpis_enabled() const { return enable_lpis_; }
  // GICR_CTLR.EnableLPIs 0->1 starts a fresh configuration cache and (unless PTZ) takes the
  // pending table as it is; 1->0 drops the pending summary and the cached configuration.
  void set_enable_lpis(bool enable);
  uint64_t propbaser() const { return propbaser_; }
  uint64_t pendbaser() const { return pendbaser_; }
  // Register writes (ignored while EnableLPIs=1); return whether the write took effect.
  bool write_propbaser(uint64_t value);
  bool write_pendbaser(uint64_t value);
  // One past the highest LPI INTID in range (8192 when none is).
  uint64_t lpi_limit() const { return lpi_limit_; }
  // Host bytes the LPI state takes (configuration cache, pending summary, fallback
  // bitmap): what the "no dense copy" choice above promises, observable.
  std::size_t lpi_host_bytes() const;

  // Sets the LPI pending (in the guest pending table). False when EnableLPIs=0 or the INTID
  // is out of range: the LPI is dropped.
  bool set_pending(uint32_t intid);
  void clear_pending(uint32_t intid);
  bool is_pending(uint32_t intid) const;
  // Every pending LPI INTID, ascending.
  std::vector<uint32_t> pending_lpis() const;
  // The pending table as the ITS reads it to skip an LPI that is already pending
  // (lpi_target.h); kept current across EnableLPIs changes.
  const its::PendingTableView& pending_view() const { return view_; }
  // INV / INVALL: re-read configuration bytes from the guest's configuration table.
  void reload_config(uint32_t intid);
  void reload_all_config();
  // The cached configuration byte of an LPI (0 when out of range).
  uint8_t config(uint32_t intid) const;
  // MOVI/MOVALL: the LPI arrives with the configuration its old redistributor held, so a
  // configuration made visible by INV before the move still applies (as KVM keeps
  // priority/enable per LPI, not per redistributor).
  void adopt_config(uint32_t intid, uint8_t config);

  // --- CPU interface hooks ---
  // Highest-priority pending interrupt offered to the CPU interface: an SGI/PPI that is
  // pending, enabled, not active and Group 1, or a pending enabled LPI.
  std::optional<PendingIrq> highest_pending() const;
  // ICC_IAR1_EL1: takes the highest-priority pending interrupt: an LPI's pending bit is
  // cleared; an SGI/PPI becomes active (and its edge latch is cleared).
  std::optional<PendingIrq> acknowledge();
  // ICC_EOIR1_EL1 for an LPI: recorded and traced (LPIs have no active state).
  void eoi(uint32_t intid);
  // Deactivation of an SGI/PPI (EOI with EOImode=0, ICC_DIR_EL1); no effect on an LPI.
  void deactivate(uint32_t intid);
  uint64_t acknowledged_count() const { return acks_; }
  uint64_t eoi_count() const { return eois_; }

  // --- SGIs and PPIs (SGI_base frame) ---
  uint64_t affinity() const { return affinity_; }
  // An SGI generated for this PE by ICC_SGI1R_EL1 (Group 1): pending unless the INTID is
  // Group 0 here. Returns whether it became pending.
  bool send_sgi(uint32_t intid);
  // A PPI's input line (the generic timer): a level-sensitive PPI is pending while it is
  // high; an edge-triggered one latches pending on the rising edge.
  void set_ppi_level(uint32_t intid, bool level);
  uint32_t sgi_ppi_enabled() const { return enabled0_; }
  uint32_t sgi_ppi_pending() const;  // as GICR_ISPENDR0 reads
  uint32_t sgi_ppi_active() const { return active0_; }
  uint8_t sgi_ppi_priority(unsigned intid) const { return intid < 32 ? priority0_[intid] : 0; }
  bool processor_asleep() const { return processor_sleep_; }

  // Called after any change of pending state or configuration (the machine re-evaluates
  // the CPU's IRQ line) and after EnableLPIs changes (the ITS drops its cache).
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }
  void set_on_enable_change(std::function<void(bool)> fn) { on_enable_change_ = std::move(fn); }

  // Its part of a snapshot: GICR_CTLR.EnableLPIs, GICR_PROPBASER, GICR_PENDBASER (and the
  // write-only PTZ latch), GICR_WAKER.ProcessorSleep, the SGI/PPI registers and input
  // lines, the counts, and the LPI pending bits when the pending table is not in guest
  // RAM (otherwise they are guest memory, restored before: the machine loads RAM first).
  // The LPI configuration cache is not saved: a redistributor may cache the
  // configuration table, and software makes changes visible with INV/INVALL (IHI0069
  // §5.1.1), so it is re-read from guest memory after a restore.
  void state(snapshot::Io& io);

 private:
  uint64_t typer() const;
  uint64_t prop_pa() const;
  uint64_t pend_pa() const;
  uint64_t compute_limit() const;
  // The pending table word holding `intid` (little-endian in guest RAM or the fallback).
  std::byte* pending_word(uint32_t intid) const { return pend_ + (intid / 64) * 8; }
  void attach_pending_table();
  // Cached configuration byte of an in-range LPI; a miss reads the guest's table.
  uint8_t config_byte(uint32_t intid) const;
  void cache_config(uint32_t intid, uint8_t config) const;
  uint8_t read_config(uint32_t intid) const;
  void changed();
  void sgi_ppi_changed();
  uint32_t level_sensitive() const;
  std::optional<PendingIrq> highest_lpi() const;
  std::optional<PendingIrq> highest_sgi_ppi() const;
  void trace_reg(EventKind kind, uint64_t offset, unsigned size, uint64_t value) const;

  GuestMemory& mem_;
  uint32_t processor_number_;
  uint64_t affinity_;
  bool last_;
  Trace& trace_;
  std::string unit_;

  bool enable_lpis_ = false;
  bool ptz_ = false;  // PTZ of the last PENDBASER write (PTZ is write-only)
  uint64_t propbaser_ = 0;
  uint64_t pendbaser_ = 0;
  unsigned id_bits_;
  uint64_t lpi_limit_ = its::lpi::kFirstLpi;
  // Configuration cache: entry (intid & mask) = Valid (bit 31) | tag intid >> shift
  // (bits 30:8) | config byte (bits 7:0).
  mutable std::vector<uint32_t> config_cache_;
  unsigned config_shift_ = 0;
  std::byte* pend_ = nullptr;             // pending table from INTID 0 (guest RAM or below)
  std::vector<uint64_t> pend_fallback_;   // only when the table is not in guest RAM
  std::vector<uint64_t> summary_;         // bit w: table word (kFirstLpi / 64 + w) non-zero
  its::PendingTableView view_;            // pend_ and lpi_limit_ while EnableLPIs=1
  mutable bool hpp_valid_ = false;
  mutable std::optional<PendingIrq> hpp_;
  uint64_t acks_ = 0, eois_ = 0;

  bool processor_sleep_ = true;
  uint32_t group0_ = ~uint32_t{0}, enabled0_ = 0, active0_ = 0, grpmod0_ = 0, nsacr_ = 0;
  uint32_t latch0_ = 0;  // pending latches (edge INTIDs; ISPENDR0 for level PPIs)
  uint32_t level0_ = 0;  // PPI input lines
  uint32_t icfgr1_ = 0;
  uint8_t priority0_[32] = {};

  std::function<void()> on_change_;
  std::function<void(bool)> on_enable_change_;
};

// All redistributors of a machine: the GICR MMIO window (frames of 0x2_0000 from `base`,
// CPU n at base + n * 0x2_0000, GICR_TYPER.Last on the final one) and the ITS's LpiTarget.
class Redistributors final : public MmioDevice, public its::LpiTarget {
 public:
  // affinity(n) defaults to QEMU virt's MPIDR layout (virt::mpidr_affinity).
  // id_bits: GICD_TYPER.IDbits + 1 (caps every redistributor's LPI range).
  Redistributors(GuestMemory& mem, unsigned cpus, uint64_t base = 0x080A'0000,
                 std::function<uint64_t(unsigned)> affinity = {}, unsigned id_bits = 16);

  Gicv3Redistributor& operator[](uint32_t cpu) { return *rds_[cpu]; }
  const Gicv3Redistributor& operator[](uint32_t cpu) const { return *rds_[cpu]; }
  uint64_t base() const { return base_; }
  Trace& trace() { return trace_; }

  // MmioDevice over the whole window (cpus * 0x2_0000 bytes).
  std::string_view mmio_name() const override { return "GICR"; }
  uint64_t mmio_size() const override { return uint64_t(rds_.size()) * gicr::kFrameSize; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // its::LpiTarget
  uint32_t redistributor_count() const override { return uint32_t(rds_.size()); }
  std::optional<uint32_t> rd_by_address(uint64_t rdbase) const override;
  bool set_pending(uint32_t rd, uint32_t intid) override;
  void clear_pending(uint32_t rd, uint32_t intid) override;
  // MOVI: NOP when either redistributor has EnableLPIs=0 (CONSTRAINED UNPREDICTABLE;
  // QEMU's choice).
  void move_pending(uint32_t from, uint32_t to, uint32_t intid) override;
  void move_all_pending(uint32_t from, uint32_t to) override;
  void reload_config(uint32_t rd, uint32_t intid) override;
  void reload_all_config(uint32_t rd) override;
  std::span<const its::PendingTableView* const> pending_views() const override { return views_; }

  // CPU interface queries, by CPU number.
  // Every redistributor's part of a snapshot (gicr0, gicr1, ...).
  void state(snapshot::Io& io);

  std::optional<PendingIrq> highest_pending(uint32_t cpu) const;
  std::optional<PendingIrq> acknowledge(uint32_t cpu);
  void eoi(uint32_t cpu, uint32_t intid);
  void deactivate(uint32_t cpu, uint32_t intid);

  // Listeners for every redistributor: pending/config changed at `cpu`; EnableLPIs changed.
  void set_on_change(std::function<void(uint32_t cpu)> fn);
  void set_on_enable_change(std::function<void(uint32_t cpu, bool enabled)> fn);

 private:
  void trace_moved(uint32_t from, uint32_t to, uint32_t intid);
  uint64_t base_;
  Trace trace_;
  std::vector<std::unique_ptr<Gicv3Redistributor>> rds_;
  std::vector<const its::PendingTableView*> views_;  // rds_[n]->pending_view()
};

}  // namespace irqremap::arm64
