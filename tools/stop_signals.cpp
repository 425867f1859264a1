#include "tools/stop_signals.h"

#include "arch/common/host_stop.h"

namespace irqremap::cli {

namespace {
// Async-signal-safe: request_host_stop is one lock-free atomic store.
extern "C" void on_stop_signal(int signo) { arch::request_host_stop(signo); }
}  // namespace

StopSignals::StopSignals() {
  arch::clear_host_stop();  // a request left from an earlier run is not for this one
  for (Saved& s : saved_) {
    struct sigaction act {};
    act.sa_handler = on_stop_signal;
    sigemptyset(&act.sa_mask);
    // SA_RESTART: a write to a full stdout pipe that the signal interrupts is resumed,
    // not failed with EINTR, so no UART or trace output is lost on the way to the stop.
    act.sa_flags = SA_RESTART;
    if (sigaction(s.signo, nullptr, &s.previous) != 0) continue;
    if (!(s.previous.sa_flags & SA_SIGINFO) && s.previous.sa_handler == SIG_IGN) continue;
    s.installed = sigaction(s.signo, &act, nullptr) == 0;
  }
}

StopSignals::~StopSignals() {
  for (Saved& s : saved_)
    if (s.installed) sigaction(s.signo, &s.previous, nullptr);
  arch::clear_host_stop();  // the request stopped this run; in-process callers run on
}

}  // namespace irqremap::cli
