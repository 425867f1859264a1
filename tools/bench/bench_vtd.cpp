// VT-d translation throughput: a warm interrupt entry cache against the cache off, over
// 1 and 65,536 IRTEs. The cache-off run of the same table size is the baseline; the
// ratios are printed at the end of the run (issue 3 "Speed").
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

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

void BM_Translate(benchmark::State& state) {
  const bool cache = state.range(0) != 0;
  const auto irtes = unsigned(state.range(1));
  Setup s(cache ? kTableEntries : 0);
  std::vector<MsiWrite> msis;
  for (uint32_t i = 0; i < irtes; ++i)
    msis.push_back(MsiWrite{vtd::msi::remappable_address(i, false), 0, make_rid(0, 3, 0)});
  for (const MsiWrite& m : msis) s.unit.translate(m);  // warm the cache
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.unit.translate(msis[i]));
    if (++i == msis.size()) i = 0;
  }
  if (!std::holds_alternative<ApicDelivery>(s.unit.translate(msis[0])))
    state.SkipWithError("translation did not deliver");
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel(fmt::format("{} IRTE{}, cache {}", irtes, irtes == 1 ? "" : "s", cache ? "warm" : "off"));
}
BENCHMARK(BM_Translate)
    ->ArgNames({"cache", "irtes"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 65536})
    ->Args({1, 65536});

// Collects ns/translation per run so the ratios can be printed after the table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      // With --benchmark_repetitions the mean stands for the run.
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "mean") continue;
      ns[r.run_name.str()] = {r.GetAdjustedRealTime(), r.GetAdjustedCPUTime()};
    }
  }
  std::map<std::string, std::pair<double, double>> ns;  // real, CPU ns per translation
};
}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const char* n : {"1", "65536"}) {
    const auto off = reporter.ns.find(fmt::format("BM_Translate/cache:0/irtes:{}", n));
    const auto warm = reporter.ns.find(fmt::format("BM_Translate/cache:1/irtes:{}", n));
    if (off == reporter.ns.end() || warm == reporter.ns.end()) continue;
    const auto [off_real, off_cpu] = off->second;
    const auto [warm_real, warm_cpu] = warm->second;
    fmt::print("{:>5} IRTEs: cache off {:.1f} ns ({:.1f} ns CPU), warm cache {:.1f} ns ({:.1f} ns "
               "CPU) per translation; warm cache = {:.2f}x the cache-off throughput ({:.2f}x by "
               "CPU time)\n",
               n, off_real, off_cpu, warm_real, warm_cpu, off_real / warm_real, off_cpu / warm_cpu);
  }
  return 0;
}
