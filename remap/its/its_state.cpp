// The ITS's part of a machine snapshot (its.h, Its::state).
#include <fmt/format.h>

#include <bit>

#include "remap/its/its.h"
#include "remap/its/lpi_format.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

namespace irqremap::its {

using namespace reg;

void Its::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "its");
  bool enabled = enabled_;
  io.field("GITS_CTLR.Enabled", enabled);
  io.field("GITS_CBASER", cbaser_);
  io.field("GITS_CWRITER", cwriter_);
  io.field("GITS_CREADR", creadr_);
  io.field("GITS_CREADR.Stalled", stalled_);
  for (unsigned n = 0; n < baser_.size(); ++n) io.field(fmt::format("GITS_BASER{}", n), baser_[n]);
  {
    snapshot::Io::Group s(io, "stats");
    io.field("translations", stats_.translations);
    io.field("cache_hits", stats_.cache_hits);
    io.field("cache_misses", stats_.cache_misses);
    io.field("invalidations", stats_.invalidations);
    io.field("faults", stats_.faults);
    io.field("commands", commands_);
    io.field("errors", error_count_);
  }
  {
    snapshot::Io::Group e(io, "command_errors");
    const size_t n = io.count("count", errors_.size(), kMaxKeptErrors);
    if (io.loading()) errors_.assign(n, CommandErrorRecord{});
    for (CommandErrorRecord& r : errors_) {
      snapshot::Io::Group one(io, "error");
      io.field("code", r.code);
      for (unsigned i = 0; i < 4; ++i) io.field(fmt::format("DW{}", i), r.command[i]);
      io.field("offset", r.offset);
      io.text("what", r.what, 4096);
    }
  }
  // The pages the ITS wrote ITEs to (mappings() looks for valid ITEs there).
  std::vector<uint64_t> pages;
  if (io.saving())
    for (const auto& [chunk, bits] : ite_pages_)
      for (uint64_t w = 0; w < bits.size(); ++w)
        for (uint64_t b = bits[w]; b != 0; b &= b - 1)
          pages.push_back(chunk << 18 | (w * 64 + uint64_t(std::countr_zero(b))));
  io.values("ite_pages", pages, size_t{1} << 22);
  // IHI0069 §5.2 lets an ITS lose cached translations at any time, so an empty cache
  // would be a correct restore; but route() traces every lookup as a hit or a miss, and a
  // restored run must trace what the uninterrupted one traces. An entry is only ever what
  // a walk of the (restored) tables returned, so a loaded entry is checked for what a walk
  // can give: a redistributor this machine has, an LPI INTID below 2^lpi_bits, an ICID
  // inside the collections.
  cache_.state(io, [this](const Resolved& r) {
    return (r.rd < views_.size() || r.rd < target_.redistributor_count()) && r.intid >= lpi::kFirstLpi && uint64_t{r.intid} < (uint64_t{1} << config_.lpi_bits) &&
           r.icid < collection_limit();
  });
  if (!io.loading() || !io.ok()) return;
  // CBASER resets CREADR when written and cannot change while the ITS is enabled, so
  // CREADR is always a command boundary inside the queue CBASER describes (§12.19.3).
  const uint64_t queue = fields::get(cbaser_, CBASER_Valid) != 0 ? (fields::get(cbaser_, CBASER_Size) + 1) * 4096 : 0;
  if (!io.check(creadr_ % 32 == 0 && (creadr_ == 0 || creadr_ < queue), "GITS_CREADR is past the command queue"))
    return;
  if (!io.check(cwriter_ == (cwriter_ & CWRITER_Offset.word_mask()), "GITS_CWRITER has bits outside Offset")) return;
  ite_pages_.clear();
  last_chunk_ = ~uint64_t{0};
  last_ite_page_ = ~uint64_t{0};
  last_bits_ = nullptr;
  for (uint64_t p : pages) note_ite_written(p << 12);
  last_chunk_ = ~uint64_t{0};
  last_bits_ = nullptr;
  enabled_ = enabled;
  // The tables and the queue as latched at enable: while enabled, BASER and CBASER ignore
  // writes, so they are what was latched. latch() leaves the loaded cache alone.
  if (enabled_) latch();
}

}  // namespace irqremap::its
