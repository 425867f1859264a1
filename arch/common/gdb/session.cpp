#include "arch/common/gdb/session.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace irqremap::gdb {

namespace {

// The socket is looked at before a quantum when a millisecond of host time has passed
// since the last look, not before every one: short quanta (200 instructions when CPUs
// share the machine) do not each pay a system call, and long ones (a CPU that runs
// alone) are still looked at after each. The host clock decides only when a client's
// Ctrl-C or connection is noticed, which is the host's timing anyway.
constexpr auto kPollInterval = std::chrono::milliseconds(1);

}  // namespace

Session::Session(Target& target, MachineControl& control, std::unique_ptr<TcpListener> listener, bool wait)
    : target_(target), control_(control), listener_(std::move(listener)), stub_(target), wait_(wait) {}

arch::BoundaryDecision Session::at_boundary(unsigned cpu) {
  if (killed_) return {false, arch::StopRequest{arch::StopKind::Interrupted, "killed by the debugger", 1}};
  const bool first = std::exchange(first_, false);
  if (conn_ && pending_watch_) {
    // The instruction that hit a trap-class watchpoint ended its CPU's quantum.
    const StopEvent e = *std::exchange(pending_watch_, std::nullopt);
    stop(e, true, Where::Boundary);
  }
  if (killed_) return {false, arch::StopRequest{arch::StopKind::Interrupted, "killed by the debugger", 1}};
  if (!conn_) {
    if (!(first && wait_) && !poll_due()) return {};
    conn_ = listener_->accept(first && wait_);
    // A client that connects finds the machine stopped, and asks why with '?'.
    if (conn_) stop(StopEvent{cpu}, false, Where::Boundary);
  } else if (step_cpu_ && *step_cpu_ != cpu && control_.cpu_running(*step_cpu_)) {
    return {true, std::nullopt};  // the stepping CPU runs alone
  } else if (poll_due() && interrupted()) {
    stop(StopEvent{cpu, 2}, true, Where::Boundary);
  }
  if (killed_) return {false, arch::StopRequest{arch::StopKind::Interrupted, "killed by the debugger", 1}};
  return {};
}

bool Session::poll_due() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_poll_ < kPollInterval) return false;
  last_poll_ = now;
  return true;
}

bool Session::interrupted() {
  while (conn_ && conn_->readable()) {
    const std::optional<char> b = conn_->read_byte();
    if (!b) {
      drop_client();  // the client went while the machine ran: it goes on
      return false;
    }
    if (auto in = stub_.feed(*b); in && in->kind == Incoming::Kind::Interrupt) return true;
  }
  return false;
}

void Session::before_insn(unsigned cpu, uint64_t pc) {
  if (!conn_) return;
  if (pending_watch_ && pending_watch_->cpu == cpu) {
    // The stop is before this instruction, which a step then executes.
    const StopEvent e = *std::exchange(pending_watch_, std::nullopt);
    stop(e, true, Where::BeforeInsn);
    return;
  }
  if (step_cpu_ == cpu) {
    if (step_skip_ > 0) {
      --step_skip_;
    } else {
      stop(StopEvent{cpu}, true, Where::BeforeInsn);
      return;
    }
  }
  if (const unsigned kinds = stub_.breakpoint_kinds(pc)) {
    StopEvent e{cpu};
    e.cause = (kinds & 1) ? StopEvent::Cause::SwBreak : StopEvent::Cause::HwBreak;
    stop(e, true, Where::BeforeInsn);
  }
}

void Session::on_access(unsigned cpu, uint64_t va, unsigned size, bool write) {
  if (!conn_) return;
  for (const Watchpoint& w : stub_.watchpoints()) {
    if (!w.overlaps(va, size) || !w.triggers(write)) continue;
    StopEvent e{cpu};
    e.cause = StopEvent::Cause::Watch;
    e.watch = w;
    e.watch_addr = std::max(va, w.addr);
    if (target_.description().watch_stops_after) pending_watch_ = e;
    else stop(e, true, Where::InAccess);
    return;
  }
}

void Session::stop(const StopEvent& e, bool announce, Where where) {
  step_cpu_.reset();
  // Halfway through an instruction (a data access) the PC stays: the instruction
  // finishes. Before an instruction, a new PC takes effect at once: Unicorn 2.0.1 restarts
  // at a PC written from a UC_HOOK_CODE callback before the hooked instruction runs
  // (tests/arm64/gdb_arm64_test.cpp, tests/x86/gdb_x86_test.cpp check it).
  stub_.set_pc_fixed(where == Where::InAccess ? std::optional<unsigned>(e.cpu) : std::nullopt);
  const Resume r = stub_.serve(*conn_, e, announce);
  // The instruction the CPU stood before was abandoned for the new PC: a step executes
  // the one there, as from a boundary.
  const bool inside = where != Where::Boundary && !stub_.take_pc_moved(e.cpu);
  switch (r.kind) {
    case Resume::Kind::Continue: break;
    case Resume::Kind::Step:
      step_cpu_ = r.step_cpu;
      // Stopped inside this CPU's instruction: the next instruction it reaches ends the
      // step. Otherwise the instruction at its PC runs first.
      step_skip_ = inside && e.cpu == r.step_cpu ? 0 : 1;
      if (where != Where::Boundary && e.cpu != r.step_cpu) control_.end_quantum(e.cpu);
      break;
    case Resume::Kind::Kill:
      killed_ = true;
      if (where != Where::Boundary) control_.end_quantum(e.cpu);
      drop_client();
      break;
    case Resume::Kind::Detach:
    case Resume::Kind::Disconnected: drop_client(); break;
  }
}

void Session::drop_client() {
  conn_.reset();
  pending_watch_.reset();
  stub_.forget_client();
  step_cpu_.reset();
}

void Session::exited(int status) {
  if (!conn_) return;
  conn_->write(frame(Stub::exit_reply(status)));
  drop_client();
}

}  // namespace irqremap::gdb
