#include "arch/arm64/gicv3_redistributor.h"

#include <algorithm>
#include <bit>
#include <fmt/format.h>

#include "arch/arm64/virt_map.h"

namespace irqremap::arm64 {

using namespace gicr;
namespace lpi = its::lpi;

Gicv3Redistributor::Gicv3Redistributor(GuestMemory& mem, uint32_t processor_number,
                                       uint64_t affinity, bool last, Trace& trace,
                                       unsigned id_bits)
    : mem_(mem),
      processor_number_(processor_number),
      affinity_(affinity),
      last_(last),
      trace_(trace),
      unit_(fmt::format("gicr{}", processor_number)),
      id_bits_(std::clamp(id_bits, 14u, 32u)) {
  view_.trace = &trace_;
}

uint64_t Gicv3Redistributor::typer() const {
  uint64_t t = fields::set(0, TYPER_PLPIS, 1);
  t = fields::set(t, TYPER_Last, last_ ? 1 : 0);
  t = fields::set(t, TYPER_Processor_Number, processor_number_);
  // Affinity_Value is Aff3.Aff2.Aff1.Aff0; MPIDR keeps Aff3 in bits 39:32.
  const uint64_t aff = (affinity_ & 0xFF'FFFF) | (((affinity_ >> 32) & 0xFF) << 24);
  return fields::set(t, TYPER_Affinity_Value, aff);
}

uint64_t Gicv3Redistributor::prop_pa() const {
  return fields::get(propbaser_, lpi::PROPBASER_Physical_Address) << 12;
}
uint64_t Gicv3Redistributor::pend_pa() const {
  return fields::get(pendbaser_, lpi::PENDBASER_Physical_Address) << 16;
}

uint64_t Gicv3Redistributor::compute_limit() const {
  const uint64_t idbits = fields::get(propbaser_, lpi::PROPBASER_IDbits);
  if (idbits < 13) return lpi::kFirstLpi;  // fewer than 14 INTID bits: no LPI in range
  return uint64_t{1} << std::min<uint64_t>(idbits + 1, id_bits_);
}

std::size_t Gicv3Redistributor::lpi_host_bytes() const {
  return config_cache_.capacity() * sizeof(uint32_t) +
         summary_.capacity() * sizeof(uint64_t) + pend_fallback_.capacity() * sizeof(uint64_t);
}

uint8_t Gicv3Redistributor::read_config(uint32_t intid) const {
  auto b = mem_.read8(prop_pa() + (intid - lpi::kFirstLpi));
  if (!b)
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, unit_,
                   fmt::format("LPI {} config byte: {}; treated as disabled", intid,
                               b.error().describe()),
                   {{"intid", intid}}};
    });
  return b ? *b : 0;
}

void Gicv3Redistributor::cache_config(uint32_t intid, uint8_t config) const {
  const std::size_t mask = config_cache_.size() - 1;
  config_cache_[intid & mask] = 0x8000'0000u | (intid >> config_shift_) << 8 | config;
}

uint8_t Gicv3Redistributor::config_byte(uint32_t intid) const {
  const uint32_t e = config_cache_[intid & (config_cache_.size() - 1)];
  if ((e & 0x8000'0000u) != 0 && ((e >> 8) & 0x7F'FFFF) == intid >> config_shift_)
    return uint8_t(e);
  const uint8_t b = read_config(intid);
  cache_config(intid, b);
  return b;
}

void Gicv3Redistributor::changed() {
  hpp_valid_ = false;
  if (on_change_) on_change_();
}

bool Gicv3Redistributor::write_propbaser(uint64_t value) {
  if (enable_lpis_) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, unit_,
                   fmt::format("GICR_PROPBASER write {:#x} ignored: EnableLPIs=1 (IHI0069 "
                               "§12.11.30: UNPREDICTABLE)", value),
                   {{"value", value}}};
    });
    return false;
  }
  // Reserved bits read as zero.
  uint64_t keep = 0;
  for (const fields::Field& f : lpi::kPropbaserFields)
    if (f.access != fields::Access::Rsvd) keep |= f.word_mask();
  propbaser_ = value & keep;
  return true;
}

