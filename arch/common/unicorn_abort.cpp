#include "arch/common/unicorn_abort.h"

#include <fmt/format.h>

#include <csetjmp>
#include <csignal>

namespace irqremap::arch {

namespace {

thread_local sigjmp_buf* t_jump = nullptr;  // set while this thread is inside uc_emu_start
struct sigaction g_previous {};             // SIGABRT's handler before ours

void on_abort(int sig, siginfo_t* info, void* context) {
  if (t_jump != nullptr && !t_in_host_callback) siglongjmp(*t_jump, 1);
  // Not Unicorn's: whoever handled SIGABRT before us does (abort() then ends the process).
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler == SIG_DFL) {
    std::signal(SIGABRT, SIG_DFL);
    std::raise(SIGABRT);
  } else if (g_previous.sa_handler != SIG_IGN && g_previous.sa_handler != nullptr) {
    g_previous.sa_handler(sig);
  }
}

}  // namespace

// Ours unless someone has replaced it since (test frameworks install and restore their own
// crash handlers around each test): one system call, made when a vCPU is created rather
// than at each quantum (a doorbell storm runs tens of thousands of quanta a second).
void install_abort_guard() {
  struct sigaction current {};
  sigaction(SIGABRT, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) != 0 && current.sa_sigaction == &on_abort) return;
  struct sigaction sa {};
  sa.sa_sigaction = &on_abort;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, &g_previous);
}

std::optional<uc_err> guarded_emu_start(uc_engine* uc, uint64_t begin, uint64_t until, uint64_t timeout,
                                        std::size_t count) {
  sigjmp_buf jump;
  sigjmp_buf* const outer = t_jump;
  // No signal mask saved (a system call per quantum): SA_NODEFER leaves the mask alone.
  if (sigsetjmp(jump, 0) != 0) {  // back from on_abort: Unicorn gave up inside
    t_jump = outer;
    t_in_host_callback = false;
    return std::nullopt;
  }
  t_jump = &jump;
  const uc_err e = uc_emu_start(uc, begin, until, timeout, count);
  t_jump = outer;
  return e;
}

std::string unicorn_abort_message(uint64_t start, const char* pc_name) {
  return fmt::format("Unicorn 2.0.1 aborted translating guest code in the quantum from {} {:#x} ('tcg fatal error'); "
                     "one known cause is FF /3 or FF /5 with a register operand (far CALL/JMP, #UD on hardware)",
                     pc_name, start);
}


}  // namespace irqremap::arch
