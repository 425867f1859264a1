// The ITS translation cache's part of a machine snapshot (translation_cache.h,
// TranslationCache::state; why it is saved at all: its_state.cpp).
//
// A bucket is saved only when it holds entries of the current generation: a bucket of an
// older one reads as empty and insert() starts it afresh (ways from 0, victim 0), so
// leaving it out changes no future hit, miss or eviction. Buckets go in ascending order
// and their ways in way order, so a restored cache saves the very bytes it was read from.
#include <fmt/format.h>

#include "remap/its/translation_cache.h"

namespace irqremap::its {

void TranslationCache::state(snapshot::Io& io, const std::function<bool(const Resolved&)>& plausible) {
  snapshot::Io::Group g(io, "translation_cache");
  // The hit-rate watch: whether the cache stands aside, and the open window's counts.
  bool bypass = bypass_;
  uint64_t hits = hits_, lookups = lookups_;
  io.field("bypass", bypass);
  io.field("window_hits", hits);
  io.field("window_lookups", lookups);
  io.check(lookups < window_ && hits <= lookups, "the hit-rate window counts more lookups than a window holds");

  struct Saved {
    uint32_t index = 0;
    uint8_t next = 0;
    unsigned ways = 0;
    uint64_t key[kWays] = {};
    Resolved value[kWays] = {};
  };
  std::vector<Saved> saved;
  if (io.saving())
    for (std::size_t i = 0; i < buckets_; ++i) {
      const Bucket& b = table_[i];
      if (b.gen != gen_ || b.used == 0) continue;
      Saved s{uint32_t(i), b.next, unsigned(std::popcount(b.used)), {}, {}};
      for (unsigned w = 0; w < s.ways; ++w) {
        s.key[w] = b.key[w];
        s.value[w] = Resolved{b.rd[w], b.intid[w], b.icid[w]};
      }
      saved.push_back(s);
    }
  const std::size_t n = io.count("buckets", saved.size(), buckets_);
  if (io.loading()) saved.assign(n, Saved{});
  std::size_t entries = 0;
  for (std::size_t i = 0; i < saved.size(); ++i) {
    Saved& s = saved[i];
    snapshot::Io::Group bg(io, "bucket");
    io.field("index", s.index);
    io.field("next", s.next);
    std::size_t ways = io.count("ways", s.ways, kWays);
    s.ways = unsigned(ways);
    // insert() fills ways 0, 1, 2 in turn and moves the victim only once all are used.
    io.check(s.index < buckets_, "a bucket past the cache's table");
    io.check(i == 0 || s.index > saved[i - 1].index, "buckets out of ascending order (or twice)");
    io.check(s.ways >= 1, "a bucket with no entries");
    io.check(s.next < kWays && (s.next == 0 || s.ways == kWays), "a round-robin victim insert() cannot leave");
    for (unsigned w = 0; w < s.ways; ++w) {
      snapshot::Io::Group wg(io, "way");
      uint32_t devid = uint32_t(s.key[w] >> 32), eventid = uint32_t(s.key[w]);
      uint32_t rd = s.value[w].rd;
      io.field("DeviceID", devid);
      io.field("EventID", eventid);
      io.field("RD", rd);
      io.field("pINTID", s.value[w].intid);
      io.field("ICID", s.value[w].icid);
      s.key[w] = key(devid, eventid);
      s.value[w].rd = rd;
      if (io.loading() && io.ok()) {
        io.check(buckets_ != 0 && index(s.key[w]) == s.index, "an entry in a bucket its key does not hash to");
        io.check(rd <= 0xFFFF && plausible(s.value[w]), "an entry no walk of the tables can give");
        for (unsigned o = 0; o < w; ++o) io.check(s.key[o] != s.key[w], "an entry twice in one bucket");
      }
    }
    entries += s.ways;
  }
  if (!io.loading() || !io.ok()) return;
  std::fill_n(table_.get(), buckets_, Bucket{});
  gen_ = 1;
  for (const Saved& s : saved) {
    Bucket& b = table_[s.index];
    b.gen = gen_;
    b.used = uint8_t((1u << s.ways) - 1);
    b.next = s.next;
    for (unsigned w = 0; w < s.ways; ++w) {
      b.key[w] = s.key[w];
      b.intid[w] = s.value[w].intid;
      b.rd[w] = uint16_t(s.value[w].rd);
      b.icid[w] = s.value[w].icid;
    }
  }
  size_ = entries;
  bypass_ = bypass;
  hits_ = hits;
  lookups_ = lookups;
}

}  // namespace irqremap::its
