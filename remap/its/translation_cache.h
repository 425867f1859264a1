#pragma once
// ITS translation cache keyed by (DeviceID, EventID) (its.md §6: KVM's per-ITS "perfect"
// cache). Open addressing with linear probing over a power-of-two table that grows at
// half load, so a warm lookup is one hash and usually one probe. Invalidation is a full
// flush, done in O(1) by bumping a generation number.
#include <cstdint>
#include <optional>
#include <vector>

#include "remap/its/its_walk.h"

namespace irqremap::its {

class TranslationCache {
 public:
  TranslationCache() { slots_.resize(kInitial); }

  static constexpr uint64_t key(uint32_t devid, uint32_t eventid) {
    return (uint64_t(devid) << 32) | eventid;
  }

  const Resolved* find(uint64_t k) const {
    const uint64_t m = slots_.size() - 1;
    for (uint64_t i = hash(k) & m;; i = (i + 1) & m) {
      const Slot& s = slots_[i];
      if (s.gen != gen_) return nullptr;
      if (s.key == k) return &s.value;
    }
  }

  void insert(uint64_t k, const Resolved& v) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(k, v);
  }

  void clear() {
    ++gen_;
    size_ = 0;
    if (gen_ == 0) {  // wrapped: make every slot stale for real
      for (Slot& s : slots_) s.gen = 0;
      gen_ = 1;
    }
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::size_t kInitial = 64;
  struct Slot {
    uint64_t key = 0;
    uint32_t gen = 0;
    Resolved value;
  };
  // Devices are scattered, events of one device stay adjacent: a device's interrupts
  // share cache lines, as its ITEs do in guest memory.
  static uint64_t hash(uint64_t k) {
    const uint64_t dev = k >> 32, ev = k & 0xFFFF'FFFF;
    return ((dev * 0x9E3779B97F4A7C15ull) >> 24) + ev;
  }
  void place(uint64_t k, const Resolved& v) {
    const uint64_t m = slots_.size() - 1;
    for (uint64_t i = hash(k) & m;; i = (i + 1) & m) {
      Slot& s = slots_[i];
      if (s.gen != gen_) {
        s = Slot{k, gen_, v};
        ++size_;
        return;
      }
      if (s.key == k) {
        s.value = v;
        return;
      }
    }
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const uint32_t g = gen_;
    size_ = 0;
    for (const Slot& s : old)
      if (s.gen == g) place(s.key, s.value);
  }

  std::vector<Slot> slots_;
  uint32_t gen_ = 1;
  std::size_t size_ = 0;
};

}  // namespace irqremap::its