bool Gicv3Redistributor::write_pendbaser(uint64_t value) {
  if (enable_lpis_) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, unit_,
                   fmt::format("GICR_PENDBASER write {:#x} ignored: EnableLPIs=1 (IHI0069 "
                               "§12.11.29: UNPREDICTABLE)", value),
                   {{"value", value}}};
    });
    return false;
  }
  ptz_ = fields::get(value, lpi::PENDBASER_PTZ) != 0;
  uint64_t keep = 0;
  for (const fields::Field& f : lpi::kPendbaserFields)
    if (f.access != fields::Access::Rsvd && f.access != fields::Access::WO) keep |= f.word_mask();
  pendbaser_ = value & keep;  // PTZ is write-only: reads as zero
  return true;
}

void Gicv3Redistributor::set_enable_lpis(bool enable) {
  if (enable == enable_lpis_) return;
  enable_lpis_ = enable;
  if (enable) {
    lpi_limit_ = compute_limit();
    const uint64_t n = lpi_limit_ - lpi::kFirstLpi;
    // Direct-mapped by INTID: the low bits index, the rest is the tag (23 bits hold the
    // 32 - 14 = 18 bits left at the smallest shift).
    const uint64_t entries = std::min<uint64_t>(std::max<uint64_t>(n, 1), kConfigCacheEntries);
    config_cache_.assign(std::bit_ceil(entries), 0);
    config_shift_ = unsigned(std::countr_zero(config_cache_.size()));
    attach_pending_table();
    view_.table = pend_;
    view_.limit = lpi_limit_;
    trace_.emit_lazy([&] {
      return Event{EventKind::RegWrite, unit_,
                   fmt::format("EnableLPIs=1: {} LPIs (INTID {}..{}), config at {:#x}, pending "
                               "table at {:#x}{}",
                               n, lpi::kFirstLpi, lpi_limit_ - 1, prop_pa(), pend_pa(),
                               ptz_ ? " (PTZ=1: not read)" : ""),
                   {{"lpis", n}, {"ptz", ptz_ ? 1u : 0u}}};
    });
  } else {
    std::vector<uint32_t>().swap(config_cache_);
    std::vector<uint64_t>().swap(summary_);
    std::vector<uint64_t>().swap(pend_fallback_);
    pend_ = nullptr;
    lpi_limit_ = lpi::kFirstLpi;
    view_.table = nullptr;
    view_.limit = 0;
    trace_.emit_lazy([&] {
      return Event{EventKind::RegWrite, unit_,
                   "EnableLPIs=0: LPIs off; pending state stays in the guest's pending table",
                   {}};
    });
  }
  // The table may be re-read on the next enable; a later PTZ must be written again.
  ptz_ = false;
  changed();
  if (on_enable_change_) on_enable_change_(enable);
}

void Gicv3Redistributor::attach_pending_table() {
  const uint64_t n = lpi_limit_ - lpi::kFirstLpi;
  const uint64_t words = n / 64;  // n is a power of two >= 8192
  summary_.assign((words + 63) / 64, 0);
  pend_fallback_.clear();
  // The table covers INTIDs from 0 (Arm IHI0069 §5.1.2: one pending bit per INTID); only
  // the LPI part is ever touched.
  pend_ = mem_.host_ptr(pend_pa(), lpi_limit_ / 8);
  if (pend_ == nullptr) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, unit_,
                   fmt::format("pending table {:#x}+{:#x} is outside guest RAM: pending state "
                               "is kept inside the redistributor", pend_pa(), lpi_limit_ / 8),
                   {{"address", pend_pa()}}};
    });
    pend_fallback_.assign(lpi_limit_ / 64, 0);
    pend_ = reinterpret_cast<std::byte*>(pend_fallback_.data());
    return;
  }
  const uint64_t first = lpi::kFirstLpi / 64;
  for (uint64_t w = 0; w < words; ++w) {
    std::byte* p = pend_ + (first + w) * 8;
    // Reading first keeps untouched guest pages unallocated when PTZ says they are zero.
    if (bits::load_le<uint64_t>(p) == 0) continue;
    if (ptz_)
      bits::store_le<uint64_t>(p, 0);
    else
      summary_[w / 64] |= uint64_t{1} << (w % 64);
  }
}

