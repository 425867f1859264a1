// VT-d unit: DMA remapping in legacy mode (Intel VT-d spec rev 5.10 chapter 3) around the
// pure walks in dma_walk.cpp: the context cache and IOTLB, their register-based (§6.5.1)
// and queued (§6.5.2.1, §6.5.2.3) invalidation, and DMA fault recording (§7.1.3, §7.4.1).
#include <fmt/format.h>

#include "remap/vtd/dma_format.h"
#include "remap/vtd/dma_inv_format.h"
#include "remap/vtd/fault_reason.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/unit.h"

namespace irqremap::vtd {

namespace {
std::string bdf(uint16_t sid) {
  return fmt::format("{:02x}:{:02x}.{:x}", sid >> 8, (sid >> 3) & 0x1F, sid & 7);
}
std::string page_text(const IoPage& p) {
  return fmt::format("IOVA {:#x} -> {:#x} ({} KiB, {}{})", p.iova_base, p.pa_base,
                     (uint64_t{1} << p.shift) >> 10, p.read ? "R" : "-", p.write ? "W" : "-");
}
}  // namespace

std::unexpected<DmaFault> Unit::dma_fault(DmaFault f, uint16_t sid, uint64_t iova, bool write) {
  ++stats_.faults;
  NotRecorded nr = NotRecorded::Fpd;
  if (!(f.fpd && fault_reason::dma_qualified(f.reason)))
    nr = record_fault(f.reason, sid, iova & ~uint64_t{0xFFF}, !write);
  std::string_view note;
  switch (nr) {
    case NotRecorded::No: break;
    case NotRecorded::Fpd: note = " (FPD)"; break;
    case NotRecorded::Overflow: note = " (FSTS.PFO: fault records full)"; break;
    case NotRecorded::Collapsed: note = " (collapsed into a pending record)"; break;
  }
  trace_.emit_lazy([&] {
    return ev(EventKind::Fault, "vtd",
              fmt::format("DMA fault {:#x} sid={} {} {:#x} recorded={}{}: {}", f.reason, bdf(sid),
                          write ? "write" : "read", iova, nr == NotRecorded::No ? "yes" : "no",
                          note, f.why),
              {{"reason", f.reason}, {"sid", sid}, {"iova", iova},
               {"recorded", nr == NotRecorded::No ? 1u : 0u}});
  });
  return std::unexpected(std::move(f));
}

std::expected<Unit::DmaMapping, DmaFault> Unit::translate_dma(uint16_t sid, uint64_t iova,
                                                              uint64_t size, bool write) {
  if (size == 0) size = 1;  // a zero-length request still needs its first byte's page
  if (!dma_.te) {
    trace_.emit_lazy([&] {
      return ev(EventKind::Translation, "vtd",
                fmt::format("DMA {} {:#x}+{:#x} from {}: GSTS.TES=0, untranslated",
                            write ? "write" : "read", iova, size, bdf(sid)),
                {{"sid", sid}, {"iova", iova}});
    });
    return DmaMapping{iova, size};
  }

  DmaContext ctx;
  if (const DmaContext* cached = ctx_cache_.lookup(sid)) {
    ctx = *cached;
    if (trace_.on()) {
      auto fresh = lookup_context(mem_, dma_.root_table, sid, dma_caps_);
      if (!fresh || *fresh != ctx)
        trace_.emit(ev(EventKind::Hazard, "vtd",
                       fmt::format("context cache serves a stale entry for {}: the tables changed "
                                   "without a context-cache invalidation (§6.5.2.1)", bdf(sid)),
                       {{"sid", sid}}));
    }
  } else {
    std::vector<WalkStep> steps;
    auto c = lookup_context(mem_, dma_.root_table, sid, dma_caps_, trace_.on() ? &steps : nullptr);
    for (const WalkStep& s : steps)
      trace_.emit(ev(EventKind::TableRead, "vtd",
                     fmt::format("read {} at {:#x}: {:#018x}:{:#018x}", s.what, s.address, s.lo, s.hi),
                     {{"sid", sid}}));
    if (!c) return dma_fault(std::move(c.error()), sid, iova, write);
    ctx = *c;
    ctx_cache_.insert(sid, ctx);
  }
  if (ctx.pass_through) {
    trace_.emit_lazy([&] {
      return ev(EventKind::Translation, "vtd",
                fmt::format("DMA {} {:#x}+{:#x} from {}: context TT=10b, pass-through",
                            write ? "write" : "read", iova, size, bdf(sid)),
                {{"sid", sid}, {"iova", iova}});
    });
    return DmaMapping{iova, size};
  }

  IoPage page;
  const IoPage* hit = iotlb_.lookup(ctx.did, iova);
  if (hit != nullptr && permits(*hit, write)) {
    ++stats_.cache_hits;
    page = *hit;
    if (trace_.on()) {
      auto fresh = walk_second_level(mem_, ctx, iova, write, dma_caps_);
      if (!fresh || *fresh != page)
        trace_.emit(ev(EventKind::Hazard, "vtd",
                       fmt::format("IOTLB serves a stale translation for domain {} ({}): the page "
                                   "tables changed without an IOTLB invalidation (§6.5.2.3)",
                                   ctx.did, page_text(page)),
                       {{"did", ctx.did}, {"iova", iova}}));
    }
  } else {
    if (iotlb_.enabled()) ++stats_.cache_misses;
    std::vector<WalkStep> steps;
    auto p = walk_second_level(mem_, ctx, iova, write, dma_caps_, trace_.on() ? &steps : nullptr);
    for (const WalkStep& s : steps)
      trace_.emit(ev(EventKind::TableRead, "vtd",
                     fmt::format("read {} at {:#x}: {:#018x}", s.what, s.address, s.lo),
                     {{"sid", sid}, {"iova", iova}}));
    if (!p) return dma_fault(std::move(p.error()), sid, iova, write);
    page = *p;
    if (hit == nullptr) iotlb_.insert(ctx.did, page);
  }
  const uint64_t offset = iova - page.iova_base;
  const uint64_t room = (uint64_t{1} << page.shift) - offset;
  const DmaMapping m{page.pa_base + offset, std::min(size, room)};
  trace_.emit_lazy([&] {
    return ev(EventKind::Translation, "vtd",
              fmt::format("DMA {} {:#x}+{:#x} from {} (domain {}) -> {:#x}{}",
                          write ? "write" : "read", iova, m.length, bdf(sid), ctx.did, m.pa,
                          hit ? " (IOTLB hit)" : ""),
              {{"sid", sid}, {"iova", iova}, {"pa", m.pa}});
  });
  return m;
}

std::optional<std::string> Unit::invalidate_context(unsigned g, uint16_t did, uint16_t sid,
                                                    unsigned fm, std::string_view via) {
  unsigned n = 0;
  std::string what;
  switch (g) {
    case 1: n = ctx_cache_.invalidate_all(); what = "global"; break;
    case 2: n = ctx_cache_.invalidate_domain(did); what = fmt::format("domain {}", did); break;
    case 3:
      n = ctx_cache_.invalidate_device(did, sid, fm);
      what = fmt::format("device {} (FM={}) in domain {}", bdf(sid), fm, did);
      break;
    default: return fmt::format("context-cache invalidation with reserved granularity {}", g);
  }
  ++stats_.invalidations;
  trace_.emit_lazy([&] {
    return ev(EventKind::CacheInvalidate, "vtd",
              fmt::format("context-cache invalidation ({}), {}: {} entries dropped", via, what, n),
              {{"granularity", g}, {"dropped", n}});
  });
  return std::nullopt;
}

std::optional<std::string> Unit::invalidate_iotlb(unsigned g, uint16_t did, uint64_t addr,
                                                  unsigned am, std::string_view via) {
  unsigned n = 0;
  std::string what;
  switch (g) {
    case 1: n = iotlb_.invalidate_all(); what = "global"; break;
    case 2: n = iotlb_.invalidate_domain(did); what = fmt::format("domain {}", did); break;
    case 3:
      if (am > reg::kMamv)
        return fmt::format("page-selective IOTLB invalidation AM={} exceeds CAP.MAMV={}", am, reg::kMamv);
      if ((addr & ((uint64_t{1} << (12 + am)) - 1)) != 0)
        trace_.emit_lazy([&] {
          return ev(EventKind::Hazard, "vtd",
                    fmt::format("IOTLB invalidation ADDR {:#x} is not aligned to 2^AM={} pages; "
                                "the low bits are ignored (§6.5.2.3)", addr, am));
        });
      n = iotlb_.invalidate_pages(did, addr, am);
      what = fmt::format("domain {} pages {:#x}+2^{}", did, addr, am);
      break;
    default: return fmt::format("IOTLB invalidation with reserved granularity {}", g);
  }
  ++stats_.invalidations;
  trace_.emit_lazy([&] {
    return ev(EventKind::CacheInvalidate, "vtd",
              fmt::format("IOTLB invalidation ({}), {}: {} entries dropped", via, what, n),
              {{"granularity", g}, {"dropped", n}});
  });
  return std::nullopt;
}

void Unit::write_ccmd(uint64_t value) {
  ccmd_ = value & ~fields::reserved_mask(dma_inv::kCcmdFields, 0);
  if (fields::get(ccmd_, dma_inv::CCMD_ICC) == 0) return;
  if (gsts_ & (uint32_t(1) << gcmd::QIES.lo))
    trace_.emit_lazy([&] {
      return ev(EventKind::Hazard, "vtd",
                "CCMD used while queued invalidation is enabled (§6.5: use one interface)");
    });
  const unsigned g = unsigned(fields::get(ccmd_, dma_inv::CCMD_CIRG));
  auto err = invalidate_context(g, uint16_t(fields::get(ccmd_, dma_inv::CCMD_DID)),
                                uint16_t(fields::get(ccmd_, dma_inv::CCMD_SID)),
                                unsigned(fields::get(ccmd_, dma_inv::CCMD_FM)), "CCMD");
  // Done at once: ICC reads 0 and CAIG reports the granularity performed (0: rejected).
  ccmd_ = fields::set(ccmd_, dma_inv::CCMD_ICC, 0);
  ccmd_ = fields::set(ccmd_, dma_inv::CCMD_CAIG, err ? 0 : g);
  if (err)
    trace_.emit_lazy([&] { return ev(EventKind::Hazard, "vtd", fmt::format("CCMD: {}", *err)); });
}

void Unit::write_iotlb(uint64_t value) {
  iotlb_reg_ = value & ~fields::reserved_mask(dma_inv::kIotlbFields, 0);
  if (fields::get(iotlb_reg_, dma_inv::IOTLB_IVT) == 0) return;
  if (gsts_ & (uint32_t(1) << gcmd::QIES.lo))
    trace_.emit_lazy([&] {
      return ev(EventKind::Hazard, "vtd",
                "IOTLB_REG used while queued invalidation is enabled (§6.5: use one interface)");
    });
  const unsigned g = unsigned(fields::get(iotlb_reg_, dma_inv::IOTLB_IIRG));
  auto err = invalidate_iotlb(g, uint16_t(fields::get(iotlb_reg_, dma_inv::IOTLB_DID)),
                              iva_ & dma_inv::IVA_ADDR.word_mask(),
                              unsigned(fields::get(iva_, dma_inv::IVA_AM)), "IOTLB_REG");
  iotlb_reg_ = fields::set(iotlb_reg_, dma_inv::IOTLB_IVT, 0);
  iotlb_reg_ = fields::set(iotlb_reg_, dma_inv::IOTLB_IAIG, err ? 0 : g);
  if (err)
    trace_.emit_lazy([&] { return ev(EventKind::Hazard, "vtd", fmt::format("IOTLB_REG: {}", *err)); });
}

}  // namespace irqremap::vtd
