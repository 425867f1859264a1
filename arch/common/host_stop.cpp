#include "arch/common/host_stop.h"

#include <fmt/format.h>

#include <atomic>
#include <csignal>

namespace irqremap::arch {

namespace {
// A signal handler may only touch lock-free atomics (or volatile sig_atomic_t): a
// lock-based atomic could deadlock against the code it interrupted.
static_assert(std::atomic<int>::is_always_lock_free);
std::atomic<int> g_request{0};
}  // namespace

void request_host_stop(int signo) noexcept { g_request.store(signo, std::memory_order_relaxed); }

int host_stop_request() noexcept { return g_request.load(std::memory_order_relaxed); }

void clear_host_stop() noexcept { g_request.store(0, std::memory_order_relaxed); }

std::string host_stop_signal_name(int signo) {
  switch (signo) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return fmt::format("signal {}", signo);
  }
}

}  // namespace irqremap::arch