bool Gicv3Redistributor::set_pending(uint32_t intid) {
  if (!enable_lpis_ || intid < lpi::kFirstLpi || intid >= lpi_limit_) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, unit_,
                   fmt::format("LPI {} dropped: {}", intid,
                               !enable_lpis_ ? "GICR_CTLR.EnableLPIs=0"
                                             : "INTID outside GICR_PROPBASER.IDbits"),
                   {{"intid", intid}}};
    });
    return false;
  }
  std::byte* p = pending_word(intid);
  const uint64_t word = bits::load_le<uint64_t>(p);
  const uint64_t bit = uint64_t{1} << (intid % 64);
  if (word & bit) {
    // Already pending: an LPI has no count (IHI0069 §5.1), so nothing changes and nobody
    // is told (a doorbell storm must not cost a re-evaluation per write).
    trace_.emit_lazy([&] {
      return Event{EventKind::Delivery, unit_, fmt::format("LPI {} pending (already)", intid),
                   {{"intid", intid}, {"rd", processor_number_}}};
    });
    return true;
  }
  bits::store_le<uint64_t>(p, word | bit);
  const uint32_t w = intid / 64 - lpi::kFirstLpi / 64;
  summary_[w / 64] |= uint64_t{1} << (w % 64);
  // Keep the cached highest pending LPI current without a rescan when possible.
  if (hpp_valid_) {
    const uint8_t cfg = config_byte(intid);
    if (fields::get(cfg, lpi::CFG_Enable)) {
      const uint8_t prio = uint8_t(cfg & 0xFC);
      if (!hpp_ || prio < hpp_->priority || (prio == hpp_->priority && intid < hpp_->intid))
        hpp_ = PendingIrq{intid, prio};
    }
    if (on_change_) on_change_();
  } else {
    changed();
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, unit_, fmt::format("LPI {} pending", intid),
                 {{"intid", intid}, {"rd", processor_number_}}};
  });
  return true;
}

void Gicv3Redistributor::clear_pending(uint32_t intid) {
  if (!enable_lpis_ || intid < lpi::kFirstLpi || intid >= lpi_limit_) return;
  std::byte* p = pending_word(intid);
  const uint64_t word = bits::load_le<uint64_t>(p);
  const uint64_t bit = uint64_t{1} << (intid % 64);
  if ((word & bit) == 0) return;
  bits::store_le<uint64_t>(p, word & ~bit);
  if ((word & ~bit) == 0) {
    const uint32_t w = intid / 64 - lpi::kFirstLpi / 64;
    summary_[w / 64] &= ~(uint64_t{1} << (w % 64));
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, unit_, fmt::format("LPI {} pending state cleared", intid),
                 {{"intid", intid}}};
  });
  changed();
}

bool Gicv3Redistributor::is_pending(uint32_t intid) const {
  if (!enable_lpis_ || intid < lpi::kFirstLpi || intid >= lpi_limit_) return false;
  return (bits::load_le<uint64_t>(pending_word(intid)) >> (intid % 64)) & 1;
}

std::vector<uint32_t> Gicv3Redistributor::pending_lpis() const {
  std::vector<uint32_t> out;
  const uint32_t first = lpi::kFirstLpi / 64;
  for (uint32_t s = 0; s < summary_.size(); ++s)
    for (uint64_t sm = summary_[s]; sm != 0; sm &= sm - 1) {
      const uint32_t w = first + s * 64 + unsigned(std::countr_zero(sm));
      for (uint64_t m = bits::load_le<uint64_t>(pend_ + uint64_t(w) * 8); m != 0; m &= m - 1)
        out.push_back(w * 64 + unsigned(std::countr_zero(m)));
    }
  return out;
}

void Gicv3Redistributor::reload_config(uint32_t intid) {
  if (!enable_lpis_ || intid < lpi::kFirstLpi || intid >= lpi_limit_) return;
  const uint8_t b = read_config(intid);
  cache_config(intid, b);
  trace_.emit_lazy([&] {
    return Event{EventKind::TableRead, unit_,
                 fmt::format("LPI {} config {:#04x}: Priority {:#x} Enable {}", intid, b,
                             b & 0xFC, b & 1),
                 {{"intid", intid}, {"config", b}}};
  });
  changed();
}

