// The VT-d unit's part of a machine snapshot (snapshot/state_io.h).
//
// Saved: every register software can read or that holds written state (§11.4: GSTS, FSTS,
// FECTL/FEDATA/FEADDR/FEUADDR, IQH/IQT/IQA, ICS, IECTL/IEDATA/IEADDR/IEUADDR, IRTA, the
// FRCDs, RTADDR, CCMD, IVA, IOTLB_REG); what SIRTP latched (§6.5.3 / §11.4.4.1: the
// interrupt remapping table hardware uses is the one latched by the last SIRTP, not the
// IRTA value now), what QIE latched (§6.5.2: the queue's base, size and descriptor width
// as IQA held them when QIE was set), what TE/SRTP latched, the next fault recording
// register (§7.4.1: FRCDs are used round-robin) and the statistics.
//
// GCMD is write-only and its one-shot commands complete at the write, so nothing of it is
// pending between instructions. VER/CAP/ECAP are the configuration's (the machine's
// snapshot_configuration names it), not saved. GSTS.IRES/CFIS are the IrState's ire/cfis.
//
// The interrupt entry cache is saved, slot by slot, as the raw IRTEs it holds: §6.5.2.7
// lets hardware drop any IEC entry at any time (software must invalidate after changing
// an IRTE and must not rely on a stale entry), so dropping it would be architecturally
// correct, but this model makes the cache observable on purpose (CacheHit/CacheMiss trace
// events, the stale-IRTE hazard of a missing invalidation, RemapStats), and a restored run
// must trace what the uninterrupted one traces. Each slot's decoded outcome is derived: it
// is decoded again from the IRTE under the restored IrState (same SIRTP epoch), and a slot
// decoded under an earlier SIRTP is marked stale as it was (translate() then decodes its
// IRTE again, as before the save).
//
// The context cache and the IOTLB are dropped on restore: the VT-d spec (§6.5.1 and
// §6.5.2, "Invalidation of Translation Caches"; §6.1 caching mode) lets hardware evict
// context-cache and IOTLB entries at any time, and software that follows the invalidation
// rules sees the same translations from the tables in memory. The x86 machine runs with
// both caches off (X86MachineConfig::vtd_config), so no trace event depends on them there.
#include <algorithm>
#include <bit>

#include "snapshot/state_io.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/qi_format.h"
#include "remap/vtd/unit.h"

namespace irqremap::vtd {

void Unit::state(snapshot::Io& io) {
  snapshot::Io::Group unit(io, "vtd");
  {
    snapshot::Io::Group g(io, "registers");
    io.field("GSTS", gsts_);
    io.field("FSTS", fsts_);
    io.field("FECTL", fectl_);
    io.field("FEDATA", fedata_);
    io.field("FEADDR", feaddr_);
    io.field("FEUADDR", feuaddr_);
    io.field("IQH", iqh_);
    io.field("IQT", iqt_);
    io.field("IQA", iqa_);
    io.field("ICS", ics_);
    io.field("IECTL", iectl_);
    io.field("IEDATA", iedata_);
    io.field("IEADDR", ieaddr_);
    io.field("IEUADDR", ieuaddr_);
    io.field("IRTA", irta_);
    io.field("RTADDR", rtaddr_);
    io.field("CCMD", ccmd_);
    io.field("IVA", iva_);
    io.field("IOTLB_REG", iotlb_reg_);
    const size_t n = io.count("FRCD", frcd_.size(), reg::kMaxFaultRecords);
    io.check(n == frcd_.size(), "the number of fault recording registers is not this unit's CAP.NFR + 1");
    for (size_t i = 0; i < n && i < frcd_.size(); ++i) {
      snapshot::Io::Group r(io, "FRCD");
      io.field("lo", frcd_[i][0]);
      io.field("hi", frcd_[i][1]);
    }
  }
  {
    // What SIRTP latched (§11.4.4.1 "Set Interrupt Remap Table Pointer").
    snapshot::Io::Group g(io, "sirtp");
    io.field("IRTA_base", ir_.irt_base);
    io.field("IRTA_entries", ir_.irt_entries);
    io.field("EIME", ir_.eime);
    io.field("epoch", epoch_);
    io.check((ir_.irt_base & 0xFFF) == 0, "the latched interrupt remapping table is not 4 KiB aligned");
    io.check(ir_.irt_entries == 0 || (std::has_single_bit(ir_.irt_entries) && ir_.irt_entries <= (uint64_t{1} << 16)),
             "the latched interrupt remapping table size is not 2^(S+1) entries");
  }
  {
    // What QIE latched (§6.5.2 "Queued Invalidation").
    snapshot::Io::Group g(io, "qie");
    io.field("IQA_base", iq_base_);
    io.field("IQA_entries", iq_entries_);
    io.field("DW", iq_dw_);
    io.check((iq_base_ & 0xFFF) == 0, "the latched invalidation queue is not 4 KiB aligned");
    io.check(std::has_single_bit(iq_entries_) && iq_entries_ >= 128 && iq_entries_ <= (uint64_t{1} << 15),
             "the latched invalidation queue size is not one IQA.QS can give");
    io.check((iqh_ >> (iq_dw_ ? 5 : 4)) < iq_entries_, "IQH points past the end of the queue");
  }
  {
    // What SRTP and TE latched (§11.4.4.1).
    snapshot::Io::Group g(io, "dma");
    io.field("TES", dma_.te);
    io.field("RTADDR_latched", dma_.root_table);
  }
  {
    snapshot::Io::Group g(io, "fault_recording");
    uint32_t next = next_frcd_;
    io.field("next_FRCD", next);
    if (io.check(next < frcd_.size(), "the next fault recording register is past CAP.NFR")) next_frcd_ = next;
  }
  {
    snapshot::Io::Group g(io, "stats");
    io.field("translations", stats_.translations);
    io.field("cache_hits", stats_.cache_hits);
    io.field("cache_misses", stats_.cache_misses);
    io.field("invalidations", stats_.invalidations);
    io.field("faults", stats_.faults);
  }
  {
    snapshot::Io::Group g(io, "iec");
    struct Saved {
      uint32_t index;
      bool current;
      Irte irte;
    };
    std::vector<Saved> slots;
    if (io.saving())
      iec_.for_each([&](const IecSlot& s, const Irte& irte) { slots.push_back({s.index, s.epoch == epoch_, irte}); });
    const size_t n = io.count("slots", slots.size(), iec_.capacity());
    if (io.loading()) slots.assign(n, Saved{});
    for (Saved& s : slots) {
      snapshot::Io::Group e(io, "slot");
      io.field("index", s.index);
      io.field("current", s.current);
      io.field("IRTE_lo", s.irte[0]);
      io.field("IRTE_hi", s.irte[1]);
      io.check(s.index < (uint32_t{1} << 16), "an IEC slot holds an interrupt index above 0xFFFF");
    }
    if (io.loading() && io.ok()) {
      ir_.ire = (gsts_ & (uint32_t{1} << gcmd::IRES.lo)) != 0;
      ir_.cfis = (gsts_ & (uint32_t{1} << gcmd::CFIS.lo)) != 0;
      iec_.invalidate_all();
      ctx_cache_.invalidate_all();
      iotlb_.invalidate_all();
      for (const Saved& s : slots)
        iec_.insert(s.index, s.irte, check_irte_entry(s.irte, ir_), s.current ? epoch_ : epoch_ - 1);
    }
  }
}

}  // namespace irqremap::vtd
