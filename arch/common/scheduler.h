#pragma once
// The deterministic round-robin scheduler both machines use (docs/DESIGN.md "Machines";
// issues 6 and 7: same inputs, same trace). vCPUs are visited in index order; each is first
// offered its pending interrupts (a waiting CPU may wake), then, if running, executes up
// to one quantum of instructions. There is no host time and no host threading, so a run
// is a pure function of the image, the configuration and the budget (unless the host
// interrupts it, below).
//
// A run stops when
//  - the machine says so between quanta (PSCI SYSTEM_OFF, ACPI power-off, isa-debug-exit);
//  - a vCPU reports a stop from its quantum (guest fault, unsupported instruction, exit);
//  - the host asks for a stop between quanta (host_stop.h: Ctrl-C or SIGTERM during
//    `irqremap run`). It is checked between quanta, and a vCPU whose quanta can be long
//    (the AArch64 one gives a CPU that runs alone a million instructions) ends its
//    quantum at its next block boundary when a request is there, so the stop is prompt;
//  - the instruction budget is used up (counted over all CPUs);
//  - a whole round passes in which no CPU could run: every CPU is off or waits for an
//    interrupt that nothing can send any more (a deadlock). Before calling it one, the
//    scheduler asks the machine whether time can advance (`idle`): a machine with an armed
//    timer moves its virtual time to the timer's deadline and says so, and the run goes
//    on (the timer's interrupt wakes a CPU in the next round). Nothing armed: deadlock.
// Every stop but a clean power-off carries one line: what, which CPU, PC, the
// disassembled instruction there and the instructions retired so far over all CPUs.
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>

#include "snapshot/state_io.h"

namespace irqremap::arch {

enum class VcpuState : uint8_t { Off, Running, WaitingForInterrupt };

enum class StopKind : uint8_t {
  SystemOff,    // PSCI SYSTEM_OFF / ACPI power-off: status 0
  Exit,         // an exit device (isa-debug-exit) with its own status
  Budget,       // the instruction budget is exhausted
  GuestFault,   // an exception the machine does not model, an unmapped access, ...
  Unsupported,  // an instruction the emulator cannot execute
  Deadlock,     // every CPU off or waiting, nothing can wake one
  Interrupted,  // the host asked for a stop (SIGINT, SIGTERM: host_stop.h)
  Paused,       // a pause asked for (Scheduler::pause_at, request_pause): not an end, run again to go on
};
std::string_view to_string(StopKind k);

// A stop raised by a vCPU or by the machine.
struct StopRequest {
  StopKind kind = StopKind::GuestFault;
  std::string what;     // "guest exception: data abort", "PSCI SYSTEM_OFF", ...
  int exit_status = 0;  // for SystemOff / Exit; the others exit 1
};

struct StepResult {
  uint64_t executed = 0;             // instructions retired in this quantum
  std::optional<StopRequest> stop;   // the quantum ended the run
};

// The per-architecture vCPU the scheduler drives.
class Vcpu {
 public:
  virtual ~Vcpu() = default;
  virtual unsigned index() const = 0;
  virtual VcpuState state() const = 0;
  // Before each quantum: take an interrupt if the architecture allows it now; a CPU that
  // waits for an interrupt wakes when one is pending (it returns Running afterwards).
  virtual void service_interrupts() = 0;
  // Runs at most `max_insns` instructions (>= 1). A vCPU may end a quantum early or late
  // at a boundary of its own (a translated block) unless `exact` says the limit is the
  // run's instruction budget, which is kept to the instruction.
  virtual StepResult step(uint64_t max_insns, bool exact) = 0;
  virtual uint64_t pc() const = 0;
};

struct RunResult {
  StopKind stop = StopKind::SystemOff;
  int exit_status = 0;   // what `irqremap run` returns
  std::string message;   // one line: what and where
  unsigned cpu = 0;      // the CPU the stop happened on
  uint64_t pc = 0;
  std::string insn;      // disassembled instruction at pc ("" if unreadable)
  uint64_t instructions = 0;
};

// A budget no run reaches (584 years at 10^9 instructions per second): the run ends only
// when the guest, a deadlock or the host stops it, as a QEMU run does. `irqremap run`
// uses it unless --max-insns is given.
inline constexpr uint64_t kNoInstructionBudget = std::numeric_limits<uint64_t>::max();

// What a debugger (arch/common/gdb/session.h) decides before a CPU's quantum: hold the
// machine there while it is served (the hook returns when the debugger resumes), skip
// this CPU's quantum (another CPU is single-stepping alone), or end the run (kill).
struct BoundaryDecision {
  bool skip = false;
  std::optional<StopRequest> stop;
};

class Scheduler {
 public:
  // quantum: instructions per CPU per round (>= 1).
  explicit Scheduler(uint64_t quantum) : quantum_(quantum == 0 ? 1 : quantum) {}