void Gicv3Redistributor::adopt_config(uint32_t intid, uint8_t config) {
  if (!enable_lpis_ || intid < lpi::kFirstLpi || intid >= lpi_limit_) return;
  cache_config(intid, config);
  changed();
}

void Gicv3Redistributor::reload_all_config() {
  if (!enable_lpis_) return;
  // Forgetting every cached byte is re-reading them all: each is read from the table the
  // next time it is needed.
  std::fill(config_cache_.begin(), config_cache_.end(), 0);
  trace_.emit_lazy([&] {
    return Event{EventKind::TableRead, unit_,
                 fmt::format("LPI configuration table at {:#x} ({} LPIs) to be re-read",
                             prop_pa(), lpi_limit_ - lpi::kFirstLpi),
                 {{"address", prop_pa()}, {"count", lpi_limit_ - lpi::kFirstLpi}}};
  });
  changed();
}

uint8_t Gicv3Redistributor::config(uint32_t intid) const {
  if (!enable_lpis_ || intid < lpi::kFirstLpi || intid >= lpi_limit_) return 0;
  return config_byte(intid);
}

uint32_t Gicv3Redistributor::level_sensitive() const {
  // ICFGR1: bit 2n+1 set = PPI 16+n edge-triggered (IHI0069 §12.11, GICR_ICFGR1); SGIs are always edge.
  uint32_t level = 0;
  for (unsigned n = 0; n < 16; ++n)
    if (((icfgr1_ >> (2 * n + 1)) & 1) == 0) level |= 1u << (16 + n);
  return level;
}

uint32_t Gicv3Redistributor::sgi_ppi_pending() const {
  return latch0_ | (level0_ & level_sensitive());
}

void Gicv3Redistributor::sgi_ppi_changed() {
  if (on_change_) on_change_();
}

std::optional<PendingIrq> Gicv3Redistributor::highest_sgi_ppi() const {
  std::optional<PendingIrq> best;
  for (uint32_t m = sgi_ppi_pending() & enabled0_ & ~active0_ & group0_; m != 0; m &= m - 1) {
    const unsigned id = unsigned(std::countr_zero(m));
    if (!best || priority0_[id] < best->priority) best = PendingIrq{id, priority0_[id]};
  }
  return best;
}

std::optional<PendingIrq> Gicv3Redistributor::highest_pending() const {
  const auto s = highest_sgi_ppi();
  const auto l = highest_lpi();
  if (!s) return l;
  if (!l) return s;
  return l->priority < s->priority ? l : s;  // a tie goes to the lower INTID: the SGI/PPI
}

std::optional<PendingIrq> Gicv3Redistributor::highest_lpi() const {
  if (hpp_valid_) return hpp_;
  std::optional<PendingIrq> best;
  const uint32_t first = lpi::kFirstLpi / 64;
  for (uint32_t s = 0; s < summary_.size(); ++s)
    for (uint64_t sm = summary_[s]; sm != 0; sm &= sm - 1) {
      const uint32_t w = first + s * 64 + unsigned(std::countr_zero(sm));
      for (uint64_t m = bits::load_le<uint64_t>(pend_ + uint64_t(w) * 8); m != 0; m &= m - 1) {
        const uint32_t intid = w * 64 + unsigned(std::countr_zero(m));
        const uint8_t cfg = config_byte(intid);
        if (!fields::get(cfg, lpi::CFG_Enable)) continue;
        const uint8_t prio = uint8_t(cfg & 0xFC);
        if (!best || prio < best->priority) best = PendingIrq{intid, prio};
      }
    }
  hpp_ = best;
  hpp_valid_ = true;
  return best;
}

