// VT-d unit: the MSI path (§5.1.4 remapping, §5.2.3 posting) around the pure walk in
// irte_walk.cpp, with the interrupt entry cache and fault reporting.
#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "remap/vtd/fault_format.h"
#include "remap/vtd/fault_reason.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"
#include "remap/vtd/unit.h"

namespace irqremap::vtd {

namespace {
std::string bdf(uint16_t sid) {
  return fmt::format("{:02x}:{:02x}.{:x}", sid >> 8, (sid >> 3) & 0x1F, sid & 7);
}
std::string irte_text(const Irte& e) { return fmt::format("{:#018x}:{:#018x}", e[0], e[1]); }
}  // namespace

bool Unit::read_irte(uint32_t index, Irte& out) const {
  // One 16-byte read: hardware reads the whole IRTE atomically (§5.1.4).
  const uint64_t at = ir_.irt_base + uint64_t{index} * 16;
  if (at < ir_.irt_base) return false;  // wrapped past 2^64: never read low memory instead
  const std::byte* p = mem_.host_ptr(at, 16);
  if (p == nullptr) return false;
  out = {bits::load_le<uint64_t>(p), bits::load_le<uint64_t>(p + 8)};
  return true;
}

// The hot path (issue 13) is a remappable MSI to a remapped IRTE: its index found without
// building a RequestDecode, an IEC hit answered from the slot's packed delivery, the
// source-ID check inline, nothing formatted unless a trace listens. Every other case
// (compatibility format, faults, posted IRTEs, an IrState changed since the slot was
// filled) goes the general way below, which says why.
Translation Unit::translate(const MsiWrite& msi) {
  ++stats_.translations;
  const uint16_t sid = uint16_t(msi.source);
  uint32_t index = 0;
  const msi::RemappableIndex ri = msi::remappable_index(msi.address, msi.data);
  if (ir_.ire && msi.address >> 20 == msi::kInterruptWindow && msi::is_remappable(msi.address) &&
      !(ri.shv && fields::get(msi.data, msi::DATA_RSVD) != 0) && ri.index < ir_.irt_entries) {
    index = ri.index;  // what decode_request() answers for this request (§5.1.2.2)
  } else {
    const RequestDecode rq = decode_request(msi.address, msi.data, ir_);
    if (rq.kind == RequestDecode::Kind::Pass) {
      trace_.emit_lazy([&] {
        return ev(EventKind::Translation, "vtd",
                  fmt::format("MSI {:#x}:{:#x} from {}: {} -> {}", msi.address, msi.data,
                              bdf(sid), rq.why, describe(rq.pass)),
                  {{"sid", sid}});
      });
      bus_.deliver(rq.pass);
      return rq.pass;
    }
    if (rq.kind == RequestDecode::Kind::Fault)
      return fault(rq.reason,
                   rq.reason == fault_reason::kIndexOver ? std::optional<uint32_t>(rq.index)
                                                         : std::nullopt,
                   sid, false, rq.why);
    index = rq.index;
  }

  const bool traced = trace_.on();
  Irte irte;
  IrteOutcome entry;
  if (const IecSlot* cached = iec_.lookup(index)) {
    ++stats_.cache_hits;
    if (traced) [[unlikely]]
      trace_iec_hit(index, iec_.irte(cached));
    // Decoded under the current IrState (same SIRTP epoch) to a remapped interrupt whose
    // source check passes: the slot answers. Else decode the cached IRTE again.
    if (cached->epoch == epoch_ && cached->remapped &&
        (msi.source == kNoSourceId || source_id_ok_w1(cached->sid_word, sid))) [[likely]] {
      const ApicDelivery d = cached->delivery;
      if (traced) [[unlikely]]
        trace_remapped(msi, index, d);
      bus_.deliver(d);
      return d;
    }
    irte = iec_.irte(cached);
    entry = check_irte_entry(irte, ir_);
  } else {
    if (iec_.enabled()) {
      ++stats_.cache_misses;
      trace_.emit_lazy([&] {
        return ev(EventKind::CacheMiss, "vtd", fmt::format("IEC miss for IRTE {}", index),
                  {{"index", index}});
      });
    }
    if (!read_irte(index, irte))
      return fault(fault_reason::kIrtAccess, index, sid, false,
                   "IRTE read outside guest RAM (IRTA points at unmapped memory)");
    trace_.emit_lazy([&] {
      return ev(EventKind::TableRead, "vtd",
                fmt::format("read IRTE {} at {:#x}: {}", index,
                            ir_.irt_base + uint64_t{index} * 16, irte_text(irte)),
                {{"index", index}});
    });
    entry = check_irte_entry(irte, ir_);
    iec_.insert(index, irte, entry, epoch_);
  }

  // A message with no requester ID (kNoSourceId: QEMU's I/O APIC) has nothing to verify;
  // QEMU's vtd_mem_ir_write skips the check for it the same way.
  if (entry.kind == IrteOutcome::Kind::Remapped &&
      (msi.source == kNoSourceId || source_id_ok(irte, sid))) [[likely]] {
    if (traced) [[unlikely]]
      trace_remapped(msi, index, entry.delivery);
    bus_.deliver(entry.delivery);
    return entry.delivery;
  }
  const IrteOutcome o = msi.source == kNoSourceId ? entry : check_source(entry, irte, sid);
  switch (o.kind) {
    case IrteOutcome::Kind::Remapped:
      trace_remapped(msi, index, o.delivery);
      bus_.deliver(o.delivery);
      return o.delivery;
    case IrteOutcome::Kind::Posted: return post_interrupt(o, index, sid);
    case IrteOutcome::Kind::Fault: break;
  }
  return fault(o.reason, index, sid, o.fpd, o.why);
}

void Unit::trace_iec_hit(uint32_t index, const Irte& irte) const {
  trace_.emit(ev(EventKind::CacheHit, "vtd",
                 fmt::format("IEC hit for IRTE {}: {}", index, irte_text(irte)),
                 {{"index", index}}));
  Irte in_memory;
  if (read_irte(index, in_memory) && in_memory != irte)
    trace_.emit(ev(EventKind::Hazard, "vtd",
                   fmt::format("IEC serves a stale IRTE {}: cache {} but memory {}; the "
                               "guest changed it without an IEC invalidate descriptor "
                               "(§6.5.2.8)",
                               index, irte_text(irte), irte_text(in_memory)),
                   {{"index", index}}));
}

void Unit::trace_remapped(const MsiWrite& msi, uint32_t index, const ApicDelivery& d) const {
  trace_.emit_lazy([&] {
    const uint16_t sid = uint16_t(msi.source);
    return ev(EventKind::Translation, "vtd",
              fmt::format("MSI {:#x}:{:#x} from {} -> IRTE {} -> {}", msi.address, msi.data,
                          bdf(sid), index, describe(d)),
              {{"index", index}, {"sid", sid}, {"vector", d.vector}, {"dest", d.dest}});
  });
}

Translation Unit::post_interrupt(const IrteOutcome& o, uint32_t index, uint16_t sid) {
  std::byte* p = mem_.host_ptr(o.pda, 64);
  if (p == nullptr)
    return fault(fault_reason::kPidAccess, index, sid, o.fpd,
                 "posted-interrupt descriptor outside guest RAM");
  Pid pid;
  for (unsigned w = 0; w < pid.size(); ++w) pid[w] = bits::load_le<uint64_t>(p + 8 * w);
  const PostOutcome r = post(pid, o.vv, o.urgent);
  if (r.reserved_set)
    return fault(fault_reason::kPidReserved, index, sid, o.fpd,
                 "reserved bits set in the posted-interrupt descriptor");
  // PIR and ON/SN/NV/NDST live in words 0..4; the emulator runs the update as one step,
  // which is the atomic read-modify-write of §5.2.3.
  for (unsigned w = 0; w < 5; ++w) bits::store_le<uint64_t>(p + 8 * w, pid[w]);
  PostedDelivery pd{o.pda, o.vv, r.notify, apic_id(r.ndst, ir_.eime), r.nv};
  trace_.emit_lazy([&] {
    return ev(EventKind::Delivery, "vtd",
                 fmt::format("IRTE {} (posted): PIR[{:#x}] set in descriptor {:#x}{}", index, o.vv,
                             o.pda,
                             r.notify ? fmt::format(", ON=1, notification vector {:#x} to APIC {:#x}",
                                                    r.nv, pd.ndst)
                                      : std::string(", no notification (ON=1 or SN=1 without URG)")),
                 {{"index", index}, {"vector", o.vv}, {"notified", r.notify ? 1u : 0u}});
  });
  if (r.notify) {
    ApicDelivery n;
    n.dest = pd.ndst;
    n.vector = r.nv;
    n.remapped = true;
    bus_.deliver(n);
  }
  return pd;
}

Translation Unit::fault(uint8_t reason, std::optional<uint32_t> index, uint16_t sid, bool fpd,
                        std::string_view why) {
  ++stats_.faults;
  NotRecorded nr = NotRecorded::Fpd;
  if (!(fpd && fault_reason::qualified(reason))) {
    const uint64_t fi = fault_reason::has_index(reason)
                            ? uint64_t{index.value_or(0)} << fault::FRCD_IR_INDEX.lo
                            : 0;
    nr = record_fault(reason, sid, fi);
  }
  Blocked b;
  b.reason = reason;
  b.recorded = nr == NotRecorded::No;
  std::string_view note;
  switch (nr) {
    case NotRecorded::No: break;
    case NotRecorded::Fpd: note = " (FPD)"; break;
    case NotRecorded::Overflow: note = " (FSTS.PFO: fault records full)"; break;
    case NotRecorded::Collapsed: note = " (collapsed into a pending record)"; break;
  }
  b.what = fmt::format("fault {:#x}{} sid={} recorded={}{}: {}", reason,
                       index ? fmt::format(" index={}", *index) : std::string(), bdf(sid),
                       b.recorded ? "yes" : "no", note, why);
  trace_.emit_lazy([&] {
    return ev(EventKind::Fault, "vtd", b.what,
                 {{"reason", reason}, {"index", index.value_or(~0u)}, {"sid", sid},
                  {"recorded", b.recorded ? 1u : 0u}});
  });
  return b;
}

void Unit::invalidate_all() {
  const unsigned n = iec_.invalidate_all();
  ++stats_.invalidations;
  trace_.emit_lazy([&] {
    return ev(EventKind::CacheInvalidate, "vtd",
                 fmt::format("IEC global invalidation ({} entries dropped)", n), {{"dropped", n}});
  });
}

std::vector<Mapping> Unit::mappings() const {
  std::vector<Mapping> out;
  if (!(gsts_ & (1u << 24))) return out;  // no table latched (GSTS.IRTPS=0)
  // Only the IRTEs that lie in guest memory can be present: the listing walks those runs
  // of the table (regions are 4 KiB aligned, so no IRTE straddles two), not every index
  // of a 65,536-entry table that IRTA placed mostly outside RAM.
  std::vector<std::pair<uint32_t, uint32_t>> runs;  // [first, last) indices backed by memory
  const uint64_t base = ir_.irt_base, end = base + uint64_t{ir_.irt_entries} * 16;
  for (const GuestMemory::Region& r : mem_.regions()) {
    const uint64_t lo = std::max(base, r.base), hi = std::min(end, r.base + r.size);
    if (lo < hi) runs.emplace_back(uint32_t((lo - base + 15) / 16), uint32_t((hi - base) / 16));
  }
  std::sort(runs.begin(), runs.end());
  for (const auto& [first, last] : runs)
    for (uint32_t i = first; i < last; ++i)
      list_irte(i, out);
  return out;
}

void Unit::list_irte(uint32_t i, std::vector<Mapping>& out) const {
  Irte e;
  if (!read_irte(i, e) || fields::get(e, irte::P) == 0) return;
  Mapping m;
  const uint16_t sid = uint16_t(fields::get(e, irte::SID));
  m.source = fmt::format("IRTE {} (SID {})", i, bdf(sid));
  const IrteOutcome o = check_irte(e, sid, ir_);
  if (o.kind == IrteOutcome::Kind::Remapped)
    m.target = describe(o.delivery);
  else if (o.kind == IrteOutcome::Kind::Posted)
    m.target = fmt::format("posted: PIR[{:#x}] in descriptor {:#x}", o.vv, o.pda);
  else
    m.target = fmt::format("fault {:#x}: {}", o.reason, o.why);
  m.cached = iec_.lookup(i) != nullptr;
  out.push_back(std::move(m));
}

}  // namespace irqremap::vtd
