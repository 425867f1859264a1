#pragma once
// Interrupt entry cache (IEC; Intel VT-d spec rev 5.10 §6.5.2.8, §9.9 note on caching):
// holds IRTEs as read from memory, keyed by interrupt index. Direct-mapped (slot =
// index mod N) so a lookup is one compare. Entries stay until an IEC invalidation drops
// them, even if the guest rewrites the IRTE in memory: that is the architected behaviour
// the unit's trace makes visible.
#include <array>
#include <cstdint>
#include <vector>

#include "remap/vtd/irte_walk.h"

namespace irqremap::vtd {

class InterruptEntryCache {
 public:
  explicit InterruptEntryCache(unsigned entries) : slots_(entries) {}
  bool enabled() const { return !slots_.empty(); }
  unsigned capacity() const { return unsigned(slots_.size()); }

  const Irte* lookup(uint32_t index) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[index % slots_.size()];
    return s.valid && s.index == index ? &s.irte : nullptr;
  }
  void insert(uint32_t index, const Irte& irte) {
    if (slots_.empty()) return;
    Slot& s = slots_[index % slots_.size()];
    s = Slot{index, true, irte};
  }
  // Global invalidation; returns how many entries were dropped.
  unsigned invalidate_all() {
    unsigned n = 0;
    for (Slot& s : slots_) n += std::exchange(s.valid, false) ? 1 : 0;
    return n;
  }
  // Index-selective invalidation of [first, first + count).
  unsigned invalidate_range(uint64_t first, uint64_t count) {
    unsigned n = 0;
    for (Slot& s : slots_)
      if (s.valid && s.index >= first && s.index < first + count) {
        s.valid = false;
        ++n;
      }
    return n;
  }

 private:
  struct Slot {
    uint32_t index = 0;
    bool valid = false;
    Irte irte{};
  };
  std::vector<Slot> slots_;
};

}  // namespace irqremap::vtd