std::optional<PendingIrq> Gicv3Redistributor::acknowledge() {
  const auto hp = highest_pending();
  if (!hp) return std::nullopt;
  ++acks_;
  if (hp->intid < 32) {
    // IHI0069 §4.1: pending -> active (a level PPI whose line is still high is active and pending).
    const uint32_t bit = 1u << hp->intid;
    latch0_ &= ~bit;
    active0_ |= bit;
    trace_.emit_lazy([&] {
      return Event{EventKind::Delivery, unit_,
                   fmt::format("{} {} acknowledged: active (priority {:#x})", hp->intid < 16 ? "SGI" : "PPI",
                               hp->intid, hp->priority),
                   {{"intid", hp->intid}, {"priority", hp->priority}}};
    });
    sgi_ppi_changed();
    return hp;
  }
  clear_pending(hp->intid);
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, unit_,
                 fmt::format("LPI {} acknowledged (priority {:#x})", hp->intid, hp->priority),
                 {{"intid", hp->intid}, {"priority", hp->priority}}};
  });
  return hp;
}

void Gicv3Redistributor::eoi(uint32_t intid) {
  ++eois_;
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, unit_, fmt::format("LPI {} end of interrupt", intid),
                 {{"intid", intid}}};
  });
}

void Gicv3Redistributor::deactivate(uint32_t intid) {
  if (intid >= 32 || (active0_ & (1u << intid)) == 0) return;
  active0_ &= ~(1u << intid);
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, unit_, fmt::format("{} {} deactivated", intid < 16 ? "SGI" : "PPI", intid),
                 {{"intid", intid}}};
  });
  sgi_ppi_changed();
}

bool Gicv3Redistributor::send_sgi(uint32_t intid) {
  if (intid >= 16) return false;
  if ((group0_ & (1u << intid)) == 0) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, unit_,
                   fmt::format("SGI {} not set pending: the INTID is Group 0 here, the SGI Group 1", intid),
                   {{"intid", intid}}};
    });
    return false;
  }
  latch0_ |= 1u << intid;
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, unit_, fmt::format("SGI {} pending", intid),
                 {{"intid", intid}, {"rd", processor_number_}}};
  });
  sgi_ppi_changed();
  return true;
}

void Gicv3Redistributor::set_ppi_level(uint32_t intid, bool level) {
  if (intid < 16 || intid >= 32) return;
  const uint32_t bit = 1u << intid;
  if (((level0_ & bit) != 0) == level) return;
  level0_ = level ? (level0_ | bit) : (level0_ & ~bit);
  if (level && (level_sensitive() & bit) == 0) latch0_ |= bit;  // rising edge of an edge PPI
  sgi_ppi_changed();
}

void Gicv3Redistributor::trace_reg(EventKind kind, uint64_t offset, unsigned size,
                                   uint64_t value) const {
  trace_.emit_lazy([&] {
    return Event{kind, unit_,
                 fmt::format("{} GICR+{:#07x} size {} = {:#x}",
                             kind == EventKind::RegWrite ? "write" : "read", offset, size, value),
                 {{"offset", offset}, {"value", value}}};
  });
}

