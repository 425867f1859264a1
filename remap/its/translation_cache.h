#pragma once
// ITS translation cache keyed by (DeviceID, EventID), as KVM's vgic-its LPI translation
// cache. Bounded, like the ITS caches hardware has and KVM's 2019 per-VM LRU (16 entries
// per vCPU): the capacity is an ItsConfig knob, so the cache costs the same at 16.7 M mapped events as at 16.
//
// Shape, chosen so every lookup costs one hash and at most kWays compares whatever the
// key pattern (sequential DeviceIDs, sequential EventIDs, random):
//  - set-associative: a key can live only in the kWays ways of one bucket, and a bucket
//    is one 64-byte host cache line. No probing sequence exists, so no run of neighbours
//    can pile up (open addressing with linear probing did: issue 13 measured ~466 probes
//    per lookup at 16.7 M entries when one device's events hashed to adjacent slots);
//  - the hash mixes every key bit into the bucket number, so neither a device's events nor
//    one event across devices share buckets more than chance says;
//  - a full bucket replaces its ways in turn (round robin). Eviction only forgets: an
//    entry is always a value a fresh walk returned after the last flush, so a hit equals a
//    walk, evicted or not (docs/DESIGN.md, "Caches");
//  - a flush (every invalidation point in its.h) bumps a generation number, O(1) however
//    big the cache: a bucket tagged with an older generation reads as empty;
//  - a stream that never comes back (a sweep over more events than the cache holds) would
//    pay a host cache miss per lookup for nothing, so the cache watches its hit rate and,
//    when almost nothing hits, leaves all but one bucket in kSampleEvery alone (set
//    sampling, as adaptive hardware caches decide insertion): keys of the sampled buckets
//    are still looked up and inserted, and when they hit again the whole cache comes
//    back. Skipping the cache is always correct, since an entry only ever equals the walk.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>

#include "remap/its/its_walk.h"
#include "snapshot/state_io.h"

namespace irqremap::its {

class TranslationCache {
 public:
  static constexpr unsigned kWays = 3;  // 3 ways + tags fit one 64-byte bucket

  // Room for at least `entries` translations (rounded up to whole power-of-two buckets);
  // 0 is a cache that holds nothing.
  explicit TranslationCache(std::size_t entries) { resize(entries); }

  static constexpr uint64_t key(uint32_t devid, uint32_t eventid) {
    return (uint64_t(devid) << 32) | eventid;
  }

  // The cached translation of `k`, or false. Copies out so no pointer into the table
  // outlives the next insert.
  bool find(uint64_t k, Resolved& out) const {
    if (buckets_ == 0) return false;
    const std::size_t i = index(k);
    if (bypass_ && !sampled(i)) return false;
    const bool hit = probe(table_[i], k, out);
    count(hit);
    return hit;
  }
  // Lookup without touching the hit-rate bookkeeping (introspection).
  bool contains(uint64_t k) const {
    Resolved r;
    return buckets_ != 0 && probe(table_[index(k)], k, r);
  }
  // True while the cache stands aside for a stream that does not hit (see above).
  bool bypassing() const { return bypass_; }

  // Remembers a fresh walk's result. A redistributor number that does not fit the tag
  // (GICR_TYPER.Processor_Number is 16 bits, so only a foreign LpiTarget could) is not
  // cached: a miss is always correct.
  void insert(uint64_t k, const Resolved& v) {
    if (buckets_ == 0 || v.rd > 0xFFFF) return;
    const std::size_t i = index(k);
    if (bypass_ && !sampled(i)) return;
    Bucket& b = table_[i];
    if (b.gen != gen_) {  // empty since the last flush
      b.gen = gen_;
      b.used = 0;
      b.next = 0;
    }
    unsigned w = 0;
    while (w < kWays && (b.used >> w & 1) != 0 && b.key[w] != k) ++w;
    if (w == kWays) {
      w = b.next;  // full: replace in turn
      b.next = uint8_t((b.next + 1) % kWays);
    } else if ((b.used >> w & 1) == 0) {
      b.used = uint8_t(b.used | 1u << w);
      ++size_;
    }
    b.key[w] = k;
    b.intid[w] = v.intid;
    b.rd[w] = uint16_t(v.rd);
    b.icid[w] = v.icid;
  }

