#pragma once
// What every whole-machine fuzz run must end with, whatever the guest did: one clean
// stop line (a kind, a one-line message) and no more instructions than the budget; and,
// for half the inputs, the same run again: the same stop, instruction count, UART output
// and trace (every run is deterministic: no host time, no address or hash order, no
// uninitialised state may reach what a guest or a user sees).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "arch/common/scheduler.h"
#include "remap/trace.h"

namespace irqremap::fuzz {

// The instruction budget of a run: 20,000, but at most 200 quanta per CPU. Unicorn 2.0.1
// translates a whole block (up to 512 instructions, to the page end) each time a quantum
// starts at an address it has not seen, and random programs run mostly fresh code: a
// one-instruction quantum over 20,000 instructions measured 27 s natively (1.3 ms per
// uc_emu_start), 75 s under ASan. Small quanta still interleave two CPUs tightly.
inline uint64_t budget_for(uint64_t quantum, unsigned cpus) {
  constexpr uint64_t kBudget = 20'000, kQuantaPerCpu = 200;
  return std::min(kBudget, kQuantaPerCpu * quantum * cpus);
}

inline void check_stop(const arch::RunResult& r, uint64_t budget) {
  if (r.message.empty() || r.message.find('\n') != r.message.npos) __builtin_trap();
  if (r.instructions > budget) __builtin_trap();
  if (r.stop == arch::StopKind::SystemOff && r.exit_status != 0) __builtin_trap();
}

// Half the runs listen to the machine's trace (not its per-instruction lines), so the
// formatting of guest-controlled values (register writes, phase-marker names read from
// guest memory, decoded commands) runs under the sanitizers too. Every field is read.
class RenderingSink final : public TraceSink {
 public:
  void on_event(const Event& e) override {
    ++events;
    mix(e.format());
    for (const auto& [name, value] : e.values) {
      mix(name);
      mix(value);
    }
  }
  uint64_t events = 0;
  uint64_t hash = 0xCBF2'9CE4'8422'2325;  // every rendered event, folded in order

 private:
  // Strings are hashed by libstdc++ (std::_Hash_bytes, a fixed seed: the same bytes give
  // the same value in every run), not by a loop here: this header is compiled with
  // coverage hooks, and a per-character loop here called the hook once for each byte of
  // every event: an eighth of a machine_x86 campaign's time (perf, session 8).
  void mix(std::string_view s) {
    mix(std::hash<std::string_view>{}(s));
    mix(s.size());
  }
  void mix(uint64_t v) {
    hash = (hash ^ v) * 0x100'0000'01B3;  // the FNV prime; the shift spreads high bits down
    hash ^= hash >> 29;
  }
};

// What a run showed: compared between the two runs of one input.
struct RunSummary {
  arch::RunResult result;
  std::string uart;
  uint64_t events = 0, trace_hash = 0;
};

inline bool same(const RunSummary& a, const RunSummary& b) {
  const arch::RunResult &x = a.result, &y = b.result;
  return x.stop == y.stop && x.exit_status == y.exit_status && x.message == y.message && x.cpu == y.cpu &&
         x.pc == y.pc && x.insn == y.insn && x.instructions == y.instructions && a.uart == b.uart &&
         a.events == b.events && a.trace_hash == b.trace_hash;
}

// One whole-machine run: the machine built from `cfg` (its UART captured), listening to
// its trace when `traced`, the program loaded and run under `budget`, and the stop
// checked. A machine that cannot be built or a program it will not load is the target's
// own bug: a trap.
template <typename Machine, typename Config>
RunSummary run_once(Config cfg, std::span<const std::byte> image, bool traced, uint64_t budget) {
  RunSummary out;
  cfg.uart_out = [&out](char c) {
    if (out.uart.size() < 4096) out.uart.push_back(c);
  };
  auto m = Machine::create(cfg);
  if (!m) __builtin_trap();
  RenderingSink sink;
  if (traced) (*m)->attach(&sink);
  auto entry = (*m)->load(image);
  if (!entry) __builtin_trap();
  out.result = (*m)->run(*entry, budget);
  check_stop(out.result, budget);
  out.events = sink.events;
  out.trace_hash = sink.hash;
  return out;
}

// The run, and with `twice` the same run on a fresh machine, which must show the same.
template <typename Machine, typename Config>
void run_program(const Config& cfg, std::span<const std::byte> image, bool traced, bool twice, uint64_t budget) {
  const RunSummary first = run_once<Machine>(cfg, image, traced, budget);
  if (!twice) return;
  const RunSummary second = run_once<Machine>(cfg, image, traced, budget);
  if (!same(first, second)) {
    std::fprintf(stderr,
                 "machine run is not deterministic:\n  first:  %s (%llu instructions, %llu events, UART %zu "
                 "bytes)\n  second: %s (%llu instructions, %llu events, UART %zu bytes)\n",
                 first.result.message.c_str(), (unsigned long long)first.result.instructions,
                 (unsigned long long)first.events, first.uart.size(), second.result.message.c_str(),
                 (unsigned long long)second.result.instructions, (unsigned long long)second.events,
                 second.uart.size());
    // What else differs shows in the rest: the UART's first bytes (a value the guest
    // printed), the stop's fields and the trace's hash.
    for (const RunSummary* r : {&first, &second}) {
      std::fprintf(stderr, "  UART:");
      for (std::size_t i = 0; i < std::min<std::size_t>(r->uart.size(), 64); ++i)
        std::fprintf(stderr, " %02x", unsigned(uint8_t(r->uart[i])));
      std::fprintf(stderr, "%s; stop %d, exit %d, cpu %u, pc %#llx, trace hash %#llx\n",
                   r->uart.size() > 64 ? " ..." : "", int(r->result.stop), r->result.exit_status,
                   r->result.cpu, (unsigned long long)r->result.pc, (unsigned long long)r->trace_hash);
    }
    __builtin_trap();
  }
}

}  // namespace irqremap::fuzz
