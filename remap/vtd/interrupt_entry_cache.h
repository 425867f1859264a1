#pragma once
// Interrupt entry cache (IEC; Intel VT-d spec rev 5.10 §6.5.2.8, §9.9 note on caching):
// holds IRTEs as read from memory, keyed by interrupt index. Direct-mapped (slot =
// index mod N, a mask when N is a power of two) so a lookup is one compare. Entries stay
// until an IEC invalidation drops them, even if the guest rewrites the IRTE in memory:
// that is the architected behaviour the unit's trace makes visible.
//
// What a hit reads is 32 bytes, two per 64-byte host cache line (issue 13: a slot of the
// IRTE plus its whole decoded outcome was about 100 bytes, so a warm IEC over a big table
// was colder than the table it caches): when the IRTE decoded to a remapped interrupt
// (§5.1.4: everything but the per-request source-ID check) the delivery, tagged with the
// epoch of the IrState it was decoded under, and the IRTE word the source-ID check reads.
// The IRTE itself is kept beside it for traces and for any other hit, which decodes the
// cached IRTE again (posted and faulting IRTEs are rare), so a hit always answers what the
// IRTE it holds decodes to.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "remap/vtd/irte_walk.h"

namespace irqremap::vtd {

// The part of a slot a hit reads: 32 bytes, two per 64-byte host line.
struct IecSlot {
  static constexpr uint32_t kEmpty = ~uint32_t{0};  // no interrupt index is this large
  uint32_t index = kEmpty;
  uint32_t epoch = 0;      // the unit's IrState epoch when `delivery` was decoded
  ApicDelivery delivery;   // the entry outcome when `remapped`
  bool remapped = false;   // the IRTE decoded to a remapped interrupt (§5.1.4)
  bool fpd = false;        // IRTE.FPD
  uint64_t sid_word = 0;   // IRTE bits 127:64: SID, SQ, SVT for the source-ID check (§9.9)
};
static_assert(sizeof(IecSlot) == 32);

class InterruptEntryCache {
 public:
  explicit InterruptEntryCache(unsigned entries)
      : slots_(entries),
        irtes_(entries),
        mask_(entries != 0 && (entries & (entries - 1)) == 0 ? entries - 1 : 0) {}
  bool enabled() const { return !slots_.empty(); }
  unsigned capacity() const { return unsigned(slots_.size()); }

  const IecSlot* lookup(uint32_t index) const {
    if (slots_.empty()) return nullptr;
    const IecSlot& s = slots_[slot_of(index)];
    return s.index == index ? &s : nullptr;
  }
  // The IRTE a slot holds, as read from memory (kept apart: only traces and the rare
  // outcomes that are not a current remapped delivery read it).
  const Irte& irte(const IecSlot* s) const { return irtes_[std::size_t(s - slots_.data())]; }
  // Keeps `irte` for `index`; `entry` is what it decoded to under IrState epoch `epoch`.
  void insert(uint32_t index, const Irte& irte, const IrteOutcome& entry, uint32_t epoch) {
    if (slots_.empty()) return;
    const std::size_t i = slot_of(index);
    IecSlot& s = slots_[i];
    s.index = index;
    s.epoch = epoch;
    s.remapped = entry.kind == IrteOutcome::Kind::Remapped;
    s.delivery = s.remapped ? entry.delivery : ApicDelivery{};
    s.fpd = entry.fpd;
    s.sid_word = irte[1];
    irtes_[i] = irte;
  }
  // The occupied slots in slot order, for a snapshot (unit_state.cpp).
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].index != IecSlot::kEmpty) f(slots_[i], irtes_[i]);
  }
  // Global invalidation; returns how many entries were dropped.
  unsigned invalidate_all() {
    unsigned n = 0;
    for (IecSlot& s : slots_) n += std::exchange(s.index, IecSlot::kEmpty) != IecSlot::kEmpty;
    return n;
  }
  // Index-selective invalidation of [first, first + count). Direct mapping puts index i
  // only in slot i mod N, so a range smaller than the cache visits just its own slots:
  // the cost follows the descriptor's index mask, not the IEC size.
  unsigned invalidate_range(uint64_t first, uint64_t count) {
    unsigned n = 0;
    auto drop = [&](IecSlot& s) {
      if (s.index != IecSlot::kEmpty && s.index >= first && s.index - first < count) {
        s.index = IecSlot::kEmpty;
        ++n;
      }
    };
    if (count < slots_.size()) {
      for (uint64_t i = first; i < first + count; ++i) drop(slots_[i % slots_.size()]);
    } else {
      for (IecSlot& s : slots_) drop(s);
    }
    return n;
  }

 private:
  std::size_t slot_of(uint32_t index) const {
    return mask_ != 0 ? index & mask_ : index % slots_.size();
  }
  std::vector<IecSlot> slots_;
  std::vector<Irte> irtes_;  // irtes_[i]: the IRTE slots_[i] holds
  uint32_t mask_;  // N - 1 when N is a power of two (> 1), else 0: use the division
};

}  // namespace irqremap::vtd
