// `irqremap run` with no instruction budget (issue 36 item 6): the run goes on until the
// guest powers off, and Ctrl-C (SIGINT) or SIGTERM stops it with the usual stop line;
// UART output reaches a pipe as the guest writes it (item 7). The end-to-end cases start
// the real binary on images that print a line and then spin forever, wait for that line
// through a pipe, send the signal and read what the run left behind.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "arch/common/host_stop.h"
#include "arch/common/scheduler.h"
#include "tests/tools/cli_run.h"
#include "tools/run_machine.h"
#include "tools/stop_signals.h"

extern char** environ;

using namespace irqremap;

namespace {

using Clock = std::chrono::steady_clock;
// Every wait on the child is bounded, so a broken build fails the case instead of hanging
// the suite. The bound is generous (the line comes within a second on an idle machine) and
// nothing is asserted about how long anything took.
constexpr std::chrono::seconds kPatience{30};

std::string write_image(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = "/tmp/irqremap-run-stop-" + name + "-" + std::to_string(getpid()) + ".bin";
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

void put32(std::vector<uint8_t>& b, uint32_t w) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(w >> (8 * i)));
}

// A raw AArch64 image (loaded at 0x4008_0000): `line` to the PL011 data register at
// 0x0900_0000 one store per character, then `b .` forever. *loop is the loop's address.
std::vector<uint8_t> arm64_print_then_spin(const std::string& line, uint64_t* loop) {
  std::vector<uint8_t> b;
  put32(b, 0xD2A12001);  // movz x1, #0x900, lsl #16
  for (char c : line) {
    put32(b, 0x52800000 | (uint32_t(uint8_t(c)) << 5));  // movz w0, #c
    put32(b, 0x39000020);                                 // strb w0, [x1]
  }
  *loop = 0x4008'0000 + b.size();
  put32(b, 0x14000000);  // b .
  return b;
}

// A raw x86-64 image (loaded at 0x10_0000, entered in 64-bit mode): `line` to COM1 one
// OUT per character, then `jmp $` forever. *loop is the loop's address.
std::vector<uint8_t> x86_print_then_spin(const std::string& line, uint64_t* loop) {
  std::vector<uint8_t> b = {0x66, 0xBA, 0xF8, 0x03};  // mov dx, 0x3f8
  for (char c : line) b.insert(b.end(), {0xB0, uint8_t(c), 0xEE});  // mov al, c; out dx, al
  *loop = 0x10'0000 + b.size();
  b.insert(b.end(), {0xEB, 0xFE});  // jmp $
  return b;
}

// The irqremap binary with stdout and stderr on pipes. SIGINT and SIGTERM start at their
// default disposition and unblocked in the child, whatever the test runner left them at
// (a runner started in the background has SIGINT ignored, which irqremap would keep).
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int out[2], err[2];
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> argv{const_cast<char*>(IRQREMAP_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, IRQREMAP_BINARY, &fa, &at, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    REQUIRE_MESSAGE(rc == 0, "cannot start " IRQREMAP_BINARY);
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {  // a failed case: do not leave a spinning guest behind
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_fd_);
    close(err_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads both pipes until stdout holds `text` (true), or both reach end of file or the
  // patience runs out (false).
  bool wait_for_stdout(const std::string& text) {
    const Clock::time_point deadline = Clock::now() + kPatience;
    while (out.find(text) == std::string::npos)
      if (!pump(deadline)) return false;
    return true;
  }

  // Reads both pipes to end of file and reaps the child: its wait status, or nullopt if
  // it did not end within the patience.
  std::optional<int> finish() {
    const Clock::time_point deadline = Clock::now() + kPatience;
    while (pump(deadline)) {
    }
    while (Clock::now() < deadline) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return status;
      }
      if (r < 0) return std::nullopt;
      poll(nullptr, 0, 10);
    }
    return std::nullopt;
  }

  void signal(int signo) const { REQUIRE(kill(pid_, signo) == 0); }

  std::string out, err;

 private:
  // One poll over the open pipes; false once both are at end of file or at the deadline.
  bool pump(Clock::time_point deadline) {
    pollfd fds[2] = {{out_open_ ? out_fd_ : -1, POLLIN, 0}, {err_open_ ? err_fd_ : -1, POLLIN, 0}};
    if (!out_open_ && !err_open_) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    if (poll(fds, 2, int(left)) < 0) return errno == EINTR;
    read_some(fds[0], out_fd_, out, out_open_);
    read_some(fds[1], err_fd_, err, err_open_);
    return true;
  }
  static void read_some(const pollfd& p, int fd, std::string& into, bool& open) {
    if (!open || p.revents == 0) return;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) into.append(buf, size_t(n));
    else if (n == 0 || errno != EINTR) open = false;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  bool out_open_ = true, err_open_ = true, reaped_ = false;
};

