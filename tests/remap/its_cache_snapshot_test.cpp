// The ITS translation cache in a machine snapshot (translation_cache.h, TranslationCache::state):
// IHI0069 §5.2 lets an ITS drop cached translations, but the model traces every lookup
// as a hit or a miss, so a restored cache must hit, miss, evict and stand aside exactly
// where the saved one would have; and a stream that describes a cache insert() cannot
// build is refused with a message.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "remap/its/translation_cache.h"
#include "snapshot/state_io.h"

using irqremap::its::Resolved;
using irqremap::its::TranslationCache;
using irqremap::snapshot::Io;

namespace {

bool any(const Resolved&) { return true; }

std::vector<uint8_t> save(TranslationCache& c) {
  Io io = Io::saver();
  c.state(io, any);
  REQUIRE(io.ok());
  return io.take();
}

// Loads `bytes` into `c`; the refusal message, or "" when it loaded.
std::string load(TranslationCache& c, const std::vector<uint8_t>& bytes,
                 bool (*plausible)(const Resolved&) = any) {
  Io io = Io::loader(bytes);
  c.state(io, plausible);
  if (io.ok() && !io.at_end()) return "records left over";
  return io.error();
}

// The hits, misses and contents of the same lookups and inserts on two caches.
std::string drive(TranslationCache& c, uint32_t seed, unsigned n) {
  std::mt19937 rng(seed);
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    const uint64_t k = TranslationCache::key(rng() % 8, rng() % 64);
    Resolved r;
    const bool hit = c.find(k, r);
    out += hit ? 'h' : 'm';
    if (!hit) c.insert(k, Resolved{uint32_t(k % 4), 8192 + uint32_t(k % 1000), uint16_t(k % 7)});
  }
  return out + " size " + std::to_string(c.size()) + (c.bypassing() ? " bypass" : "");
}

// A hand-written stream: the window counts, then one bucket.
struct Hand {
  uint64_t hits = 0, lookups = 0;
  uint64_t buckets = 1;
  uint32_t index = 0;
  uint8_t next = 0;
  std::vector<uint64_t> keys{TranslationCache::key(1, 2)};
  uint32_t intid = 8192;
};
std::vector<uint8_t> hand(const Hand& h) {
  Io io = Io::saver();
  io.begin("translation_cache");
  bool bypass = false;
  uint64_t hits = h.hits, lookups = h.lookups;
  io.field("bypass", bypass);
  io.field("window_hits", hits);
  io.field("window_lookups", lookups);
  io.count("buckets", h.buckets, h.buckets);
  for (uint64_t b = 0; b < h.buckets; ++b) {
    Io::Group bg(io, "bucket");
    uint32_t index = h.index + uint32_t(b);
    uint8_t next = h.next;
    io.field("index", index);
    io.field("next", next);
    io.count("ways", h.keys.size(), h.keys.size());
    for (uint64_t k : h.keys) {
      Io::Group wg(io, "way");
      uint32_t devid = uint32_t(k >> 32), eventid = uint32_t(k), rd = 0, intid = h.intid;
      uint16_t icid = 0;
      io.field("DeviceID", devid);
      io.field("EventID", eventid);
      io.field("RD", rd);
      io.field("pINTID", intid);
      io.field("ICID", icid);
    }
  }
  io.end();
  return io.take();
}

// The bucket `k` lives in, found by the one index a cache of `entries` accepts it at.
uint32_t bucket_of(uint64_t k, std::size_t entries) {
  for (uint32_t i = 0;; ++i) {
    TranslationCache c(entries);
    Hand h;
    h.index = i;
    h.keys = {k};
    const std::string why = load(c, hand(h));
    if (why.empty()) return i;
    REQUIRE_MESSAGE(i < entries, why);
  }
}

}  // namespace

TEST_CASE("its cache snapshot: a restored cache hits, misses and evicts as the saved one, bypass and round-robin victims included") {
  // 32 buckets of 3 ways and 512 keys: full buckets whose victims have moved.
  for (const unsigned warmup : {300u, 20'000u}) {
    CAPTURE(warmup);
    TranslationCache a(96), b(96);
    drive(a, 1, warmup);
    if (warmup > 1000) {
      // A sweep that never comes back makes the cache stand aside.
      for (uint32_t e = 0; e < 9000; ++e) {
        Resolved r;
        a.find(TranslationCache::key(100, e), r);
      }
      REQUIRE(a.bypassing());
    }
    const std::vector<uint8_t> file = save(a);
    REQUIRE(load(b, file) == "");
    CHECK(b.size() == a.size());
    CHECK(b.bypassing() == a.bypassing());
    CHECK(save(b) == file);
    const std::string want = drive(a, 2, 6000), have = drive(b, 2, 6000);
    CHECK(want.find('h') != std::string::npos);
    CHECK(want == have);
    // An empty cache in its place (what dropping it would give) goes on otherwise.
    TranslationCache empty(96);
    CHECK(drive(empty, 2, 6000) != want);
  }
}

TEST_CASE("its cache snapshot: a cache insert() cannot build is refused with a message") {
  const uint64_t k = TranslationCache::key(1, 2);
  const uint32_t at = bucket_of(k, 96);
  uint64_t k2 = 0;  // another key of the same bucket
  for (uint32_t e = 3; k2 == 0; ++e)
    if (bucket_of(TranslationCache::key(1, e), 96) == at) k2 = TranslationCache::key(1, e);
  auto refused = [](Hand h, bool (*plausible)(const Resolved&) = any) {
    TranslationCache c(96);
    return load(c, hand(h), plausible);
  };
  Hand good;
  good.index = at;
  CHECK(refused(good) == "");
  Hand h = good;
  h.index = (at + 1) % 32;
  CHECK(refused(h).find("an entry in a bucket its key does not hash to") != std::string::npos);
  h = good;
  h.index = 32;
  CHECK(refused(h).find("a bucket past the cache's table") != std::string::npos);
  h = good;
  h.buckets = 33;
  CHECK(refused(h).find("translation_cache/: buckets: 33 elements, more than the 32") != std::string::npos);
  h = good;
  h.next = 1;  // a victim moves only once all three ways are used
  CHECK(refused(h).find("a round-robin victim insert() cannot leave") != std::string::npos);
  h = good;
  h.keys = {k, k2, k};
  h.next = 2;
  CHECK(refused(h).find("an entry twice in one bucket") != std::string::npos);
  h = good;
  h.lookups = 1 << 20;
  CHECK(refused(h).find("the hit-rate window counts more lookups") != std::string::npos);
  h = good;
  h.intid = 5;
  CHECK(refused(h, [](const Resolved& r) { return r.intid >= 8192; }).find("an entry no walk of the tables can give") !=
        std::string::npos);
}
