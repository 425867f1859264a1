#pragma once
// GICv3 distributor (GICD): SPIs (Arm IHI0069 §12.9 registers; §4.1 interrupt life
// cycle). LPIs bypass the distributor entirely (ITS -> redistributor), which is why
// GICD_TYPER.LPIS=1 matters.
//
// SPIs: a device drives an input line (set_spi_level: PCI INTx through the host bridge's
// interrupt-map). An SPI is pending while its line is high if GICD_ICFGR says
// level-sensitive, or from a rising edge (or a GICD_ISPENDR write) until it is
// acknowledged (or cleared by GICD_ICPENDR) if edge-triggered; a level-sensitive SPI whose
// pending latch software cleared stays pending while the line is high (§4.1.1). It is
// offered to a CPU interface when pending, enabled, not active, Group 1 and routed there
// by GICD_IROUTER<n> with affinity routing (ARE=1): IRM=0 names one PE's affinity;
// IRM=1 (1 of N) offers it to every PE and the first to acknowledge takes it. Acknowledge
// makes it active (an edge latch clears), deactivation (EOI with EOImode=0, or
// ICC_DIR_EL1) ends it.
//
// INTIDs 0..255 exist, as QEMU 7.2 virt advertises: GICD_TYPER.ITLinesNumber = 7, 224
// SPIs (Linux: "GICv3: 224 SPIs implemented"). QEMU gives its GIC num-irq = NUM_IRQS (256)
// + 32 and keeps state for INTIDs up to 287, but 7.2 subtracts the 32 private INTIDs
// before computing ITLinesNumber (fixed in QEMU 8.0, which advertises 256 SPIs); irqremap
// follows what 7.2 advertises, and the register bits of INTIDs past it are RAZ/WI, as
// the architecture makes those of unimplemented INTIDs (§12.9, each GICD_I*R<n>).
//
// Single security state, as QEMU virt without EL3: GICD_CTLR.DS reads as one.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

#include "remap/fields.h"
#include "remap/mmio.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

namespace gicd {
using fields::Access;
using fields::Field;
inline constexpr uint64_t CTLR = 0x0000, TYPER = 0x0004, IIDR = 0x0008, TYPER2 = 0x000C,
                          STATUSR = 0x0010, IGROUPR = 0x0080, ISENABLER = 0x0100,
                          ICENABLER = 0x0180, ISPENDR = 0x0200, ICPENDR = 0x0280,
                          ISACTIVER = 0x0300, ICACTIVER = 0x0380, IPRIORITYR = 0x0400,
                          ICFGR = 0x0C00, IGRPMODR = 0x0D00, IROUTER = 0x6000, PIDR2 = 0xFFE8;

// GICD_CTLR with DS=1 (§12.9.4).
inline constexpr Field CTLR_EnableGrp0{"EnableGrp0", 0, 0, Access::RW, "Enable Group 0 interrupts"};
inline constexpr Field CTLR_EnableGrp1{"EnableGrp1", 1, 1, Access::RW, "Enable Group 1 interrupts"};
inline constexpr Field CTLR_ARE{"ARE", 4, 4, Access::RW, "Affinity Routing Enable"};
inline constexpr Field CTLR_DS{"DS", 6, 6, Access::RO, "Disable Security: single security state"};
inline constexpr Field CTLR_E1NWF{"E1NWF", 7, 7, Access::RW, "Enable 1 of N wakeup"};
inline constexpr Field CTLR_RWP{"RWP", 31, 31, Access::RO, "Register Write Pending"};
inline constexpr Field kCtlrFields[] = {
    CTLR_EnableGrp0, CTLR_EnableGrp1,
    {"Rsvd", 3, 2, Access::Rsvd, "reserved"},
    CTLR_ARE,
    {"Rsvd", 5, 5, Access::Rsvd, "reserved"},
    CTLR_DS, CTLR_E1NWF,
    {"Rsvd", 30, 8, Access::Rsvd, "reserved"},
    CTLR_RWP,
};
static_assert(fields::well_formed(kCtlrFields, 32, true));
inline constexpr fields::Format kCtlr{"gicd-ctlr", "GICD_CTLR (single security state, DS=1)",
                                      "Arm IHI0069 §12.9.4", 32, kCtlrFields};

// GICD_TYPER (§12.9.38).
inline constexpr Field TYPER_ITLinesNumber{"ITLinesNumber", 4, 0, Access::RO,
                                           "SPI INTIDs supported: 32 * (N + 1) - 1"};
inline constexpr Field TYPER_CPUNumber{"CPUNumber", 7, 5, Access::RO,
                                       "PEs for legacy operation - 1 (ARE=1 ignores it)"};
inline constexpr Field TYPER_LPIS{"LPIS", 17, 17, Access::RO, "LPIs supported"};
inline constexpr Field TYPER_IDbits{"IDbits", 23, 19, Access::RO, "INTID bits - 1"};
inline constexpr Field TYPER_A3V{"A3V", 24, 24, Access::RO, "Affinity 3 valid"};
}  // namespace gicd