// The number in "... after N instructions\n" at the end of a stop line (nullopt if absent).
std::optional<uint64_t> instructions_in(const std::string& line) {
  const std::string tail = " instructions\n";
  const size_t after = line.rfind(" after ");
  if (after == std::string::npos || !line.ends_with(tail)) return std::nullopt;
  const std::string number = line.substr(after + 7, line.size() - tail.size() - after - 7);
  if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(number);
}

// What the test's own handler saw: it stands for whatever handler the process had before
// `run` installed its own.
volatile std::sig_atomic_t g_own_handler_saw = 0;
extern "C" void own_handler(int signo) { g_own_handler_saw = signo; }

}  // namespace

TEST_CASE("run: no instruction budget unless --max-insns: a guest that needs 100,000,007 instructions powers off, status 0") {
  // `run` binds its options into RunOptions (cmd_run.cpp), so this default is the parsed
  // one when --max-insns is absent.
  CHECK(cli::RunOptions{}.max_insns == arch::kNoInstructionBudget);
  // Past the old default budget of 100'000'000, which stopped this guest with status 1
  // at the hvc. A countdown loop is translated once, so this takes about a second.
  std::vector<uint8_t> b;
  for (uint32_t w : {0xD29E1022u,   // movz x2, #0xf081
                     0xF2A05F42u,   // movk x2, #0x2fa, lsl #16: 50,000,001 rounds
                     0xF1000442u,   // subs x2, x2, #1
                     0x54FFFFE1u,   // b.ne .-4
                     0xD2800100u,   // movz x0, #0x8
                     0xF2B08000u,   // movk x0, #0x8400, lsl #16: PSCI SYSTEM_OFF
                     0xD4000002u})  // hvc #0
    put32(b, w);
  const std::string img = write_image("countdown", b);
  const auto r = clitest::run_cli({"run", "--arch", "arm64", "--kernel", img});
  std::remove(img.c_str());
  CHECK(r.status == 0);
  CHECK(r.err.empty());
}

