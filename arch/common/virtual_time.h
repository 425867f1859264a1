#pragma once
// Deterministic virtual time (DESIGN.md "Machines": the same inputs give the same run).
// Counter ticks come from instructions retired by the whole machine, never from the host
// clock: each retired instruction is worth a fixed number of ticks, counted across every
// CPU, including the instructions the running CPU has retired so far in its quantum. So
// every CPU reads one counter that only moves forward, and two runs read the same values.
//
// When every CPU waits for an interrupt, nothing retires and time would stand still; a
// machine then moves it forward to its next event (an armed timer) with advance_to()
// (Scheduler::run's idle hook).
#include <cstdint>
#include <functional>

namespace irqremap::arch {

class VirtualTime {
 public:
  explicit VirtualTime(uint64_t ticks_per_insn) : ticks_per_insn_(ticks_per_insn == 0 ? 1 : ticks_per_insn) {}

  uint64_t ticks_per_insn() const { return ticks_per_insn_; }
  // The counter now: retired quanta, jumps, and the running quantum's instructions so far.
  uint64_t now() const { return ticks_ + (in_flight_ ? in_flight_() : 0) * ticks_per_insn_; }
  // Instructions retired so far by the running quantum (0 between quanta); the machine
  // answers from its running vCPU.
  void set_in_flight(std::function<uint64_t()> f) { in_flight_ = std::move(f); }
  // A quantum ended having retired `insns` (call once in_flight reports 0 again).
  void retire(uint64_t insns) { ticks_ += insns * ticks_per_insn_; }
  // Moves time forward to `t` (idle machine); never back. Returns whether it moved.
  bool advance_to(uint64_t t) {
    if (t <= ticks_) return false;
    ticks_ = t;
    return true;
  }
  // Instructions until the counter reaches `t` from now (0 if it has).
  uint64_t insns_until(uint64_t t) const {
    const uint64_t n = now();
    return t <= n ? 0 : (t - n + ticks_per_insn_ - 1) / ticks_per_insn_;
  }

 private:
  uint64_t ticks_per_insn_;
  uint64_t ticks_ = 0;
  std::function<uint64_t()> in_flight_;
};

}  // namespace irqremap::arch
