// ITS register file, GITS_TRANSLATER and the translation path (see its.h for the choices).
#include "remap/its/its.h"

#include <algorithm>
#include <fmt/format.h>

#include "remap/its/lpi_format.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

namespace irqremap::its {

using namespace reg;

namespace {
// BASER bits software can write (Type and Entry_Size are RO).
constexpr uint64_t kBaserWritable =
    BASER_Size.word_mask() | BASER_Page_Size.word_mask() | BASER_Shareability.word_mask() |
    BASER_Physical_Address.word_mask() | BASER_OuterCache.word_mask() |
    BASER_InnerCache.word_mask() | BASER_Indirect.word_mask() | BASER_Valid.word_mask();
constexpr uint64_t kCbaserWritable =
    CBASER_Size.word_mask() | CBASER_Shareability.word_mask() |
    CBASER_Physical_Address.word_mask() | CBASER_OuterCache.word_mask() |
    CBASER_InnerCache.word_mask() | CBASER_Valid.word_mask();
}  // namespace

namespace {
// Out-of-range knobs are clamped to what GITS_TYPER can express, so no shift overflows.
ItsConfig clamp(ItsConfig c) {
  c.devbits = std::clamp(c.devbits, 1u, 32u);
  c.idbits = std::clamp(c.idbits, 1u, 32u);
  c.cidbits = std::clamp(c.cidbits, 1u, 16u);
  c.lpi_bits = std::clamp(c.lpi_bits, 14u, 32u);
  return c;
}

// Register name for traces.
std::string reg_name(uint64_t offset) {
  const uint64_t r8 = offset & ~uint64_t{7};
  const char* half = offset % 8 == 4 ? " (high half)" : "";
  if ((offset & ~uint64_t{3}) == GITS_CTLR) return "GITS_CTLR";
  if ((offset & ~uint64_t{3}) == GITS_IIDR) return "GITS_IIDR";
  if (r8 == GITS_TYPER) return fmt::format("GITS_TYPER{}", half);
  if (r8 == GITS_CBASER) return fmt::format("GITS_CBASER{}", half);
  if (r8 == GITS_CWRITER) return fmt::format("GITS_CWRITER{}", half);
  if (r8 == GITS_CREADR) return fmt::format("GITS_CREADR{}", half);
  if (r8 >= GITS_BASER && r8 < GITS_BASER + 64)
    return fmt::format("GITS_BASER{}{}", (r8 - GITS_BASER) / 8, half);
  if (offset == GITS_TRANSLATER) return "GITS_TRANSLATER";
  return fmt::format("ITS+{:#07x}", offset);
}

// "Size=0x0 Physical_Address=0x40000000 Valid=0x1": the non-zero fields of a value.
std::string decoded(const fields::Format& f, uint64_t v) {
  std::string out;
  for (const fields::Field& fl : f.fields) {
    if (fl.access == fields::Access::Rsvd) continue;
    const uint64_t x = fields::get(v, fl);
    if (x == 0) continue;
    out += fmt::format(" {}={:#x}", fl.name, x << fl.addr_shift);
  }
  return out;
}

const fields::Format* format_of(uint64_t offset) {
  const uint64_t r8 = offset & ~uint64_t{7};
  if (offset % 8 != 0) return nullptr;  // a half: the whole value is traced when complete
  if (offset == GITS_CTLR) return &kCtlr;
  if (r8 == GITS_CBASER) return &kCbaser;
  if (r8 == GITS_CWRITER) return &kCwriter;
  if (r8 >= GITS_BASER && r8 < GITS_BASER + 64) return &kBaser;
  return nullptr;
}
}  // namespace

Its::Its(GuestMemory& mem, LpiTarget& target, ItsConfig config)
    : mem_(mem),
      target_(target),
      views_(target.pending_views()),
      config_(clamp(config)),
      cache_(config_.cache_entries) {
  // Reset values (QEMU gicv3_its_reset_hold): BASER0 devices, BASER1 collections, 64 KiB
  // pages, 8-byte entries.
  uint64_t dev = fields::set(0, BASER_Type, 1);
  dev = fields::set(dev, BASER_Entry_Size, table::kDteBytes - 1);
  dev = fields::set(dev, BASER_Page_Size, 2);
  uint64_t col = fields::set(0, BASER_Type, 4);
  col = fields::set(col, BASER_Entry_Size, table::kCteBytes - 1);
  col = fields::set(col, BASER_Page_Size, 2);
  baser_[0] = dev;
  baser_[1] = col;
  tables_.idbits = config_.idbits;
}

uint64_t Its::typer() const {
  uint64_t t = fields::set(0, TYPER_Physical, 1);
  t = fields::set(t, TYPER_ITT_entry_size, table::kIteBytes - 1);
  t = fields::set(t, TYPER_IDbits, config_.idbits - 1);
  t = fields::set(t, TYPER_Devbits, config_.devbits - 1);
  t = fields::set(t, TYPER_PTA, config_.pta);
  t = fields::set(t, TYPER_CIL, config_.cil);
  t = fields::set(t, TYPER_CIDbits, config_.cil ? config_.cidbits - 1 : 0);
  return t;
}

uint64_t Its::read_reg64(uint64_t reg) const {
  if (reg == GITS_TYPER) return typer();
  if (reg == GITS_CBASER) return cbaser_;
  if (reg == GITS_CWRITER) return cwriter_;
  if (reg == GITS_CREADR) return creadr_ | (stalled_ ? 1 : 0);
  if (reg >= GITS_BASER && reg < GITS_BASER + 64) return baser_[(reg - GITS_BASER) / 8];
  return 0;
}

uint64_t Its::mmio_read(uint64_t offset, unsigned size) {
  uint64_t v = 0;
  const uint64_t reg8 = offset & ~uint64_t{7};
  const uint64_t reg4 = offset & ~uint64_t{3};
  if (reg8 == GITS_TYPER || reg8 == GITS_CBASER || reg8 == GITS_CWRITER || reg8 == GITS_CREADR ||
      (reg8 >= GITS_BASER && reg8 < GITS_BASER + 64)) {
    v = extract_read(read_reg64(reg8), unsigned(offset - reg8), size);
  } else if (reg4 == GITS_CTLR) {
    v = fields::set(fields::set(0, CTLR_Enabled, enabled_), CTLR_Quiescent, 1);
  } else if (reg4 == GITS_IIDR) {
    v = 0x43B;  // implementer Arm, revision 0, as QEMU
  } else if (reg4 == GITS_PIDR2) {
    v = 0x3B;  // ArchRev 3: GICv3
  } else if (reg4 == GITS_PIDR0) {
    v = 0x94;
  } else if (reg4 == GITS_PIDR1) {
    v = 0xB4;
  } else if (reg4 == GITS_PIDR4) {
    v = 0x04;
  } else if (reg4 >= GITS_CIDR0 && reg4 <= GITS_CIDR0 + 0xC) {
    static constexpr uint8_t kCidr[] = {0x0D, 0xF0, 0x05, 0xB1};
    v = kCidr[(reg4 - GITS_CIDR0) / 4];
  }
  if (size < 8) v &= bits::mask(8 * size - 1, 0);
  trace_.emit_lazy([&] {
    return Event{EventKind::RegRead, "its",
                 fmt::format("read {} size {} = {:#x}", reg_name(offset), size, v),
                 {{"offset", offset}, {"value", v}}};
  });
  return v;
}

void Its::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  trace_.emit_lazy([&] {
    const fields::Format* f = format_of(offset);
    return Event{EventKind::RegWrite, "its",
                 fmt::format("write {} size {} = {:#x}{}", reg_name(offset), size, value,
                             f != nullptr ? decoded(*f, value) : std::string()),
                 {{"offset", offset}, {"value", value}}};
  });
  const uint64_t reg8 = offset & ~uint64_t{7};
  const unsigned byte = unsigned(offset - reg8);
  if (offset == GITS_TRANSLATER) {
    write_translater(size, value);
  } else if (reg8 == GITS_CBASER) {
    write_cbaser(merge_write(cbaser_, byte, size, value));
  } else if (reg8 == GITS_CWRITER) {
    write_cwriter(merge_write(cwriter_, byte, size, value));
  } else if (reg8 >= GITS_BASER && reg8 < GITS_BASER + 64) {
    const unsigned n = unsigned((reg8 - GITS_BASER) / 8);
    write_baser(n, merge_write(baser_[n], byte, size, value));
  } else if ((offset & ~uint64_t{3}) == GITS_CTLR) {
    write_ctlr(uint32_t(value));
  } else {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "its",
                   fmt::format("write to ITS+{:#07x} ignored (read-only or RAZ/WI)", offset),
                   {{"offset", offset}}};
    });
  }
}

