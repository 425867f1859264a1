#pragma once
// Interrupt entry cache (IEC; Intel VT-d spec rev 5.10 §6.5.2.8, §9.9 note on caching):
// holds IRTEs as read from memory, keyed by interrupt index. Direct-mapped (slot =
// index mod N) so a lookup is one compare. Entries stay until an IEC invalidation drops
// them, even if the guest rewrites the IRTE in memory: that is the architected behaviour
// the unit's trace makes visible. Besides the raw IRTE a slot keeps the entry's decoded
// outcome (everything but the per-request source-ID check), tagged with the epoch of the
// IrState it was decoded under, so a warm hit skips the field checks.
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "remap/vtd/irte_walk.h"

namespace irqremap::vtd {

struct CachedIrte {
  Irte irte{};
  IrteOutcome entry;    // check_irte_entry(irte, state at decode time)
  uint32_t epoch = 0;   // the unit's IrState epoch at decode time
};

class InterruptEntryCache {
 public:
  explicit InterruptEntryCache(unsigned entries) : slots_(entries) {}
  bool enabled() const { return !slots_.empty(); }
  unsigned capacity() const { return unsigned(slots_.size()); }

  const CachedIrte* lookup(uint32_t index) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[index % slots_.size()];
    return s.valid && s.index == index ? &s.data : nullptr;
  }
  void insert(uint32_t index, const CachedIrte& data) {
    if (slots_.empty()) return;
    Slot& s = slots_[index % slots_.size()];
    s = Slot{index, true, data};
  }
  // Global invalidation; returns how many entries were dropped.
  unsigned invalidate_all() {
    unsigned n = 0;
    for (Slot& s : slots_) n += std::exchange(s.valid, false) ? 1 : 0;
    return n;
  }
  // Index-selective invalidation of [first, first + count). Direct mapping puts index i
  // only in slot i mod N, so a range smaller than the cache visits just its own slots:
  // the cost follows the descriptor's index mask, not the IEC size.
  unsigned invalidate_range(uint64_t first, uint64_t count) {
    unsigned n = 0;
    auto drop = [&](Slot& s) {
      if (s.valid && s.index >= first && s.index - first < count) {
        s.valid = false;
        ++n;
      }
    };
    if (count < slots_.size()) {
      for (uint64_t i = first; i < first + count; ++i) drop(slots_[i % slots_.size()]);
    } else {
      for (Slot& s : slots_) drop(s);
    }
    return n;
  }

 private:
  struct Slot {
    uint32_t index = 0;
    bool valid = false;
    CachedIrte data;
  };
  std::vector<Slot> slots_;
};

}  // namespace irqremap::vtd
