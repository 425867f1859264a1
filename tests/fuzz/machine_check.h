#pragma once
// What every whole-machine fuzz run must end with, whatever the guest did: one clean
// stop line (a kind, a one-line message) and no more instructions than the budget.
#include <cstddef>
#include <cstdint>
#include <span>

#include "arch/common/scheduler.h"
#include "remap/trace.h"

namespace irqremap::fuzz {

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
    bytes += e.format().size();
    for (const auto& [name, value] : e.values) bytes += name.size() + (value & 1);
  }
  uint64_t bytes = 0;
};

// One whole-machine run: the machine built from `cfg`, listening to its trace when
// `traced`, the program loaded and run under `budget`, and the stop checked. A machine
// that cannot be built or a program it will not load is the target's own bug: a trap.
template <typename Machine, typename Config>
void run_program(const Config& cfg, std::span<const std::byte> image, bool traced, uint64_t budget) {
  auto m = Machine::create(cfg);
  if (!m) __builtin_trap();
  RenderingSink sink;
  if (traced) (*m)->attach(&sink);
  auto entry = (*m)->load(image);
  if (!entry) __builtin_trap();
  check_stop((*m)->run(*entry, budget), budget);
}

}  // namespace irqremap::fuzz