void Its::write_ctlr(uint32_t v) {
  const bool en = fields::get(v, CTLR_Enabled) != 0;
  if (en == enabled_) return;
  enabled_ = en;
  if (en) {
    latch();
    flush_cache("tables latched");
    trace_.emit_lazy([&] {
      return Event{EventKind::RegWrite, "its",
                   fmt::format("GITS_CTLR.Enabled=1: device table {:#x} ({} IDs{}), collection "
                               "table {:#x} ({} IDs{}), queue {:#x} ({} commands)",
                               tables_.device.base, tables_.device.id_limit,
                               tables_.device.indirect ? ", two-level" : "",
                               tables_.collection.base, tables_.collection.id_limit,
                               tables_.collection.indirect ? ", two-level" : "", queue_base_,
                               queue_size_ / 32),
                   {{"enabled", 1}}};
    });
    process_queue();
  } else {
    flush_cache("ITS disabled");
    trace_.emit_lazy([] { return Event{EventKind::RegWrite, "its", "GITS_CTLR.Enabled=0", {}}; });
  }
}

void Its::latch() {
  tables_.device = TableParams::from_baser(baser_[0], config_.devbits);
  tables_.collection =
      TableParams::from_baser(baser_[1], config_.cil ? config_.cidbits : 16);
  tables_.idbits = config_.idbits;
  // Entries of a valid ID are inside the table's pages: with the whole table in one RAM
  // region, the walk adds offsets to a host pointer instead of searching the regions.
  for (TableParams* t : {&tables_.device, &tables_.collection})
    t->host = t->valid ? mem_.host_ptr(t->base, t->pages * t->page_bytes) : nullptr;
  const bool qvalid = fields::get(cbaser_, CBASER_Valid) != 0;
  queue_base_ = fields::get(cbaser_, CBASER_Physical_Address) << 12;
  queue_size_ = qvalid ? (fields::get(cbaser_, CBASER_Size) + 1) * 4096 : 0;
  queue_host_ = queue_size_ != 0 ? mem_.host_ptr(queue_base_, queue_size_) : nullptr;
}