  void clear() {
    ++gen_;
    size_ = 0;
    if (gen_ == 0) {  // wrapped: make every bucket stale for real
      std::fill_n(table_.get(), buckets_, Bucket{});
      gen_ = 1;
    }
  }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return buckets_ * kWays; }
  static constexpr std::size_t bytes_per_entry() { return sizeof(Bucket) / kWays; }

  // Its part of a snapshot (translation_cache_state.cpp): everything that decides a future
  // hit or miss — each bucket that holds entries since the last flush, with its ways in
  // order and its round-robin victim, and the hit-rate watch (bypass, the window's
  // counts). Loading refuses a bucket past the table, an entry that does not hash to its
  // bucket, a way order or victim insert() cannot produce, and an entry `plausible`
  // rejects (the ITS: a redistributor it lacks, an INTID that is no LPI, an ICID past
  // its collections); a good load replaces the whole contents.
  void state(snapshot::Io& io, const std::function<bool(const Resolved&)>& plausible);

 private:
  struct alignas(64) Bucket {
    uint32_t gen = 0;   // generation the ways below belong to
    uint8_t used = 0;   // bit w: way w holds an entry
    uint8_t next = 0;   // round-robin victim when all ways are used
    uint16_t icid[kWays] = {};
    uint16_t rd[kWays] = {};
    uint32_t intid[kWays] = {};
    uint64_t key[kWays] = {};
  };
  static_assert(sizeof(Bucket) == 64);

  // Hit-rate watch: decide every window_ counted lookups, at least kWindow and twice the
  // capacity, so that a cold cache filling up (or refilling after the bypass) is never
  // taken for a stream. Enter the bypass below 1 hit in 32; leave it when the sampled
  // buckets hit at least 1 in 8 (the gap keeps a workload at the edge from flapping).
  static constexpr unsigned kSampleEvery = 32, kWindow = 4096;
  bool probe(const Bucket& b, uint64_t k, Resolved& out) const {
    if (b.gen != gen_) return false;  // empty since the last flush
    for (unsigned w = 0; w < kWays; ++w)
      if ((b.used >> w & 1) != 0 && b.key[w] == k) {
        out = Resolved{b.rd[w], b.intid[w], b.icid[w]};
        return true;
      }
    return false;
  }
  static bool sampled(std::size_t bucket) { return bucket % kSampleEvery == 0; }
  void count(bool hit) const {
    hits_ += hit ? 1 : 0;
    if (++lookups_ < window_) return;
    bypass_ = bypass_ ? hits_ * 8 < lookups_ : hits_ * 32 < lookups_;
    hits_ = lookups_ = 0;
  }

  // Fibonacci hashing: the top bits of key x 2^64/phi depend on every key bit, and keys in
  // arithmetic progression (one device's events: step 1; one event across devices: step
  // 2^32) land evenly spread over the buckets instead of next to each other.
  std::size_t index(uint64_t k) const {
    return std::size_t((k * 0x9E37'79B9'7F4A'7C15ull) >> shift_) & (buckets_ - 1);
  }
  void resize(std::size_t entries) {
    buckets_ = entries == 0 ? 0 : std::bit_ceil((entries + kWays - 1) / kWays);
    shift_ = buckets_ <= 1 ? 63 : 64 - unsigned(std::countr_zero(buckets_));
    window_ = std::max<uint64_t>(kWindow, 2 * uint64_t(buckets_) * kWays);
    table_.reset(buckets_ == 0 ? nullptr : new Bucket[buckets_]);
  }

  std::unique_ptr<Bucket[]> table_;
  std::size_t buckets_ = 0;
  unsigned shift_ = 63;
  uint32_t gen_ = 1;
  std::size_t size_ = 0;
  mutable bool bypass_ = false;
  mutable uint64_t hits_ = 0, lookups_ = 0;
  uint64_t window_ = kWindow;
};

}  // namespace irqremap::its
