#pragma once
// A debugger attached to a running machine (`irqremap run --gdb PORT`): when the machine
// stops for the client and what it does when the client resumes it. The machine's glue
// (arch/arm64/gdb_arm64.h, arch/x86/gdb_x86.h) calls in at three places:
//  - at_boundary(cpu), before each quantum (Scheduler::set_boundary_hook): a client
//    connecting (or the first one, with --gdb-wait, before any instruction runs), Ctrl-C
//    (0x03) from the client, and a single step that runs one CPU alone;
//  - before_insn(cpu, pc), before every instruction: breakpoints and the end of a step;
//  - on_access(cpu, va, size, write), for every data access: watchpoints.
// A stop is served right where it happens, inside the instruction's hook, and the hook
// returns when the client resumes: the quantum and the schedule go on exactly as without
// the stop, so breakpoints and watchpoints change nothing the guest can observe. Every
// other CPU is between two quanta, at an instruction boundary (all-stop). A watchpoint
// stops where the architecture's does (TargetDescription::watch_stops_after): inside the
// access, before the stored value lands (AArch64; gdb steps over it and reports the
// change), or after the instruction, at the CPU's next instruction or, when its quantum
// ends there, before any other CPU runs (x86).
//
// A step resumes only the stepping CPU: the others skip their quanta until it has
// executed one instruction (unless it waits for an interrupt, which another CPU may have
// to send). Stepping a CPU other than one stopped inside an instruction first lets that
// one finish its instruction and end its quantum.
//
// Detach (D) and a client that disconnects leave the machine running, without
// breakpoints or watchpoints, as QEMU does; the port then takes a new client. Kill (k)
// ends the run (exit status 1, "killed by the debugger"). When the run ends on its own,
// the client gets W with the exit status (exited()).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "arch/common/gdb/stub.h"
#include "arch/common/gdb/tcp.h"
#include "arch/common/scheduler.h"

namespace irqremap::gdb {

// What the session needs from the machine beyond the stub's registers and memory.
class MachineControl {
 public:
  virtual ~MachineControl() = default;
  // Whether `cpu` is running (not off, not waiting for an interrupt).
  virtual bool cpu_running(unsigned cpu) const = 0;
  // Ends `cpu`'s running quantum after its current instruction.
  virtual void end_quantum(unsigned cpu) = 0;
};

class Session {
 public:
  // `wait`: hold the machine before its first instruction until a client connects and
  // resumes it (QEMU's -S).
  Session(Target& target, MachineControl& control, std::unique_ptr<TcpListener> listener, bool wait);

  arch::BoundaryDecision at_boundary(unsigned cpu);
  void before_insn(unsigned cpu, uint64_t pc);
  void on_access(unsigned cpu, uint64_t va, unsigned size, bool write);
  // Whether any watchpoint is set (the glue's access hook returns at once otherwise).
  bool watching() const { return conn_ && !stub_.watchpoints().empty(); }
  // The run ended with `status`: W to the client, which is then let go.
  void exited(int status);
  uint16_t port() const { return listener_->port(); }

 private:
  // Where the stopped CPU `e.cpu` is: between quanta, in the hook before one of its
  // instructions, or inside one of its data accesses.
  enum class Where : uint8_t { Boundary, BeforeInsn, InAccess };
  void stop(const StopEvent& e, bool announce, Where where);
  // Reads what the client sent while the machine runs; true on Ctrl-C.
  bool interrupted();
  // Whether to look at the socket before this quantum (see session.cpp).
  bool poll_due();
  void drop_client();

  Target& target_;
  MachineControl& control_;
  std::unique_ptr<TcpListener> listener_;
  std::unique_ptr<TcpConnection> conn_;
  Stub stub_;
  bool wait_;
  bool first_ = true;
  bool killed_ = false;
  std::optional<StopEvent> pending_watch_;  // hit, reported after its instruction
  std::optional<unsigned> step_cpu_;
  unsigned step_skip_ = 0;  // instructions of step_cpu_ to let through before stopping
  std::chrono::steady_clock::time_point last_poll_{};
};

}  // namespace irqremap::gdb
