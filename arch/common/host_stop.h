#pragma once
// A stop the host asks for from outside the guest: Ctrl-C (SIGINT) or SIGTERM during
// `irqremap run`. The CLI's signal handlers record the signal here; the scheduler reads
// it between quanta and ends the run with StopKind::Interrupted (scheduler.h), so the
// caller writes the stop line, the UART output and the trace files as for any other stop.
//
// The request is one process-wide value because a signal is: a handler cannot know which
// run it interrupts. Nothing sets it unless the CLI installed its handlers, so a run that
// no signal reached stays a pure function of its inputs.
#include <string>

namespace irqremap::arch {

// Records that `signo` asked every run to stop. Async-signal-safe: one store to a
// lock-free atomic, so a signal handler may call it.
void request_host_stop(int signo) noexcept;

// The signal that asked for a stop, 0 if none did.
int host_stop_request() noexcept;

// Forgets a request: the CLI clears it when it installs and removes its handlers, so a
// signal that stopped one run cannot stop the next.
void clear_host_stop() noexcept;

// "SIGINT", "SIGTERM", or "signal N" for the stop line.
std::string host_stop_signal_name(int signo);

}  // namespace irqremap::arch