void Its::write_cbaser(uint64_t v) {
  if (enabled_) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "its", "GITS_CBASER write ignored: ITS enabled", {}};
    });
    return;
  }
  cbaser_ = v & kCbaserWritable;
  creadr_ = 0;  // §12.19.2: writing CBASER resets CREADR
  stalled_ = false;
}

void Its::write_baser(unsigned n, uint64_t v) {
  if (fields::get(baser_[n], BASER_Type) == 0) return;  // unimplemented: RAZ/WI
  if (enabled_) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "its",
                   fmt::format("GITS_BASER{} write ignored: ITS enabled", n), {}};
    });
    return;
  }
  uint64_t nv = (baser_[n] & ~kBaserWritable) | (v & kBaserWritable);
  if (fields::get(nv, BASER_Page_Size) == 3) nv = fields::set(nv, BASER_Page_Size, 2);
  baser_[n] = nv;
  flush_cache("table reprogrammed");
}

void Its::write_cwriter(uint64_t v) {
  const bool retry = fields::get(v, CWRITER_Retry) != 0;
  cwriter_ = v & CWRITER_Offset.word_mask();
  if (stalled_ && retry) {
    stalled_ = false;
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "its",
                   fmt::format("GITS_CWRITER.Retry: restarting at CREADR {:#x}", creadr_),
                   {{"creadr", creadr_}}};
    });
  }
  process_queue();
}