  // Runs until a stop. `machine_stop` is asked before every quantum, then the host
  // (host_stop.h) before the quantum of each CPU that is not off; `disassemble`
  // renders the instruction at a CPU's PC for the stop line; `idle` (optional) is asked
  // when a round found no CPU able to run: true if the machine advanced its time to a
  // future event, so the run continues. The budget and the instruction count carry over
  // between calls.
  RunResult run(std::span<Vcpu* const> cpus, uint64_t max_insns,
                const std::function<std::optional<StopRequest>()>& machine_stop,
                const std::function<std::string(unsigned cpu, uint64_t pc)>& disassemble,
                const std::function<bool()>& idle = {});

  uint64_t instructions() const { return insns_; }
  uint64_t quantum() const { return quantum_; }
  // The quantum for a CPU about to run (default: quantum() for every CPU). A machine gives
  // long quanta to a CPU that runs alone, since no other CPU waits for its turn; whatever
  // makes another CPU runnable ends the running quantum early (the vCPU's own business).
  void set_quantum_policy(std::function<uint64_t(unsigned cpu)> f) { policy_ = std::move(f); }
  // Asked before the quantum of each CPU that is not off, after the host's stop request
  // (a debugger attached with `irqremap run --gdb`; none by default).
  void set_boundary_hook(std::function<BoundaryDecision(unsigned cpu)> f) { boundary_ = std::move(f); }

  // Pauses (snapshots, `run --save-at`, `run --migrate`): run() returns StopKind::Paused at
  // the first boundary before a CPU's quantum where `insns` instructions have retired
  // (pause_at) or after request_pause(), before anything else happens at that boundary.
  // The scheduler keeps its place in the round, so the next run() goes on with that CPU
  // exactly as if there had been no pause: a paused run, and a machine restored from a
  // snapshot taken there, run the same quanta as an unpaused one. A quantum is never cut
  // short for a pause (the vCPUs' blocks decide where quanta end), so the pause comes at
  // the end of the quantum that crosses `insns`. One pause each: both are cleared when
  // they fire. `exact` instead cuts the quantum that would cross `insns` there, as the
  // budget does, so the pause comes after exactly `insns` instructions (`run --save-at`:
  // the saving run and a restored one then go on alike, the cut included).
  void pause_at(uint64_t insns, bool exact = false) {
    pause_at_ = insns;
    pause_exact_ = exact;
  }
  void request_pause() { pause_requested_ = true; }
  // The scheduler's own part of a snapshot: instructions retired, its place in the round.
  void state(snapshot::Io& io);

  // The one-line form of a stop: "what (cpu1, PC 0x40080010: hvc #0) after 1234 instructions"
  // (a clean stop is just "what").
  static RunResult make_result(const StopRequest& s, unsigned cpu, uint64_t pc, std::string insn,
                               uint64_t instructions);

 private:
  uint64_t quantum_;
  uint64_t insns_ = 0;
  // The CPU whose turn is next and whether the round so far ran one (a round in which
  // none could run is a deadlock or an idle jump): kept across run() calls.
  unsigned next_cpu_ = 0;
  bool progressed_ = false;
  std::optional<uint64_t> pause_at_;
  bool pause_exact_ = false;
  bool pause_requested_ = false;
  std::function<uint64_t(unsigned)> policy_;
  std::function<BoundaryDecision(unsigned)> boundary_;
};

}  // namespace irqremap::arch
