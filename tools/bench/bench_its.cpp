// GICv3 ITS translation + LPI pend throughput: the translation cache on (warm) against
// the cache off, for 1 device x 1 event and 4,096 devices x 256 events. The cache-off
// run of the same size is the baseline; ratios are printed at the end (issue 4 "Speed").
// Each iteration is a full GITS_TRANSLATER path: (DeviceID, EventID) -> ITE -> CTE ->
// redistributor, and the pending bit set in the guest's pending table.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <memory>
#include <string>
#include <vector>

#include "arch/arm64/gicv3_redistributor.h"
#include "remap/guest_memory.h"
#include "remap/its/its.h"
#include "remap/its/its_walk.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

using namespace irqremap;

namespace {
constexpr uint64_t kRam = 0x4000'0000, kRamSize = 0x200'0000;
constexpr uint64_t kQueue = 0x4000'0000, kDevTable = 0x4001'0000, kColTable = 0x4002'0000;
constexpr uint64_t kProp = 0x4003'0000, kPend = 0x4010'0000, kItt = 0x4100'0000;
constexpr unsigned kCpus = 4;

struct Setup {
  Setup(bool cache, uint32_t devices, uint32_t events) {
    (void)mem.add_ram(kRam, kRamSize, "ram");
    rds = std::make_unique<arm64::Redistributors>(mem, kCpus);
    its::ItsConfig cfg;
    cfg.cache = cache;
    unit = std::make_unique<its::Its>(mem, *rds, cfg);
    for (uint64_t i = 0; i < 0x1'0000 - 8192; ++i) (void)mem.write8(kProp + i, 0xA3);
    for (unsigned n = 0; n < kCpus; ++n) {
      const uint64_t f = n * arm64::gicr::kFrameSize;
      rds->mmio_write(f + arm64::gicr::PROPBASER, 8, kProp | 15);
      rds->mmio_write(f + arm64::gicr::PENDBASER, 8, (kPend + n * 0x1'0000) | (1ull << 62));
      rds->mmio_write(f + arm64::gicr::CTLR, 4, 1);
    }
    // Tables written the way MAPD/MAPC/MAPTI leave them (same layouts, same helpers).
    for (uint32_t c = 0; c < kCpus; ++c) (void)its::write_cte(mem, kColTable + 8 * c, {true, c});
    const uint64_t itt_bytes = uint64_t(events) * its::table::kIteBytes;
    const uint64_t itt_stride = (itt_bytes + 0xFF) & ~uint64_t{0xFF};
    uint8_t size = 0;
    while ((uint64_t{2} << size) < events) ++size;
    for (uint32_t d = 0; d < devices; ++d) {
      const uint64_t itt = kItt + d * itt_stride;
      (void)its::write_dte(mem, kDevTable + 8 * d, {true, size, itt});
      for (uint32_t e = 0; e < events; ++e) {
        const uint32_t lpi = 8192 + (d * events + e) % (0x1'0000 - 8192);
        (void)its::write_ite(mem, its::ite_address({true, size, itt}, e),
                             {true, true, lpi, uint16_t((d + e) % kCpus)});
        msis.push_back(MsiWrite{cfg.base + its::reg::GITS_TRANSLATER, e, d});
      }
    }
    unit->mmio_write(its::reg::GITS_BASER, 8, kDevTable | (2ull << 8) | (1ull << 63));
    unit->mmio_write(its::reg::GITS_BASER + 8, 8, kColTable | (2ull << 8) | (1ull << 63));
    unit->mmio_write(its::reg::GITS_CBASER, 8, kQueue | (1ull << 63));
    unit->mmio_write(its::reg::GITS_CTLR, 4, 1);
  }
  GuestMemory mem;
  std::unique_ptr<arm64::Redistributors> rds;
  std::unique_ptr<its::Its> unit;
  std::vector<MsiWrite> msis;
};

void BM_TranslateAndPend(benchmark::State& state) {
  const bool cache = state.range(0) != 0;
  const auto devices = uint32_t(state.range(1)), events = uint32_t(state.range(2));
  const bool shuffled = state.range(3) != 0;
  Setup s(cache, devices, events);
  if (shuffled) {  // random arrival order: no locality between consecutive MSIs
    std::mt19937 rng(42);
    std::shuffle(s.msis.begin(), s.msis.end(), rng);
  }
  for (const MsiWrite& m : s.msis) s.unit->translate(m);  // warm the cache
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.unit->translate(s.msis[i]));
    if (++i == s.msis.size()) i = 0;
  }
  if (!std::holds_alternative<LpiDelivery>(s.unit->translate(s.msis.back())))
    state.SkipWithError("translation did not deliver");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel(fmt::format("{} dev x {} ev, {} order, cache {}", devices, events,
                             shuffled ? "random" : "sequential", cache ? "warm" : "off"));
}
BENCHMARK(BM_TranslateAndPend)
    ->ArgNames({"cache", "devices", "events", "shuffled"})
    ->Args({0, 1, 1, 0})
    ->Args({1, 1, 1, 0})
    ->Args({0, 4096, 256, 0})
    ->Args({1, 4096, 256, 0})
    ->Args({0, 4096, 256, 1})
    ->Args({1, 4096, 256, 1});

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs)
      if (!r.error_occurred && r.run_type == Run::RT_Iteration)
        ns[r.benchmark_name()] = r.GetAdjustedRealTime();
  }
  std::map<std::string, double> ns;
};
}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const char* shape : {"devices:1/events:1/shuffled:0", "devices:4096/events:256/shuffled:0",
                            "devices:4096/events:256/shuffled:1"}) {
    const auto off = reporter.ns.find(fmt::format("BM_TranslateAndPend/cache:0/{}", shape));
    const auto warm = reporter.ns.find(fmt::format("BM_TranslateAndPend/cache:1/{}", shape));
    if (off == reporter.ns.end() || warm == reporter.ns.end()) continue;
    fmt::print("{}: cache off {:.1f} ns, warm cache {:.1f} ns per translation + LPI pend; "
               "warm/off time ratio {:.2f} ({:.2f}x the cache-off throughput)\n",
               shape, off->second, warm->second, warm->second / off->second,
               off->second / warm->second);
  }
  return 0;
}
