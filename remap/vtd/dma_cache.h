#pragma once
// The DMA-remapping caches beside the interrupt entry cache (Intel VT-d spec rev 5.10
// §6.1-§6.5): a context cache keyed by source ID and an IOTLB keyed by domain and page.
// CAP.CM=0, so only successful translations are cached (§6.1: with CM=0 hardware caches
// no not-present or faulting entries) and software need not invalidate after making an
// entry present. Entries stay until an invalidation drops them, even when the tables in
// memory change: serving that stale translation is the architected behaviour, which the
// unit's trace flags. Each cache is bounded and flushed whole when full (as QEMU's
// VTD_IOTLB_MAX_SIZE); a capacity of 0 turns it off.
#include <cstdint>
#include <optional>
#include <vector>

#include "remap/vtd/dma_walk.h"

namespace irqremap::vtd {

class ContextCache {
 public:
  explicit ContextCache(unsigned capacity) : capacity_(capacity) {}
  bool enabled() const { return capacity_ != 0; }
  std::size_t size() const { return entries_.size(); }

  const DmaContext* lookup(uint16_t sid) const {
    for (const Entry& e : entries_)
      if (e.sid == sid) return &e.ctx;
    return nullptr;
  }
  void insert(uint16_t sid, const DmaContext& ctx) {
    if (!enabled()) return;
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.push_back({sid, ctx});
  }
  unsigned invalidate_all() { return drop([](const Entry&) { return true; }); }
  unsigned invalidate_domain(uint16_t did) {
    return drop([did](const Entry& e) { return e.ctx.did == did; });
  }
  // Device-selective: SID with the function bits FM masks ignored (§6.5.2.1), in domain did.
  unsigned invalidate_device(uint16_t did, uint16_t sid, unsigned fm) {
    const uint16_t ignore = uint16_t(fm == 0 ? 0 : (fm == 1 ? 0x4 : (fm == 2 ? 0x6 : 0x7)));
    return drop([=](const Entry& e) {
      return e.ctx.did == did && (e.sid & ~ignore) == (sid & ~ignore);
    });
  }

 private:
  struct Entry {
    uint16_t sid;
    DmaContext ctx;
  };
  template <typename Pred>
  unsigned drop(Pred p) {
    const auto n = std::erase_if(entries_, p);
    return unsigned(n);
  }
  unsigned capacity_;
  std::vector<Entry> entries_;
};

class Iotlb {
 public:
  explicit Iotlb(unsigned capacity) : capacity_(capacity) {}
  bool enabled() const { return capacity_ != 0; }
  std::size_t size() const { return entries_.size(); }

  const IoPage* lookup(uint16_t did, uint64_t iova) const {
    for (const Entry& e : entries_)
      if (e.did == did && (iova >> e.page.shift) == (e.page.iova_base >> e.page.shift)) return &e.page;
    return nullptr;
  }
  void insert(uint16_t did, const IoPage& page) {
    if (!enabled()) return;
    if (entries_.size() >= capacity_) entries_.clear();
    entries_.push_back({did, page});
  }
  unsigned invalidate_all() { return drop([](const Entry&) { return true; }); }
  unsigned invalidate_domain(uint16_t did) {
    return drop([did](const Entry& e) { return e.did == did; });
  }
  // Page-selective within domain: the 2^am 4 KiB pages from addr (aligned down to that
  // size, §6.5.2.3); a cached large page overlapping the range goes too.
  unsigned invalidate_pages(uint16_t did, uint64_t addr, unsigned am) {
    const uint64_t size = uint64_t{1} << (12 + am);
    const uint64_t first = addr & ~(size - 1), last = first + size - 1;
    return drop([=](const Entry& e) {
      const uint64_t lo = e.page.iova_base, hi = lo + (uint64_t{1} << e.page.shift) - 1;
      return e.did == did && lo <= last && first <= hi;
    });
  }

 private:
  struct Entry {
    uint16_t did;
    IoPage page;
  };
  template <typename Pred>
  unsigned drop(Pred p) {
    return unsigned(std::erase_if(entries_, p));
  }
  unsigned capacity_;
  std::vector<Entry> entries_;
};

}  // namespace irqremap::vtd