uint64_t Gicv3Redistributor::mmio_read(uint64_t offset, unsigned size) {
  uint64_t v = 0;
  const uint64_t reg8 = offset & ~uint64_t{7};
  const uint64_t reg4 = offset & ~uint64_t{3};
  if (reg8 == TYPER) {
    v = extract_read(typer(), unsigned(offset - reg8), size);
  } else if (reg8 == PROPBASER) {
    v = extract_read(propbaser_, unsigned(offset - reg8), size);
  } else if (reg8 == PENDBASER) {
    v = extract_read(pendbaser_, unsigned(offset - reg8), size);
  } else if (reg4 == CTLR) {
    v = fields::set(0, CTLR_EnableLPIs, enable_lpis_ ? 1 : 0);
  } else if (reg4 == IIDR) {
    v = 0x0100'143B;  // matches GICD_IIDR: implementer Arm
  } else if (reg4 == WAKER) {
    v = fields::set(fields::set(0, WAKER_ProcessorSleep, processor_sleep_),
                    WAKER_ChildrenAsleep, processor_sleep_);
  } else if (reg4 == PIDR2) {
    v = 0x3B;  // ArchRev 3: GICv3
  } else if (reg4 == IGROUPR0) {
    v = group0_;
  } else if (reg4 == ISENABLER0 || reg4 == ICENABLER0) {
    v = enabled0_;
  } else if (reg4 == ISPENDR0 || reg4 == ICPENDR0) {
    v = sgi_ppi_pending();
  } else if (reg4 == ISACTIVER0 || reg4 == ICACTIVER0) {
    v = active0_;
  } else if (offset >= IPRIORITYR && offset + size <= IPRIORITYR + 32) {
    for (unsigned i = 0; i < size; ++i) v |= uint64_t(priority0_[offset - IPRIORITYR + i]) << (8 * i);
  } else if (reg4 == ICFGR0) {
    v = 0xAAAA'AAAA;  // SGIs are edge-triggered, RO
  } else if (reg4 == ICFGR1) {
    v = icfgr1_;
  } else if (reg4 == IGRPMODR0) {
    v = grpmod0_;
  } else if (reg4 == NSACR) {
    v = nsacr_;
  }
  // Everything else (STATUSR, SETLPIR..SYNCR with DirectLPI=0, holes) reads as zero.
  if (size < 8 && !(offset >= IPRIORITYR && offset < IPRIORITYR + 32))
    v &= bits::mask(8 * size - 1, 0);
  trace_reg(EventKind::RegRead, offset, size, v);
  return v;
}

void Gicv3Redistributor::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  trace_reg(EventKind::RegWrite, offset, size, value);
  const uint64_t reg8 = offset & ~uint64_t{7};
  const uint64_t reg4 = offset & ~uint64_t{3};
  const uint32_t v32 = uint32_t(value);
  if (reg8 == PROPBASER) {
    write_propbaser(merge_write(propbaser_, unsigned(offset - reg8), size, value));
  } else if (reg8 == PENDBASER) {
    // A 32-bit write of the high half carries PTZ; keep the PTZ of the low half otherwise.
    const uint64_t old = pendbaser_ | (ptz_ ? lpi::PENDBASER_PTZ.word_mask() : 0);
    write_pendbaser(merge_write(old, unsigned(offset - reg8), size, value));
  } else if (reg4 == CTLR) {
    set_enable_lpis(fields::get(v32, CTLR_EnableLPIs) != 0);
  } else if (reg4 == WAKER) {
    processor_sleep_ = fields::get(v32, WAKER_ProcessorSleep) != 0;
  } else if (reg4 == IGROUPR0) {
    group0_ = v32;
    sgi_ppi_changed();
  } else if (reg4 == ISENABLER0) {
    enabled0_ |= v32;
    sgi_ppi_changed();
  } else if (reg4 == ICENABLER0) {
    enabled0_ &= ~v32;
    sgi_ppi_changed();
  } else if (reg4 == ISPENDR0) {
    latch0_ |= v32;
    sgi_ppi_changed();
  } else if (reg4 == ICPENDR0) {
    latch0_ &= ~v32;  // an asserted level stays pending (IHI0069 §12.11, GICR_ICPENDR0)
    sgi_ppi_changed();
  } else if (reg4 == ISACTIVER0) {
    active0_ |= v32;
    sgi_ppi_changed();
  } else if (reg4 == ICACTIVER0) {
    active0_ &= ~v32;
    sgi_ppi_changed();
  } else if (offset >= IPRIORITYR && offset + size <= IPRIORITYR + 32) {
    for (unsigned i = 0; i < size; ++i) priority0_[offset - IPRIORITYR + i] = uint8_t(value >> (8 * i));
    sgi_ppi_changed();
  } else if (reg4 == ICFGR1) {
    icfgr1_ = v32 & 0xAAAA'AAAA;  // Int_config<n>[1] per PPI; bit 0 of each pair is RES0
    sgi_ppi_changed();
  } else if (reg4 == IGRPMODR0) {
    grpmod0_ = v32;
  } else if (reg4 == NSACR) {
    nsacr_ = v32;
  } else {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, unit_,
                   fmt::format("write to GICR+{:#07x} ignored (RAZ/WI)", offset),
                   {{"offset", offset}}};
    });
  }
}

// --- Redistributors ---