void Its::write_translater(unsigned size, uint64_t value) {
  if (size != 2 && size != 4) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, "its",
                   fmt::format("GITS_TRANSLATER write of {} bytes ignored (16/32-bit only)", size),
                   {{"size", size}}};
    });
    return;
  }
  // A CPU write has no DeviceID on the bus: DeviceID 0, as QEMU.
  deliver(MsiWrite{config_.base + GITS_TRANSLATER, uint32_t(value), 0});
}

void Its::set_cache_enabled(bool on) {
  config_.cache = on;
  flush_cache(on ? "cache enabled" : "cache disabled");
}

void Its::flush_cache(std::string_view why) {
  if (cache_.size() != 0) ++stats_.invalidations;
  trace_.emit_lazy([&] {
    return Event{EventKind::CacheInvalidate, "its",
                 fmt::format("translation cache flushed ({} entries): {}", cache_.size(), why),
                 {{"entries", cache_.size()}}};
  });
  cache_.clear();
}

void Its::invalidate_all() { flush_cache("invalidate_all (EnableLPIs=0 or software request)"); }

std::unexpected<WalkError> Its::drop(WalkError e) {
  ++stats_.faults;
  trace_.emit_lazy([&] {
    return Event{EventKind::Fault, "its", fmt::format("MSI dropped: {}", e.describe()),
                 {{"reason", uint32_t(e.fail)}}};
  });
  return std::unexpected(std::move(e));
}

std::expected<Resolved, WalkError> Its::resolve(uint32_t devid, uint32_t eventid) const {
  return walk(mem_, tables_, devid, eventid);
}

// The hot path (issue 13: a warm GITS_TRANSLATER delivery in ~10 ns) is route() inlined
// into translate() and deliver(): values stay in registers (no optional or expected is
// returned through memory between the steps), the walk reads through host pointers, an
// LPI already pending costs one load of its pending-table word, and everything that
// explains (trace text, the WalkError of a drop) sits in out-of-line cold functions.

// walk()'s reads in walk()'s order through host pointers, building no error value. False:
// some step did not give a mapped entry in RAM, and walk_explained() says which.
[[gnu::always_inline]] inline bool Its::walk_fast(uint32_t devid, uint32_t eventid,
                                                  Resolved& out) const {
  using namespace table;
  const std::byte* dp = entry_host(mem_, tables_.device, devid);
  if (dp == nullptr) return false;
  const uint64_t dte = bits::load_le<uint64_t>(dp);
  if (fields::get(dte, DTE_Valid) == 0) return false;
  if (uint64_t{eventid} >> (fields::get(dte, DTE_Size) + 1) != 0) return false;  // range
  const uint64_t ite_addr = (fields::get(dte, DTE_ITT_addr) << 8) + uint64_t(eventid) * kIteBytes;
  const std::byte* ip = mem_.host_ptr(ite_addr, kIteBytes);
  if (ip == nullptr) return false;
  const uint64_t ite = bits::load_le<uint64_t>(ip);
  if (fields::get(ite, ITE_Valid) == 0) return false;
  const auto icid = uint16_t(fields::get(ite, ITE_ICID));
  const std::byte* cp = entry_host(mem_, tables_.collection, icid);
  if (cp == nullptr) return false;
  const uint64_t cte = bits::load_le<uint64_t>(cp);
  if (fields::get(cte, CTE_Valid) == 0) return false;
  out = Resolved{uint32_t(fields::get(cte, CTE_RDbase)), uint32_t(fields::get(ite, ITE_pINTID)),
                 icid};
  return true;
}

// Redistributor `rd` exists: the views answer for the machine's redistributors without a
// virtual call; a target with no views (a test recorder) is asked.
[[gnu::always_inline]] inline bool Its::rd_exists(uint32_t rd) const {
  return rd < views_.size() || rd < target_.redistributor_count();
}

