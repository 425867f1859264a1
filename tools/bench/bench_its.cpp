// GICv3 ITS translation + LPI pend throughput: the translation cache on (warm) against
// the cache off, for 1 device x 1 event, 16 devices x 256 events (a third of the default
// bounded cache of 12,288 entries) and 4,096 devices x 256 events (85x beyond it: the
// full cache must not cost more than a lookup). The cache-off run of the same size is the baseline; ratios
// are printed at the end (issues 4 and 13). Each iteration is a full GITS_TRANSLATER
// path: (DeviceID, EventID) -> ITE -> CTE -> redistributor, and the pending bit set in
// the guest's pending table.
//
// BM_ItsScale is issue 13's data-centre case: 65,536 DeviceIDs x 256 EventIDs in a
// two-level device table, every mapping made through the real command queue (MAPC, then
// MAPD + 256 MAPTI per device, then SYNC), then every (DeviceID, EventID) delivered once
// cold and once warm, in sequential or random order. It reports setup and sweep times,
// ns per translation, translations per second and the peak RSS (VmHWM, reset before the
// case through /proc/self/clear_refs) including the guest's 192 MiB of ITTs.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <memory>
#include <string>
#include <vector>

#include "tools/bench/rss.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "remap/guest_memory.h"
#include "remap/its/command_format.h"
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
    ->Args({0, 16, 256, 0})
    ->Args({1, 16, 256, 0})
    ->Args({0, 16, 256, 1})
    ->Args({1, 16, 256, 1})
    ->Args({0, 4096, 256, 0})
    ->Args({1, 4096, 256, 0})
    ->Args({0, 4096, 256, 1})
    ->Args({1, 4096, 256, 1});

// --- Issue 13: 65,536 x 256 through the command queue ---

using bench::peak_rss_mib;
using bench::reset_peak_rss;
using bench::status_mib;

constexpr uint32_t kScaleDevices = 65536, kScaleEvents = 256;
// Guest layout: queue 64 KiB (as Linux's ITS driver allocates it), two-level device table (one
// 64 KiB level-1 page, 8 level-2 pages of 8,192 DTEs), flat collection table, LPI tables,
// then one 3 KiB ITT per device (256 ITEs of 12 bytes): 192 MiB.
constexpr uint64_t kSQueue = 0x4000'0000, kSQueueBytes = 0x1'0000;
// Commands written between two GITS_CWRITER writes: a driver publishes small batches (Linux
// writes CWRITER after each command), so the queue lines it writes are still in the host's
// cache when the ITS reads them.
constexpr unsigned kSBatch = 128;
constexpr uint64_t kSL1 = 0x4010'0000, kSL2 = 0x4020'0000, kSCol = 0x4030'0000;
constexpr uint64_t kSProp = 0x4040'0000, kSPend = 0x4050'0000, kSItt = 0x4100'0000;
constexpr uint64_t kSRamSize = 0x1000'0000;  // 256 MiB; pages never touched cost nothing
constexpr uint64_t kSIttBytes = kScaleEvents * its::table::kIteBytes;

