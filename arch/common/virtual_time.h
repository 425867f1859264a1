#pragma once
// Deterministic virtual time (docs/DESIGN.md "Machines": the same inputs give the same run).
// Counter ticks come from the instructions the CPUs retire, never from the host clock, at
// a stated rate per CPU: `ticks` counter ticks for every `insns` instructions one CPU
// retires. The CPUs that run share the time: while n of them run, each instruction any of
// them retires moves time by 1/n of an instruction's worth, so that with the round-robin
// scheduler (equal quanta per running CPU) every running CPU sees the counter advance at
// the stated rate against its own instructions, however many run beside it, as on a
// machine whose cores run side by side. One clock for all CPUs: every CPU reads the same
// counter, which only moves forward, and two runs read the same values.
//
// The time is kept exactly, as an integer count of 1/840 instruction-times (840 is the
// least common multiple of 1..8, the machines' CPU counts), so sharing never rounds.
//
// When every CPU waits for an interrupt, nothing retires and time would stand still; a
// machine then moves it forward to its next event (an armed timer) with advance_to()
// (Scheduler::run's idle hook).
//
// An instruction takes one instruction-time, except where a machine says one holds its CPU
// longer (x86 PAUSE: arch/x86/pause_latency.h): the extra instruction-times ("stall") move
// the counter as that many more instructions would, but are no instructions (retired(),
// the timelines' axis).
#include <cstdint>
#include <functional>

#include "snapshot/state_io.h"

namespace irqremap::arch {

class VirtualTime {
 public:
  static constexpr uint64_t kShares = 840;  // lcm(1..8)
  static constexpr unsigned kMaxSharing = 8;

  // `ticks` counter ticks per `insns` instructions of one CPU (both >= 1).
  VirtualTime(uint64_t ticks, uint64_t insns)
      : ticks_(ticks == 0 ? 1 : ticks), insns_(insns == 0 ? 1 : insns) {}

  uint64_t ticks_per() const { return ticks_; }
  uint64_t insns_per() const { return insns_; }
  // The counter now: retired quanta, jumps, and the running quantum's instructions and
  // stall so far.
  uint64_t now() const { return to_ticks(units_ + in_flight_units()); }
  // Instructions retired so far by the running quantum (0 between quanta), and the stall
  // it has spent beside them; the machine answers from its running vCPU.
  void set_in_flight(std::function<uint64_t()> insns, std::function<uint64_t()> stall = {}) {
    in_flight_ = std::move(insns);
    in_flight_stall_ = std::move(stall);
  }
  // How many CPUs run side by side from now on (1..8): the machine says it before each
  // quantum, counting the CPU about to run.
  void set_sharing(unsigned n) { sharing_ = n == 0 ? 1 : (n > kMaxSharing ? kMaxSharing : n); }
  unsigned sharing() const { return sharing_; }
  // A quantum ended having retired `insns` and stalled `stall` instruction-times beyond
  // them (call once in_flight reports 0 again).
  void retire(uint64_t insns, uint64_t stall = 0) {
    units_ += (unsigned __int128)(insns + stall) * (kShares / sharing_);
    retired_ += insns;
  }
  // Instructions retired by every CPU so far (no jumps, no stall).
  uint64_t retired() const { return retired_; }
  // The timelines' axis: every CPU's retired instructions one after the other, as the
  // scheduler runs them, plus the jumps of an idle machine in one CPU's instructions.
  uint64_t timeline_now() const {
    return retired_ + (in_flight_ ? in_flight_() : 0) + uint64_t(jumped_ / kShares);
  }
  // Moves time forward to counter value `t` (idle machine); never back. Returns whether
  // it moved.
  bool advance_to(uint64_t t) {
    const unsigned __int128 u = units_for(t);
    if (u <= units_) return false;
    jumped_ += u - units_;
    units_ = u;
    return true;
  }
  // Its part of a snapshot: the time so far (the rates are the machine's configuration).
  // Taken between quanta, when nothing is in flight.
  void state(snapshot::Io& io) {
    snapshot::Io::Group g(io, "time");
    io.field("sharing", sharing_);
    io.check(sharing_ >= 1 && sharing_ <= kMaxSharing, "CPUs sharing the time out of 1..8");
    io.field("units", units_);
    io.field("jumped", jumped_);
    io.field("retired", retired_);
    io.check(jumped_ <= units_, "more time jumped than has passed");
  }
  // Instruction-times the running CPU must spend (instructions, or their stall), at the
  // current sharing, until the counter reaches `t` (0 if it has).
  uint64_t insns_until(uint64_t t) const {
    const unsigned __int128 target = units_for(t), have = units_ + in_flight_units();
    if (target <= have) return 0;
    const uint64_t per = kShares / sharing_;
    const unsigned __int128 n = (target - have + per - 1) / per;
    return n > UINT64_MAX ? UINT64_MAX : uint64_t(n);
  }

 private:
  unsigned __int128 in_flight_units() const {
    const uint64_t n = (in_flight_ ? in_flight_() : 0) + (in_flight_stall_ ? in_flight_stall_() : 0);
    return (unsigned __int128)n * (kShares / sharing_);
  }
  // floor(units * ticks / (kShares * insns))
  uint64_t to_ticks(unsigned __int128 units) const {
    return uint64_t(units * ticks_ / ((unsigned __int128)kShares * insns_));
  }
  // The fewest units whose tick count reaches `t`.
  unsigned __int128 units_for(uint64_t t) const {
    const unsigned __int128 num = (unsigned __int128)t * kShares * insns_;
    return (num + ticks_ - 1) / ticks_;
  }

  uint64_t ticks_, insns_;
  unsigned sharing_ = 1;
  unsigned __int128 units_ = 0, jumped_ = 0;
  uint64_t retired_ = 0;
  std::function<uint64_t()> in_flight_, in_flight_stall_;
};

}  // namespace irqremap::arch
