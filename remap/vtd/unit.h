#pragma once
// The VT-d remapping unit (Intel VT-d spec rev 5.10 chapters 3, 5, 6, 7, 9, 11): its
// register file as an MmioDevice, its MSI path as a Remapper, and DMA remapping in legacy
// mode through translate_dma() (the walks are in dma_walk.h).
//
// Wiring (a machine or a test):
//   GuestMemory mem; Trace trace; MyApics apics;            // apics implements ApicBus
//   vtd::Unit iommu(mem, apics, trace, vtd::Config{.iec_entries = 64});
//   map iommu (MmioDevice, mmio_size() bytes) at the DMAR unit's base (e.g. 0xFED90000);
//   route every device MSI (MsiWrite{address, data, requester ID}) to iommu.translate(),
//   and every bus master's DMA to iommu.translate_dma(requester ID, address, size, write).
// translate() delivers to the ApicBus itself (remapped, passed-through, posted
// notification), as do the fault event (FECTL/FEDATA/FEADDR) and the invalidation
// completion event (IECTL/IEDATA/IEADDR).
//
// Decisions the spec leaves open, made once here:
//  - GCMD: bits are processed against GSTS; a write changing more than one persistent
//    bit (or a one-shot plus another) is carried out in the order SIRTP, QIE, IRE, CFI
//    and reported as a Hazard (§11.4.4.1 asks for one bit per write).
//  - IRE=1 before any SIRTP (GSTS.IRTPS=0) is ignored: IRES stays 0 and the trace says
//    "perform SIRTP first" (§11.4.4.1 requires SIRTP before IRE), so no table at an
//    unset address is ever walked.
//  - Disabling QI while IQH != IQT is refused (QIES stays 1), as QEMU does.
//  - The IEC also caches non-present entries (like real hardware, asterinas PR #2645).
//  - Fault collapsing: a fault with the SID and reason of a pending record (F=1) is not
//    recorded again.
//  - TE=1 before any SRTP (GSTS.RTPS=0) is ignored like IRE=1 before SIRTP.
//  - DMA faults are collapsed like interrupt-remapping faults (same SID and reason as a
//    pending record); FRCD.FI holds the faulting page address, FRCD.T the access type.
//  - Register-based invalidation (CCMD, IOTLB_REG) while QI is enabled is carried out and
//    flagged as a Hazard (§6.5 asks software to use one interface at a time).
//  - WBF: nothing is buffered (CAP.RWBF=0), so GSTS.WBFS never stays set.
#include <array>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/mmio.h"
#include "remap/remapper.h"
#include "remap/fields.h"
#include "remap/trace.h"
#include "remap/vtd/apic_bus.h"
#include "remap/vtd/dma_cache.h"
#include "remap/vtd/dma_walk.h"
#include "remap/vtd/interrupt_entry_cache.h"
#include "remap/vtd/irte_walk.h"
#include "remap/vtd/registers.h"
#include "remap/vtd/trace_event.h"
#include "remap/vtd/unit_config.h"

namespace irqremap::snapshot {
class Io;
}

namespace irqremap::vtd {

class Unit final : public MmioDevice, public Remapper {
 public:
  Unit(GuestMemory& memory, ApicBus& bus, Trace& trace, Config config = {});

