#include "arch/common/scheduler.h"

#include <fmt/format.h>

#include <algorithm>

#include "arch/common/host_stop.h"

namespace irqremap::arch {

std::string_view to_string(StopKind k) {
  switch (k) {
    case StopKind::SystemOff: return "system-off";
    case StopKind::Exit: return "exit";
    case StopKind::Budget: return "budget";
    case StopKind::GuestFault: return "guest-fault";
    case StopKind::Unsupported: return "unsupported";
    case StopKind::Deadlock: return "deadlock";
    case StopKind::Interrupted: return "interrupted";
    case StopKind::Paused: return "paused";
  }
  return "?";
}

RunResult Scheduler::make_result(const StopRequest& s, unsigned cpu, uint64_t pc, std::string insn,
                                 uint64_t instructions) {
  RunResult r;
  r.stop = s.kind;
  r.cpu = cpu;
  r.pc = pc;
  r.insn = std::move(insn);
  r.instructions = instructions;
  const bool clean = s.kind == StopKind::SystemOff || s.kind == StopKind::Exit;
  r.exit_status = clean ? s.exit_status : 1;
  // The count says how far the run got, which matters most for a stop the guest did not
  // choose (an interrupted run, a budget, a deadlock after an idle stretch).
  r.message = clean ? s.what
                    : fmt::format("{} (cpu{}, PC {:#x}: {}) after {} instruction{}", s.what, cpu, pc,
                                  r.insn.empty() ? "?" : r.insn, instructions, instructions == 1 ? "" : "s");
  return r;
}

void Scheduler::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "scheduler");
  io.field("instructions", insns_);
  io.field("next_cpu", next_cpu_);
  io.field("progressed", progressed_);
}

RunResult Scheduler::run(std::span<Vcpu* const> cpus, uint64_t max_insns,
                         const std::function<std::optional<StopRequest>()>& machine_stop,
                         const std::function<std::string(unsigned, uint64_t)>& disassemble,
                         const std::function<bool()>& idle) {
  auto result = [&](const StopRequest& s, unsigned c) {
    const uint64_t pc = c < cpus.size() ? cpus[c]->pc() : 0;
    const bool clean = s.kind == StopKind::SystemOff || s.kind == StopKind::Exit;
    return make_result(s, c, pc, clean ? std::string() : disassemble(c, pc), insns_);
  };
  // A restored or resumed run goes on from the scheduler's place in the round; a place
  // past the CPUs (a file of another machine is refused before this) starts a new round.
  if (next_cpu_ >= cpus.size()) next_cpu_ = 0, progressed_ = false;
  for (;;) {
    for (unsigned c = next_cpu_; c < cpus.size(); ++c) {
      // The place is kept first, so whatever ends the run here resumes at this CPU.
      next_cpu_ = c;
      // Before anything else at this boundary, so the resumed run does exactly what the
      // unpaused one did from here (the machine's stop check, the interrupts, the quantum).
      if ((pause_at_ && insns_ >= *pause_at_) || pause_requested_) {
        pause_at_.reset();
        pause_requested_ = false;
        return make_result({StopKind::Paused, fmt::format("paused after {} instructions", insns_), 0}, c,
                           cpus[c]->pc(), std::string(), insns_);
      }
      if (machine_stop)
        if (auto s = machine_stop()) return result(*s, c);
      Vcpu& v = *cpus[c];
      if (v.state() == VcpuState::Off) continue;
      // After the machine's stop, so a guest that powered off in the last quantum ends
      // clean even if a signal came meanwhile; before each quantum of a CPU that is on,
      // so the stop line names a CPU with a meaningful PC and the stop comes at most one
      // quantum after the signal (the AArch64 vCPU also ends a long one at its next block).
      if (const int sig = host_stop_request())
        return result({StopKind::Interrupted, fmt::format("interrupted by {}", host_stop_signal_name(sig)), 1}, c);
      if (boundary_) {
        BoundaryDecision d = boundary_(c);
        if (d.stop) return result(*d.stop, c);
        if (d.skip) continue;
      }
      v.service_interrupts();
      if (v.state() != VcpuState::Running) continue;
      if (insns_ >= max_insns)
        return result({StopKind::Budget, fmt::format("instruction budget of {} exhausted", max_insns), 1}, c);
      const uint64_t q = std::max<uint64_t>(policy_ ? policy_(c) : quantum_, 1);
      // The budget, and an exact pause, are kept to the instruction.
      uint64_t limit = max_insns - insns_;
      if (pause_exact_ && pause_at_ && *pause_at_ > insns_) limit = std::min(limit, *pause_at_ - insns_);
      const StepResult r = v.step(std::min(q, limit), limit <= q);
      insns_ += r.executed;
      if (r.stop) return result(*r.stop, c);
      // A quantum that retired nothing but changed state (entered WFI) still counts: the
      // next round sees the new state.
      progressed_ = true;
    }
    next_cpu_ = 0;
    const bool progressed = progressed_;
    progressed_ = false;
    if (machine_stop)
      if (auto s = machine_stop()) return result(*s, 0);
    if (!progressed) {
      if (idle && idle()) continue;  // time moved to the next timer deadline
      unsigned first = 0;
      while (first + 1 < cpus.size() && cpus[first]->state() == VcpuState::Off) ++first;
      return result({StopKind::Deadlock,
                     "every CPU is off or waits for an interrupt and nothing can wake one", 1},
                    first);
    }
  }
}

}  // namespace irqremap::arch