TEST_CASE("run: --max-insns still stops the run, the stop line counts the instructions; --help says both") {
  const auto budget = clitest::run_cli({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello", "--max-insns", "5"});
  CHECK(budget.status == 1);
  CHECK(budget.err ==
        "irqremap: run stopped: instruction budget of 5 exhausted (cpu0, PC 0x40080014: ldrb w3, [x2], #1) after 5 "
        "instructions\n");
  const auto help = clitest::run_cli({"run", "--help"});
  CHECK(help.out.find("default: none") != std::string::npos);
  CHECK(help.out.find("Ctrl-C (SIGINT) or SIGTERM") != std::string::npos);
}

TEST_CASE("run: the stop signals are caught only while a run lasts; the previous handlers come back") {
  struct sigaction own {}, saved_int {}, saved_term {};
  own.sa_handler = own_handler;
  sigemptyset(&own.sa_mask);
  REQUIRE(sigaction(SIGTERM, &own, &saved_term) == 0);
  arch::clear_host_stop();
  {
    const cli::StopSignals signals;
    g_own_handler_saw = 0;
    raise(SIGTERM);
    CHECK(arch::host_stop_request() == SIGTERM);  // recorded for the scheduler ...
    CHECK(g_own_handler_saw == 0);                // ... and not passed on
  }
  CHECK(arch::host_stop_request() == 0);  // a later run in this process is not stopped by it
  raise(SIGTERM);
  CHECK(g_own_handler_saw == SIGTERM);
  CHECK(arch::host_stop_request() == 0);

  // An ignored SIGINT (a job a shell started in the background) stays ignored.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  REQUIRE(sigaction(SIGINT, &ignore, &saved_int) == 0);
  {
    const cli::StopSignals signals;
    raise(SIGINT);
    CHECK(arch::host_stop_request() == 0);
  }
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  const bool still_ignored = now.sa_handler == SIG_IGN;
  CHECK(still_ignored);
  sigaction(SIGINT, &saved_int, nullptr);
  sigaction(SIGTERM, &saved_term, nullptr);
}

namespace {

// Runs `args` with stdout and stderr on pipes, waits for the guest's "spinning" line, sends
// `sig`, and checks what every signal stop shares: exit status 1, the line on stdout (at
// once: stdout is a pipe, where UART output used to sit in the buffer until the process
// ended), one stop line on stderr starting with `head`. Returns the stderr text.
std::string stop_spinning_run(const std::vector<std::string>& args, int sig, const char* name,
                              const std::string& img, const std::string& head) {
  Child child(args);
  const bool spinning = child.wait_for_stdout("spinning\n");
  CHECK_MESSAGE(spinning, "stdout: " << child.out << "\nstderr: " << child.err);
  child.signal(sig);  // also when the line never came: the report then shows how the run ended
  const std::optional<int> status = child.finish();
  std::remove(img.c_str());
  REQUIRE_MESSAGE(status.has_value(), "the run did not end after " << name << "; stderr: " << child.err);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 1);
  CHECK(child.out == "spinning\n");
  CHECK_MESSAGE(child.err.starts_with(head), child.err);
  CHECK(std::count(child.err.begin(), child.err.end(), '\n') == 1);
  return child.err;
}

}  // namespace

TEST_CASE("run end to end: SIGTERM stops an arm64 guest that spins forever; the UART line came through a pipe at once") {
  uint64_t loop = 0;
  const std::string img = write_image("arm64", arm64_print_then_spin("spinning\n", &loop));
  const std::string json = "/tmp/irqremap-run-stop-" + std::to_string(getpid()) + ".json";
  // One line: the signal, the CPU, the PC of the loop and its instruction, the count.
  const std::string err = stop_spinning_run({"run", "--arch", "arm64", "--kernel", img, "--trace-out", json}, SIGTERM,
                                            "SIGTERM", img,
                                            fmt::format("irqremap: run stopped: interrupted by SIGTERM (cpu0, PC {:#x}: b "
                                                        "#{:#x}) after ",
                                                        loop, loop));
  const std::optional<uint64_t> n = instructions_in(err);
  REQUIRE_MESSAGE(n.has_value(), err);
  CHECK(*n >= (loop - 0x4008'0000) / 4);  // at least the printing part ran
  // The timeline file is written as for any other stop.
  std::ifstream f(json);
  REQUIRE(f.good());
  const nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
  std::remove(json.c_str());
  REQUIRE(!j.is_discarded());
  CHECK(j["traceEvents"].is_array());
  CHECK(!j["traceEvents"].empty());
}

TEST_CASE("run end to end: SIGINT (Ctrl-C) stops an x86 guest that spins forever, and the SVG is still drawn") {
  uint64_t loop = 0;
  const std::string img = write_image("x86", x86_print_then_spin("spinning\n", &loop));
  const std::string svg = "/tmp/irqremap-run-stop-" + std::to_string(getpid()) + ".svg";
  const std::string err = stop_spinning_run(
      {"run", "--arch", "x86", "--kernel", img, "--trace-svg", svg}, SIGINT, "SIGINT", img,
      fmt::format("irqremap: run stopped: interrupted by SIGINT (cpu0, PC {:#x}: jmp {:#x}) after ", loop, loop));
  CHECK(instructions_in(err).has_value());
  std::ifstream f(svg);
  REQUIRE(f.good());
  const std::string picture((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::remove(svg.c_str());
  CHECK(picture.starts_with("<svg"));
  CHECK(picture.find("</svg>") != std::string::npos);
}