  // MmioDevice
  std::string_view mmio_name() const override { return "vtd"; }
  uint64_t mmio_size() const override { return reg::kWindow; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // The unit's part of a machine snapshot (snapshot/state_io.h): every
  // register, the state SIRTP and QIE latched, the fault recording position and the
  // interrupt entry cache (unit_state.cpp).
  void state(snapshot::Io& io);

  // Remapper
  std::string_view unit_name() const override { return "vtd"; }
  Translation translate(const MsiWrite& msi) override;
  void invalidate_all() override;
  RemapStats stats() const override { return stats_; }
  std::vector<Mapping> mappings() const override;

  // Host-side views (no side effects), for tools, dumps and tests.
  const Config& config() const { return config_; }
  const IrState& ir_state() const { return ir_; }
  uint32_t gsts() const { return gsts_; }
  uint32_t fsts() const { return fsts_; }
  // FRCD i as two 64-bit words (low first).
  std::array<uint64_t, 2> fault_record(unsigned i) const { return frcd_.at(i); }
  unsigned fault_records() const { return unsigned(frcd_.size()); }
  uint64_t cap() const { return cap_; }
  uint64_t ecap() const { return ecap_; }

  // --- DMA remapping (chapter 3, legacy mode) ---
  // Translates one request of `size` bytes from requester `sid` at `iova`: the result is
  // the host-physical address of iova and how many bytes from there are contiguous (up to
  // the end of the page, at most size); the caller continues at iova + length. With
  // GSTS.TES=0 addresses pass untranslated. A fault is recorded in the FRCDs unless the
  // context entry's FPD suppresses it (qualified reasons only), and returned.
  struct DmaMapping {
    uint64_t pa = 0;
    uint64_t length = 0;
  };
  std::expected<DmaMapping, DmaFault> translate_dma(uint16_t sid, uint64_t iova, uint64_t size, bool write);
  bool dma_enabled() const { return dma_.te; }
  uint64_t root_table() const { return dma_.root_table; }
  std::size_t context_cache_size() const { return ctx_cache_.size(); }
  std::size_t iotlb_size() const { return iotlb_.size(); }
  const DmaCaps& dma_caps() const { return dma_caps_; }

 private:
  enum class NotRecorded : uint8_t { No, Fpd, Overflow, Collapsed };

  // registers
  uint64_t read_reg(uint64_t off) const;
  void write_reg(uint64_t off, uint64_t merged, uint64_t written);
  void write_gcmd(uint32_t value);
  void write_fsts(uint32_t w1c);
  void write_frcd(unsigned index, unsigned byte, unsigned size, uint64_t value);
  void trace_write(std::string_view name, uint64_t value, const fields::Format* format);

  // translation
  Translation fault(uint8_t reason, std::optional<uint32_t> index, uint16_t sid, bool fpd,
                    std::string_view why);
  Translation post_interrupt(const IrteOutcome& o, uint32_t index, uint16_t sid);
  // translate()'s trace events, out of line so the hot path stays small.
  [[gnu::cold, gnu::noinline]] void trace_iec_hit(uint32_t index, const Irte& irte) const;
  [[gnu::cold, gnu::noinline]] void trace_remapped(const MsiWrite& msi, uint32_t index,
                                                   const ApicDelivery& d) const;
  bool read_irte(uint32_t index, Irte& out) const;
  // mappings(): IRTE `index` as a listing line, when it is present.
  void list_irte(uint32_t index, std::vector<Mapping>& out) const;

  // fault recording and events (§7.4.1)
  // fi: FRCD word 0 bits 63:12 as they are to be stored; read: FRCD.T.
  NotRecorded record_fault(uint8_t reason, uint16_t sid, uint64_t fi, bool read = false);
  std::unexpected<DmaFault> dma_fault(DmaFault f, uint16_t sid, uint64_t iova, bool write);

  // DMA-remapping registers and invalidations (§6.5.1, §6.5.2.1, §6.5.2.3)
  void write_ccmd(uint64_t value);
  void write_iotlb(uint64_t value);
  std::optional<std::string> invalidate_context(unsigned g, uint16_t did, uint16_t sid, unsigned fm,
                                                std::string_view via);
  std::optional<std::string> invalidate_iotlb(unsigned g, uint16_t did, uint64_t addr, unsigned am,
                                              std::string_view via);
  void update_ppf();
  void status_raised(uint32_t old_fsts);
  void send_event(std::string_view what, uint32_t& ctl, uint32_t data, uint32_t addr,
                  uint32_t uaddr);

  // queued invalidation (§6.5.2)
  void process_queue();
  std::optional<std::string> execute_descriptor(std::span<const uint64_t> d, unsigned words);
  void queue_error(std::string why);

  GuestMemory& mem_;
  ApicBus& bus_;
  Trace& trace_;
  Config config_;
  InterruptEntryCache iec_;
  RemapStats stats_;
  IrState ir_;
  uint32_t epoch_ = 0;  // bumped when ir_ changes what an IRTE decodes to (SIRTP)

  uint64_t cap_ = 0, ecap_ = 0;
  uint32_t gsts_ = 0, fsts_ = 0;
  uint32_t fectl_, fedata_ = 0, feaddr_ = 0, feuaddr_ = 0;
  uint32_t ics_ = 0, iectl_, iedata_ = 0, ieaddr_ = 0, ieuaddr_ = 0;
  uint64_t iqh_ = 0, iqt_ = 0, iqa_ = 0, irta_ = 0;
  std::vector<std::array<uint64_t, 2>> frcd_;
  // DMA remapping: registers, the state latched by SRTP/TE, and the caches
  uint64_t rtaddr_ = 0, ccmd_ = 0, iva_ = 0, iotlb_reg_ = 0;
  struct DmaState {
    bool te = false;
    uint64_t root_table = 0;  // latched by SRTP
  } dma_;
  DmaCaps dma_caps_;
  ContextCache ctx_cache_;
  Iotlb iotlb_;
  unsigned next_frcd_ = 0;
  // latched at QIE=1
  uint64_t iq_base_ = 0, iq_entries_ = 256;
  bool iq_dw_ = false;
};

}  // namespace irqremap::vtd
