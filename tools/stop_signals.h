#pragma once
// Ctrl-C (SIGINT) and SIGTERM stop a guest run the way any other stop does: the handler
// only records the signal (arch/common/host_stop.h); the scheduler sees it between quanta
// and ends the run with StopKind::Interrupted, so `run` and `demo` still write the stop
// line, the UART output and the trace files, and exit 1.
#include <csignal>

namespace irqremap::cli {

// Installs the handlers for as long as it lives and then puts back the ones it found,
// so code outside a run (and tests that call the CLI in-process) keeps the process's own
// handling. A signal the process ignores (SIG_IGN, as a shell leaves SIGINT for a job it
// started in the background) stays ignored: catching it would let a Ctrl-C meant for the
// foreground job stop this one.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct Saved {
    int signo;
    bool installed = false;
    struct sigaction previous {};
  };
  Saved saved_[2] = {{SIGINT}, {SIGTERM}};
};

}  // namespace irqremap::cli
