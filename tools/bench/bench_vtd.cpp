// VT-d translation throughput: a warm interrupt entry cache against the cache off, over
// 1 and 65,536 IRTEs, in sequential and random order. The cache-off run of the same
// table size and order is the baseline; the ratios are printed at the end of the run
// (issues 3 and 13 "Speed").
//
// BM_VtdScale is issue 13's sweep: a 65,536-entry IRT, the IEC sized by vtd::Config
// (off, 4,096 entries, or the whole table), every index translated once cold and once
// warm, sequential or random; it reports ns per translation, translations per second and
// the peak RSS (VmHWM, reset before the case through /proc/self/clear_refs).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/bench/rss.h"
#include "remap/guest_memory.h"
#include "remap/trace.h"
#include "remap/vtd/apic_bus.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"
#include "remap/vtd/registers.h"
#include "remap/vtd/unit.h"

using namespace irqremap;

namespace {
constexpr uint64_t kIrt = 0x100000;
constexpr unsigned kTableEntries = 65536;

struct CountingBus final : vtd::ApicBus {
  void deliver(const ApicDelivery& r) override { sum += r.vector; }
  uint64_t sum = 0;
};

struct Setup {
  explicit Setup(unsigned iec_entries) : unit(mem, bus, trace, vtd::Config{.iec_entries = iec_entries}) {
    (void)mem.add_ram(kIrt, kTableEntries * 16, "irt");
    for (uint32_t i = 0; i < kTableEntries; ++i) {
      vtd::Irte e{};
      fields::set(e, vtd::irte::P, 1);
      fields::set(e, vtd::irte::V, 0x20 + i % 200);
      fields::set(e, vtd::irte::DST, (i % 8) << 8);
      fields::set(e, vtd::irte::SVT, 1);
      fields::set(e, vtd::irte::SID, make_rid(0, 3, 0));
      (void)mem.write64(kIrt + 16 * i, e[0]);
      (void)mem.write64(kIrt + 16 * i + 8, e[1]);
    }
    unit.mmio_write(vtd::reg::IRTA, 4, kIrt | 0xF);
    unit.mmio_write(vtd::reg::GCMD, 4, 1u << vtd::gcmd::SIRTP.lo);
    unit.mmio_write(vtd::reg::GCMD, 4, (1u << vtd::gcmd::IRE.lo));
  }
  GuestMemory mem;
  Trace trace;  // no sink: tracing costs one branch
  CountingBus bus;
  vtd::Unit unit;
};

// Index i of a sweep: sequential, or an odd-multiplier permutation of the 2^16 indexes.
uint32_t sweep_index(uint32_t i, bool random) { return random ? (i * 0x9E37'79B1u) & 0xFFFF : i; }

void BM_Translate(benchmark::State& state) {
  const bool cache = state.range(0) != 0;
  const auto irtes = unsigned(state.range(1));
  const bool random = state.range(2) != 0;
  Setup s(cache ? kTableEntries : 0);
  std::vector<MsiWrite> msis;
  for (uint32_t i = 0; i < irtes; ++i)
    msis.push_back(MsiWrite{vtd::msi::remappable_address(irtes == kTableEntries ? sweep_index(i, random) : i, false), 0,
                            make_rid(0, 3, 0)});
  for (const MsiWrite& m : msis) s.unit.translate(m);  // warm the cache
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.unit.translate(msis[i]));
    if (++i == msis.size()) i = 0;
  }
  if (!std::holds_alternative<ApicDelivery>(s.unit.translate(msis[0])))
    state.SkipWithError("translation did not deliver");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel(fmt::format("{} IRTE{}, {} order, cache {}", irtes, irtes == 1 ? "" : "s",
                             random ? "random" : "sequential", cache ? "warm" : "off"));
}
BENCHMARK(BM_Translate)
    ->ArgNames({"cache", "irtes", "random"})
    ->Args({0, 1, 0})
    ->Args({1, 1, 0})
    ->Args({0, 65536, 0})
    ->Args({1, 65536, 0})
    ->Args({0, 65536, 1})
    ->Args({1, 65536, 1});

using bench::peak_rss_mib;
using bench::reset_peak_rss;
using bench::status_mib;

void BM_VtdScale(benchmark::State& state) {
  using clock = std::chrono::steady_clock;
  const auto iec = unsigned(state.range(0));
  const bool random = state.range(1) != 0;
  constexpr double n = kTableEntries;
  double cold = 0, warm = 0, rss = 0, rss_start = 0;
  for (auto _ : state) {
    reset_peak_rss();
    rss_start = status_mib("VmRSS:");  // what earlier cases left behind (heap not returned)
    Setup s(iec);
    const uint16_t sid = make_rid(0, 3, 0);
    auto sweep = [&] {
      for (uint32_t i = 0; i < kTableEntries; ++i)
        s.unit.translate(MsiWrite{vtd::msi::remappable_address(sweep_index(i, random), false), 0, sid});
    };
    const auto t0 = clock::now();
    sweep();
    const auto t1 = clock::now();
    for (int k = 0; k < 16; ++k) sweep();  // warm: 16 sweeps, so the figure is not one noisy pass
    const auto t2 = clock::now();
    rss = peak_rss_mib();
    cold = std::chrono::duration<double>(t1 - t0).count();
    warm = std::chrono::duration<double>(t2 - t1).count() / 16;
    if (s.bus.sum == 0) state.SkipWithError("nothing delivered");
    state.SetIterationTime(cold + 16 * warm);
  }
  state.counters["cold_ns"] = cold * 1e9 / n;
  state.counters["warm_ns"] = warm * 1e9 / n;
  state.counters["warm_per_s"] = n / warm;
  state.counters["peak_rss_MiB"] = rss;
  state.counters["rss_before_MiB"] = rss_start;
  state.SetLabel(fmt::format("65536 IRTEs, {} order, IEC {}", random ? "random" : "sequential",
                             iec == 0 ? std::string("off") : fmt::format("{} entries", iec)));
}
BENCHMARK(BM_VtdScale)
    ->ArgNames({"iec", "random"})
    ->Args({0, 0})
    ->Args({4096, 0})
    ->Args({65536, 0})
    ->Args({0, 1})
    ->Args({4096, 1})
    ->Args({65536, 1})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// Collects ns/translation per run so the ratios can be printed after the table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      // With --benchmark_repetitions the mean stands for the run.
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "mean") continue;
      if (r.run_name.function_name == "BM_VtdScale") {
        scale[r.run_name.args] = {r.counters.at("warm_ns"), r.counters.at("cold_ns")};
        continue;
      }
      ns[r.run_name.str()] = {r.GetAdjustedRealTime(), r.GetAdjustedCPUTime()};
    }
  }
  std::map<std::string, std::pair<double, double>> ns;  // real, CPU ns per translation
  std::map<std::string, std::pair<double, double>> scale;  // warm, cold ns (BM_VtdScale)
};
}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const char* n : {"1/random:0", "65536/random:0", "65536/random:1"}) {
    const auto off = reporter.ns.find(fmt::format("BM_Translate/cache:0/irtes:{}", n));
    const auto warm = reporter.ns.find(fmt::format("BM_Translate/cache:1/irtes:{}", n));
    if (off == reporter.ns.end() || warm == reporter.ns.end()) continue;
    const auto [off_real, off_cpu] = off->second;
    const auto [warm_real, warm_cpu] = warm->second;
    fmt::print("{:>14} IRTEs: cache off {:.1f} ns ({:.1f} ns CPU), warm cache {:.1f} ns ({:.1f} ns "
               "CPU) per translation; warm cache = {:.2f}x the cache-off throughput ({:.2f}x by "
               "CPU time)\n",
               n, off_real, off_cpu, warm_real, warm_cpu, off_real / warm_real, off_cpu / warm_cpu);
  }
  for (const char* order : {"random:0", "random:1"})
    for (const char* iec : {"4096", "65536"}) {
      const auto on = reporter.scale.find(fmt::format("iec:{}/{}", iec, order));
      const auto off = reporter.scale.find(fmt::format("iec:0/{}", order));
      if (on == reporter.scale.end() || off == reporter.scale.end()) continue;
      fmt::print("65536-IRTE sweep, {}, IEC {}: warm {:.1f} ns vs off {:.1f} ns ({:.2f}x the "
                 "cache-off throughput); cold {:.1f} ns vs {:.1f} ns\n",
                 order, iec, on->second.first, off->second.first,
                 off->second.first / on->second.first, on->second.second, off->second.second);
    }
  return 0;
}