Redistributors::Redistributors(GuestMemory& mem, unsigned cpus, uint64_t base,
                               std::function<uint64_t(unsigned)> affinity, unsigned id_bits)
    : base_(base) {
  for (unsigned n = 0; n < cpus; ++n) {
    const uint64_t aff = affinity ? affinity(n) : virt::mpidr_affinity(n);
    rds_.push_back(
        std::make_unique<Gicv3Redistributor>(mem, n, aff, n + 1 == cpus, trace_, id_bits));
    views_.push_back(&rds_.back()->pending_view());
  }
}

uint64_t Redistributors::mmio_read(uint64_t offset, unsigned size) {
  const uint64_t cpu = offset / kFrameSize;
  if (cpu >= rds_.size()) return 0;
  return rds_[cpu]->mmio_read(offset % kFrameSize, size);
}

void Redistributors::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  const uint64_t cpu = offset / kFrameSize;
  if (cpu >= rds_.size()) return;
  rds_[cpu]->mmio_write(offset % kFrameSize, size, value);
}

std::optional<uint32_t> Redistributors::rd_by_address(uint64_t rdbase) const {
  if (rdbase < base_ || (rdbase - base_) % kFrameSize != 0) return std::nullopt;
  const uint64_t n = (rdbase - base_) / kFrameSize;
  if (n >= rds_.size()) return std::nullopt;
  return uint32_t(n);
}

bool Redistributors::set_pending(uint32_t rd, uint32_t intid) {
  return rd < rds_.size() && rds_[rd]->set_pending(intid);
}

void Redistributors::clear_pending(uint32_t rd, uint32_t intid) {
  if (rd < rds_.size()) rds_[rd]->clear_pending(intid);
}

// A pending LPI that MOVI/MOVALL carries to another redistributor is the same interrupt,
// not a new one: the event says so, so a timeline can follow it to the CPU that takes it.
void Redistributors::trace_moved(uint32_t from, uint32_t to, uint32_t intid) {
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, fmt::format("gicr{}", to),
                 fmt::format("LPI {} pending state moved from RD {} to RD {}", intid, from, to),
                 {{"intid", intid}, {"from_rd", from}, {"rd", to}}};
  });
}

void Redistributors::move_pending(uint32_t from, uint32_t to, uint32_t intid) {
  if (from >= rds_.size() || to >= rds_.size() || from == to) return;
  Gicv3Redistributor& src = *rds_[from];
  Gicv3Redistributor& dst = *rds_[to];
  if (!src.lpis_enabled() || !dst.lpis_enabled()) return;
  dst.adopt_config(intid, src.config(intid));
  if (!src.is_pending(intid)) return;
  trace_moved(from, to, intid);
  src.clear_pending(intid);
  dst.set_pending(intid);
}

void Redistributors::move_all_pending(uint32_t from, uint32_t to) {
  if (from >= rds_.size() || to >= rds_.size() || from == to) return;
  Gicv3Redistributor& src = *rds_[from];
  Gicv3Redistributor& dst = *rds_[to];
  if (!src.lpis_enabled() || !dst.lpis_enabled()) return;
  for (uint32_t intid : src.pending_lpis()) {
    dst.adopt_config(intid, src.config(intid));
    trace_moved(from, to, intid);
    src.clear_pending(intid);
    dst.set_pending(intid);
  }
}

void Redistributors::reload_config(uint32_t rd, uint32_t intid) {
  if (rd < rds_.size()) rds_[rd]->reload_config(intid);
}

void Redistributors::reload_all_config(uint32_t rd) {
  if (rd < rds_.size()) rds_[rd]->reload_all_config();
}

std::optional<PendingIrq> Redistributors::highest_pending(uint32_t cpu) const {
  if (cpu >= rds_.size()) return std::nullopt;
  return rds_[cpu]->highest_pending();
}

std::optional<PendingIrq> Redistributors::acknowledge(uint32_t cpu) {
  if (cpu >= rds_.size()) return std::nullopt;
  return rds_[cpu]->acknowledge();
}

void Redistributors::eoi(uint32_t cpu, uint32_t intid) {
  if (cpu < rds_.size()) rds_[cpu]->eoi(intid);
}