// Hands the LPI over. An LPI already pending at `rd` stays as it is (no count, IHI0069
// §5.1): seen in the pending table, nothing else happens, unless a trace listens.
[[gnu::always_inline]] inline bool Its::pend(uint32_t rd, uint32_t intid) {
  if (rd < views_.size()) {
    const PendingTableView& v = *views_[rd];
    // The bit first, the trace last: the two loads do not wait for each other.
    if (intid >= lpi::kFirstLpi && intid < v.limit &&
        (bits::load_le<uint64_t>(v.table + (intid / 64) * 8) >> (intid % 64) & 1) != 0 &&
        !v.trace->on())
      return true;
  }
  return target_.set_pending(rd, intid);
}

[[gnu::always_inline]] inline bool Its::route(uint64_t address, uint32_t devid,
                                              uint32_t eventid, LpiDelivery& out) {
  ++stats_.translations;
  if (address != config_.base + GITS_TRANSLATER || !enabled_) [[unlikely]]
    return refuse_request(address);
  const bool traced = trace_.on();
  const uint64_t key = TranslationCache::key(devid, eventid);
  Resolved r;
  bool hit = false;
  if (config_.cache) {
    hit = cache_.find(key, r);
    ++(hit ? stats_.cache_hits : stats_.cache_misses);
    if (traced) [[unlikely]]
      trace_lookup(hit, devid, eventid);
  }
  if (!hit) {
    if (traced || !walk_fast(devid, eventid, r) || !rd_exists(r.rd)) [[unlikely]] {
      // Something to explain (or a trace to feed): the walk that says what it read.
      auto res = walk_explained(devid, eventid);
      if (!res) return refuse(res.error());
      r = *res;
    }
    if (config_.cache) cache_.insert(key, r);
  }
  if (traced) [[unlikely]]
    trace_translation(devid, eventid, r);
  if (!pend(r.rd, r.intid)) [[unlikely]] {
    WalkError e{WalkFail::LpiRejected};
    e.rd = r.rd;
    e.intid = r.intid;
    return refuse(e);
  }
  out = LpiDelivery{r.rd, r.intid};
  return true;
}

Translation Its::translate(const MsiWrite& msi) {
  LpiDelivery d;
  if (route(msi.address, msi.source, msi.data, d)) return d;
  return Blocked{uint32_t(last_drop_.fail), last_drop_.describe(), false};
}

bool Its::deliver(uint64_t address, uint32_t devid, uint32_t eventid) {
  LpiDelivery d;
  return route(address, devid, eventid, d);
}

bool Its::refuse(const WalkError& e) {
  last_drop_ = e;
  drop(e);
  return false;
}

bool Its::refuse_request(uint64_t address) {
  if (address != config_.base + GITS_TRANSLATER) {
    WalkError e{WalkFail::NotTranslater};
    e.address = address;
    e.limit = config_.base + GITS_TRANSLATER;
    return refuse(e);
  }
  return refuse(WalkError{WalkFail::ItsDisabled});
}

void Its::trace_lookup(bool hit, uint32_t devid, uint32_t eventid) const {
  trace_.emit(Event{hit ? EventKind::CacheHit : EventKind::CacheMiss, "its",
                    fmt::format("cache {} DeviceID {} EventID {}", hit ? "hit" : "miss", devid,
                                eventid),
                    {{"device", devid}, {"event", eventid}}});
}

void Its::trace_translation(uint32_t devid, uint32_t eventid, Resolved r) const {
  trace_.emit(Event{EventKind::Translation, "its",
                    fmt::format("DeviceID {} EventID {} -> ICID {} -> RD {} LPI {}", devid,
                                eventid, r.icid, r.rd, r.intid),
                    {{"device", devid}, {"event", eventid}, {"rd", r.rd}, {"intid", r.intid}}});
}