class Gicv3Distributor final : public MmioDevice {
 public:
  // intids: INTIDs below 1020 implemented, SGIs and PPIs included (a multiple of 32, 64 to
  // 1024; 256 as QEMU 7.2 virt). idbits: INTID bits (16 as QEMU).
  explicit Gicv3Distributor(unsigned cpus, unsigned intids = kVirtIntids, unsigned idbits = 16);
  static constexpr unsigned kVirtIntids = 256;

  std::string_view mmio_name() const override { return "GICD"; }
  uint64_t mmio_size() const override { return 0x1'0000; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  bool affinity_routing() const { return fields::get(ctlr_, gicd::CTLR_ARE) != 0; }
  bool group1_enabled() const { return fields::get(ctlr_, gicd::CTLR_EnableGrp1) != 0; }
  Trace& trace() { return trace_; }

  // --- SPIs (see above) ---
  // The input line of SPI INTID `intid` (32..): a device asserts or deasserts it.
  void set_spi_level(uint32_t intid, bool level);
  bool spi_pending(uint32_t intid) const;
  bool spi_active(uint32_t intid) const { return spi(intid) && bit(active_, intid); }
  // The highest-priority SPI offered to the PE with MPIDR affinity `affinity` (lowest
  // priority value, then lowest INTID).
  std::optional<std::pair<uint32_t, uint8_t>> highest_spi(uint64_t affinity) const;
  // ICC_IAR1_EL1 took SPI `intid`: active; an edge-triggered one stops being pending.
  void acknowledge_spi(uint32_t intid);
  // Deactivation (EOI with EOImode=0, ICC_DIR_EL1).
  void deactivate_spi(uint32_t intid);
  // Called after any change that may change what is offered (the machine re-evaluates the
  // CPUs' IRQ lines).
  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

  // Its part of a snapshot: GICD_CTLR, the per-INTID bitmaps (IGROUPR, ISENABLER,
  // ISPENDR latches, ISACTIVER, IGRPMODR), the SPI input lines, IPRIORITYR, ICFGR,
  // IROUTER.
  void state(snapshot::Io& io);
 private:
  uint32_t bitmap_reg(const std::array<uint32_t, 32>& m, uint64_t off, uint64_t base) const;
  // Whether INTID `intid` is an SPI this distributor implements (32 <= intid < intids_).
  bool spi(uint64_t intid) const { return intid >= 32 && intid < intids_; }
  static bool bit(const std::array<uint32_t, 32>& m, uint32_t intid) { return (m[intid / 32] >> (intid % 32)) & 1; }
  bool edge(uint32_t intid) const { return (cfg_[intid / 16] >> (2 * (intid % 16) + 1)) & 1; }
  // Pending as GICD_ISPENDR reads it: the latch, or a high line of a level-sensitive SPI.
  uint32_t pending_word(unsigned w) const;
  void changed() const {
    if (on_change_) on_change_();
  }
  void note(EventKind kind, uint64_t offset, unsigned size, uint64_t value) const;

  unsigned cpus_;
  unsigned intids_;
  unsigned idbits_;
  uint32_t ctlr_ = 0;
  // One bit per INTID 0..1023, 32 per word (IGROUPR, ISENABLER, ...).
  std::array<uint32_t, 32> group_{}, enabled_{}, pending_{}, active_{}, grpmod_{};
  std::array<uint32_t, 32> level_{};  // SPI input lines
  std::array<uint8_t, 1024> priority_{};
  std::array<uint32_t, 64> cfg_{};
  std::array<uint64_t, 1024> router_{};
  Trace trace_;
  std::function<void()> on_change_;
};

}  // namespace irqremap::arm64