void Redistributors::deactivate(uint32_t cpu, uint32_t intid) {
  if (cpu < rds_.size()) rds_[cpu]->deactivate(intid);
}

void Redistributors::set_on_change(std::function<void(uint32_t)> fn) {
  for (auto& rd : rds_) {
    const uint32_t n = rd->processor_number();
    rd->set_on_change(fn ? std::function<void()>([fn, n] { fn(n); }) : std::function<void()>());
  }
}

void Redistributors::set_on_enable_change(std::function<void(uint32_t, bool)> fn) {
  for (auto& rd : rds_) {
    const uint32_t n = rd->processor_number();
    rd->set_on_enable_change(fn ? std::function<void(bool)>([fn, n](bool e) { fn(n, e); })
                                : std::function<void(bool)>());
  }
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void Gicv3Redistributor::state(snapshot::Io& io) {
  bool enable = enable_lpis_;
  io.field("GICR_CTLR.EnableLPIs", enable);
  io.field("GICR_PROPBASER", propbaser_);
  io.field("GICR_PENDBASER", pendbaser_);
  io.field("GICR_PENDBASER.PTZ", ptz_);  // write-only: what the last write said
  io.field("GICR_WAKER.ProcessorSleep", processor_sleep_);
  io.field("GICR_IGROUPR0", group0_);
  io.field("GICR_ISENABLER0", enabled0_);
  io.field("GICR_ISACTIVER0", active0_);
  io.field("GICR_IGRPMODR0", grpmod0_);
  io.field("GICR_NSACR", nsacr_);
  io.field("GICR_ISPENDR0", latch0_);  // the pending latches
  io.field("ppi_lines", level0_);      // the PPI inputs (timers, PMU)
  io.field("GICR_ICFGR1", icfgr1_);
  io.bytes("GICR_IPRIORITYR", std::as_writable_bytes(std::span(priority0_)));
  io.field("acknowledged", acks_);
  io.field("eois", eois_);
  // Pending bits kept here because the table is outside guest RAM (attach_pending_table).
  std::vector<uint64_t> fallback = pend_fallback_;
  io.values("pending_fallback", fallback, (uint64_t{1} << id_bits_) / 64);
  if (!io.loading() || !io.ok()) return;
  enable_lpis_ = enable;
  hpp_valid_ = false;
  if (!enable_lpis_) {
    io.check(fallback.empty(), "pending bits kept with EnableLPIs=0");
    return;
  }
  // As set_enable_lpis(true) after the PENDBASER write, minus its events: the
  // configuration cache starts empty, the pending summary is read from the restored
  // table (PTZ was consumed by that enable, so the table is not cleared again).
  if (!io.check(!ptz_, "PTZ latched while EnableLPIs=1")) return;
  lpi_limit_ = compute_limit();
  const uint64_t n = lpi_limit_ - lpi::kFirstLpi;
  config_cache_.assign(std::bit_ceil(std::min<uint64_t>(std::max<uint64_t>(n, 1), kConfigCacheEntries)), 0);
  config_shift_ = unsigned(std::countr_zero(config_cache_.size()));
  attach_pending_table();
  if (pend_ == reinterpret_cast<std::byte*>(pend_fallback_.data())) {
    if (!io.check(fallback.size() == pend_fallback_.size(), "pending bits of another table size")) return;
    pend_fallback_ = fallback;
    pend_ = reinterpret_cast<std::byte*>(pend_fallback_.data());
    const uint64_t first = lpi::kFirstLpi / 64;
    for (uint64_t w = 0; w + first < pend_fallback_.size(); ++w)
      if (pend_fallback_[first + w] != 0) summary_[w / 64] |= uint64_t{1} << (w % 64);
  } else {
    io.check(fallback.empty(), "pending bits kept although the pending table is in guest RAM");
  }
  view_.table = pend_;
  view_.limit = lpi_limit_;
}

void Redistributors::state(snapshot::Io& io) {
  for (unsigned c = 0; c < rds_.size(); ++c) {
    snapshot::Io::Group g(io, fmt::format("gicr{}", c));
    rds_[c]->state(io);
  }
}

}  // namespace irqremap::arm64