void Its::note_ite_written(uint64_t address) {
  const uint64_t first = address >> 12, last = (address + table::kIteBytes - 1) >> 12;
  for (uint64_t page = first; page <= last; ++page) {
    const uint64_t chunk = page >> 18;
    if (chunk != last_chunk_) {
      std::vector<uint64_t>& bits = ite_pages_[chunk];
      if (bits.empty()) bits.assign((uint64_t{1} << 18) / 64, 0);
      last_chunk_ = chunk;
      last_bits_ = &bits;
    }
    const uint64_t i = page & ((uint64_t{1} << 18) - 1);
    (*last_bits_)[i / 64] |= uint64_t{1} << (i % 64);
  }
}

bool Its::ite_page_marked(uint64_t page) const {
  const auto it = ite_pages_.find(page >> 18);
  if (it == ite_pages_.end()) return false;
  const uint64_t i = page & ((uint64_t{1} << 18) - 1);
  return (it->second[i / 64] >> (i % 64)) & 1;
}

std::expected<Resolved, WalkError> Its::walk_explained(uint32_t devid, uint32_t eventid) {
  auto ite = walk_ite(mem_, tables_, devid, eventid);
  if (!ite) return std::unexpected(ite.error());
  auto cte = walk_cte(mem_, tables_, ite->ite.icid);
  if (!cte) return std::unexpected(cte.error());
  trace_.emit_lazy([&] {
    return Event{EventKind::TableRead, "its",
                 fmt::format("DTE[{}] Size={} ITT_addr={:#x}; ITE[{}]@{:#x} pINTID={} ICID={}; "
                             "CTE[{}] RDbase={}",
                             devid, ite->dte.size, ite->dte.itt_addr, eventid, ite->ite_addr,
                             ite->ite.pintid, ite->ite.icid, ite->ite.icid, cte->rd),
                 {{"device", devid}, {"event", eventid}, {"ite", ite->ite_addr}}};
  });
  if (cte->rd >= target_.redistributor_count()) {
    WalkError e{WalkFail::CollectionUnmapped};
    e.icid = ite->ite.icid;
    e.rd = cte->rd;
    e.rd_missing = true;
    return std::unexpected(e);
  }
  return Resolved{cte->rd, ite->ite.pintid, ite->ite.icid};
}

std::vector<Mapping> Its::mappings() const {
  std::vector<Mapping> out;
  constexpr std::size_t kMax = 4096;
  if (!tables_.device.valid || ite_pages_.empty()) return out;
  const uint64_t per_l2 = tables_.device.page_bytes / tables_.device.entry_bytes;
  for (uint64_t dev = 0; dev < tables_.device.id_limit && out.size() < kMax; ++dev) {
    auto slot = entry_address(mem_, tables_.device, dev);
    if (!slot) continue;
    if (slot->kind == EntrySlot::Kind::L1Invalid) {  // a whole level-2 page is absent
      dev = (dev / per_l2 + 1) * per_l2 - 1;
      continue;
    }
    if (!slot->found()) continue;
    auto dte = read_dte(mem_, slot->address);
    if (!dte || !dte->valid) continue;
    const uint64_t events = std::min<uint64_t>(dte->event_count(), uint64_t{1} << tables_.idbits);
    for (uint64_t ev = 0; ev < events && out.size() < kMax; ++ev) {
      const uint64_t addr = ite_address(*dte, uint32_t(ev));
      if (!ite_page_marked(addr >> 12)) {
        // No valid ITE starts on this page: go to the first one that starts on the next.
        const uint64_t next = ((addr >> 12) + 1) << 12;
        ev = (next - dte->itt_addr + table::kIteBytes - 1) / table::kIteBytes - 1;
        continue;
      }
      auto ite = read_ite(mem_, addr);
      if (!ite) break;
      if (!ite->valid) continue;
      auto cte = walk_cte(mem_, tables_, ite->icid);
      Mapping m;
      m.source = fmt::format("DeviceID {} EventID {}", dev, ev);
      m.target = cte ? fmt::format("collection {} -> RD {}, LPI {}", ite->icid, cte->rd,
                                   ite->pintid)
                     : fmt::format("collection {} (unmapped), LPI {}", ite->icid, ite->pintid);
      m.cached = config_.cache &&
                 cache_.contains(TranslationCache::key(uint32_t(dev), uint32_t(ev)));
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace irqremap::its