struct ScaleRig {
  explicit ScaleRig(bool cache) {
    (void)mem.add_ram(kRam, kSRamSize, "ram");
    rds = std::make_unique<arm64::Redistributors>(mem, kCpus);
    its::ItsConfig cfg;
    cfg.cache = cache;
    unit = std::make_unique<its::Its>(mem, *rds, cfg);
    translater = cfg.base + its::reg::GITS_TRANSLATER;
    std::memset(mem.host_ptr(kSProp, 0x1'0000 - 8192), 0xA3, 0x1'0000 - 8192);
    for (unsigned n = 0; n < kCpus; ++n) {
      const uint64_t f = n * arm64::gicr::kFrameSize;
      rds->mmio_write(f + arm64::gicr::PROPBASER, 8, kSProp | 15);
      rds->mmio_write(f + arm64::gicr::PENDBASER, 8, (kSPend + n * 0x1'0000) | (1ull << 62));
      rds->mmio_write(f + arm64::gicr::CTLR, 4, 1);
    }
    // The driver's part of a two-level table: level-1 entries pointing at zeroed pages.
    for (uint64_t i = 0; i < kScaleDevices / 8192; ++i)
      (void)mem.write64(kSL1 + 8 * i, (kSL2 + i * 0x1'0000) | (1ull << 63));
    unit->mmio_write(its::reg::GITS_BASER, 8, kSL1 | (2ull << 8) | (1ull << 62) | (1ull << 63));
    unit->mmio_write(its::reg::GITS_BASER + 8, 8, kSCol | (2ull << 8) | (1ull << 63));
    unit->mmio_write(its::reg::GITS_CBASER, 8, kSQueue | (kSQueueBytes / 4096 - 1) | (1ull << 63));
    unit->mmio_write(its::reg::GITS_CTLR, 4, 1);
  }
  // Software's side of the queue: write one command at CWRITER; publish every kSBatch
  // commands and at the end.
  void push(const std::array<uint64_t, 4>& c) {
    std::memcpy(mem.host_ptr(kSQueue + wr, 32), c.data(), 32);
    wr = (wr + 32) % kSQueueBytes;
    if (++queued == kSBatch) publish();
  }
  void publish() {
    unit->mmio_write(its::reg::GITS_CWRITER, 8, wr);
    queued = 0;
  }
  void map_all() {
    using namespace its::cmd;
    for (uint32_t c = 0; c < kCpus; ++c) {
      std::array<uint64_t, 4> w{};
      fields::set(w, Op, uint64_t(Opcode::MAPC));
      fields::set(w, ICID, c);
      fields::set(w, RDbase, c);
      fields::set(w, V, 1);
      push(w);
    }
    for (uint32_t d = 0; d < kScaleDevices; ++d) {
      std::array<uint64_t, 4> w{};
      fields::set(w, Op, uint64_t(Opcode::MAPD));
      fields::set(w, DeviceID, d);
      fields::set(w, Size, 7);  // 256 EventIDs
      fields::set(w, ITT_addr, (kSItt + d * kSIttBytes) >> 8);
      fields::set(w, V, 1);
      push(w);
      for (uint32_t e = 0; e < kScaleEvents; ++e) {
        std::array<uint64_t, 4> m{};
        fields::set(m, Op, uint64_t(Opcode::MAPTI));
        fields::set(m, DeviceID, d);
        fields::set(m, EventID, e);
        fields::set(m, pINTID, 8192 + (d * kScaleEvents + e) % (0x1'0000 - 8192));
        fields::set(m, ICID, (d + e) % kCpus);
        push(m);
      }
    }
    std::array<uint64_t, 4> s{};
    fields::set(s, Op, uint64_t(Opcode::SYNC));
    push(s);
    publish();
  }
  // One pass over every (DeviceID, EventID); random order is a multiplicative
  // permutation of the 2^24 keys (an odd multiplier is a bijection mod 2^24).
  uint64_t sweep(bool random) {
    constexpr uint32_t n = kScaleDevices * kScaleEvents;
    uint64_t delivered = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t k = random ? (i * 0x9E37'79B1u) & (n - 1) : i;
      delivered += unit->deliver(MsiWrite{translater, k % kScaleEvents, k / kScaleEvents});
    }
    return delivered;
  }
  GuestMemory mem;
  std::unique_ptr<arm64::Redistributors> rds;
  std::unique_ptr<its::Its> unit;
  uint64_t translater = 0, wr = 0;
  unsigned queued = 0;
};

// This thread's CPU time in seconds: on a shared, loaded machine the wall clock also
// counts the time other processes ran, so both are reported.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

void BM_ItsScale(benchmark::State& state) {
  using clock = std::chrono::steady_clock;
  const bool cache = state.range(0) != 0, random = state.range(1) != 0;
  constexpr double n = double(kScaleDevices) * kScaleEvents;
  double setup = 0, cold = 0, warm = 0, rss = 0, rss_start = 0, setup_cpu = 0, cold_cpu = 0, warm_cpu = 0;
  for (auto _ : state) {
    reset_peak_rss();
    rss_start = status_mib("VmRSS:");  // what earlier cases left behind (heap not returned)
    const auto t0 = clock::now();
    const double c0 = cpu_seconds();
    ScaleRig rig(cache);
    rig.map_all();
    const auto t1 = clock::now();
    const double c1 = cpu_seconds();
    const uint64_t c = rig.sweep(random);
    const auto t2 = clock::now();
    const double c2 = cpu_seconds();
    const uint64_t w = rig.sweep(random);
    const auto t3 = clock::now();
    const double c3 = cpu_seconds();
    setup_cpu = c1 - c0;
    cold_cpu = c2 - c1;
    warm_cpu = c3 - c2;
    rss = peak_rss_mib();
    if (rig.unit->error_count() != 0 || c != uint64_t(n) || w != uint64_t(n)) {
      state.SkipWithError("a command failed or a translation did not deliver");
      return;
    }
    setup = std::chrono::duration<double>(t1 - t0).count();
    cold = std::chrono::duration<double>(t2 - t1).count();
    warm = std::chrono::duration<double>(t3 - t2).count();
    state.SetIterationTime(setup + cold + warm);
  }
  state.counters["setup_s"] = setup;
  state.counters["cold_ns"] = cold * 1e9 / n;
  state.counters["setup+cold_s"] = setup + cold;
  state.counters["warm_ns"] = warm * 1e9 / n;
  state.counters["warm_per_s"] = n / warm;
  state.counters["peak_rss_MiB"] = rss;
  state.counters["rss_before_MiB"] = rss_start;
  state.counters["cpu_setup+cold_s"] = setup_cpu + cold_cpu;
  state.counters["cpu_warm_ns"] = warm_cpu * 1e9 / n;
  state.counters["cpu_cold_ns"] = cold_cpu * 1e9 / n;
  state.SetLabel(fmt::format("65536 dev x 256 ev, two-level, {} order, cache {}",
                             random ? "random" : "sequential", cache ? "on" : "off"));
}
BENCHMARK(BM_ItsScale)
    ->ArgNames({"cache", "random"})
    ->Args({1, 0})
    ->Args({0, 0})
    ->Args({1, 1})
    ->Args({0, 1})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs)
      if (!r.error_occurred && r.run_type == Run::RT_Iteration)
        ns[r.benchmark_name()] = r.GetAdjustedRealTime();
    for (const Run& r : runs)
      if (!r.error_occurred && r.run_name.function_name == "BM_ItsScale")
        scale[r.run_name.args] = {r.counters.at("cpu_warm_ns"), r.counters.at("cpu_cold_ns")};
  }
  std::map<std::string, double> ns;
  std::map<std::string, std::pair<double, double>> scale;  // warm, cold CPU ns per translation
};
}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const char* shape :
       {"devices:1/events:1/shuffled:0", "devices:16/events:256/shuffled:0",
        "devices:16/events:256/shuffled:1", "devices:4096/events:256/shuffled:0",
        "devices:4096/events:256/shuffled:1"}) {
    const auto off = reporter.ns.find(fmt::format("BM_TranslateAndPend/cache:0/{}", shape));
    const auto warm = reporter.ns.find(fmt::format("BM_TranslateAndPend/cache:1/{}", shape));
    if (off == reporter.ns.end() || warm == reporter.ns.end()) continue;
    fmt::print("{}: cache off {:.1f} ns, warm cache {:.1f} ns per translation + LPI pend; "
               "warm/off time ratio {:.2f} ({:.2f}x the cache-off throughput)\n",
               shape, off->second, warm->second, warm->second / off->second,
               off->second / warm->second);
  }
  for (const char* order : {"random:0", "random:1"}) {
    const auto on = reporter.scale.find(fmt::format("cache:1/{}", order));
    const auto off = reporter.scale.find(fmt::format("cache:0/{}", order));
    if (on == reporter.scale.end() || off == reporter.scale.end()) continue;
    fmt::print("65536 x 256 {}: cache on/off CPU-time ratio warm {:.2f}, cold {:.2f}\n", order,
               on->second.first / off->second.first, on->second.second / off->second.second);
  }
  return 0;
}
