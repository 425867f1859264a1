#pragma once
// Runs `irqremap run ... --gdb 0 --gdb-wait` as a child process and a debugger against
// it: gdb-multiarch in batch mode (gdb_batch) or raw packets over a socket
// (GdbSocket). Shared by the arm64 and x86 debugger tests. A test that needs
// gdb-multiarch and finds none is skipped with one "SKIPPED:" line naming it and the
// reason, as the kvm-unit-tests checks do (tests/common/kvm_unit_tests.h), and fails
// instead when IRQREMAP_REQUIRE_TEST_DATA is set (CI installs it: tools/setup.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace gdbtest {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// gdb-multiarch's path, or nullopt after a SKIPPED line naming `test`.
inline std::optional<std::string> find_gdb(const std::string& test) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    const std::string p = std::string(dir) + "/gdb-multiarch";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  const std::string why = "gdb-multiarch not found (apt-get install gdb-multiarch; tools/setup.sh installs it)";
  const char* req = std::getenv("IRQREMAP_REQUIRE_TEST_DATA");
  if (req != nullptr && *req != '\0' && std::string(req) != "0") {
    FAIL_CHECK("IRQREMAP_REQUIRE_TEST_DATA is set: " << test << ": " << why);
  } else {
    MESSAGE("SKIPPED: " << test << ": " << why);
    std::cerr << "SKIPPED: " << test << ": " << why << "\n";
  }
  return std::nullopt;
}

// `irqremap ARGS --gdb 0 [--gdb-wait]` in the background, stdout and stderr to files; the
// port the stub chose is read from its "gdb stub on 127.0.0.1:N" line.
class DebuggedRun {
 public:
  // `wait`: --gdb-wait (the machine waits for the client before its first instruction).
  explicit DebuggedRun(const std::vector<std::string>& args, bool wait = true) {
    dir_ = std::filesystem::temp_directory_path() /
           ("irqremap-gdb-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv{IRQREMAP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* a : {"--gdb", "0"}) argv.emplace_back(a);
    if (wait) argv.emplace_back("--gdb-wait");
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, (dir_ / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      const std::string err = slurp(dir_ / "err");
      if (auto at = err.find("127.0.0.1:"); at != std::string::npos && err.find('\n', at) != std::string::npos)
        port_ = std::stoi(err.substr(at + 10));
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(port_ != 0);
  }
  ~DebuggedRun() {
    if (pid_ > 0 && !status_) kill(pid_, SIGKILL), waitpid(pid_, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  int port() const { return port_; }
  // Waits (at most `seconds`) for the run to end: its exit status, -1 if it had to be killed.
  int wait(int seconds = 60) {
    for (int i = 0; i < seconds * 100 && !status_; ++i) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      status_ = -1;
    }
    return *status_;
  }
  std::string out() const { return slurp(dir_ / "out"); }
  std::string err() const { return slurp(dir_ / "err"); }
  std::filesystem::path dir() const { return dir_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::optional<int> status_;
};

// gdb-multiarch -batch on `elf` with `commands` (one per line) after "target remote";
// everything it prints.
inline std::string gdb_batch(const std::string& gdb, const std::string& elf, int port, const std::string& commands,
                             const std::filesystem::path& dir) {
  const auto script = dir / "commands.gdb";
  std::ofstream(script) << "set pagination off\nset confirm off\ntarget remote 127.0.0.1:" << port << "\n"
                        << commands;
  const std::string cmd = "timeout 60 " + gdb + " -nx -batch -x " + script.string() + " " + elf + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

// A raw client: packets out, bytes in (with a deadline, so a silent stub fails the test).
class GdbSocket {
 public:
  explicit GdbSocket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~GdbSocket() { close(fd_); }
  void send_raw(const std::string& bytes) { REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size())); }
  // Reads until `until` appears in what was read (or 20 s pass); returns what was read
  // up to and including it, keeping the rest for the next call.
  std::string read_until(const std::string& until) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (buf_.find(until) == std::string::npos && std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char b[4096];
      const ssize_t n = recv(fd_, b, sizeof b, 0);
      if (n <= 0) break;
      buf_.append(b, std::size_t(n));
    }
    const auto at = buf_.find(until);
    const std::size_t take = at == std::string::npos ? buf_.size() : at + until.size();
    std::string got = buf_.substr(0, take);
    buf_.erase(0, take);
    return got;
  }
  // The payload of the next reply packet ("$payload#cc"), skipping acknowledgements.
  std::string reply() {
    std::string r = read_until("#");
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (buf_.size() < 2 && std::chrono::steady_clock::now() < end) {  // the checksum
      char b[64];
      const ssize_t n = recv(fd_, b, sizeof b, MSG_DONTWAIT);
      if (n > 0) buf_.append(b, std::size_t(n));
      else std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    buf_.erase(0, std::min<std::size_t>(2, buf_.size()));
    const auto dollar = r.find('$');
    return dollar == std::string::npos ? r : r.substr(dollar + 1, r.size() - dollar - 2);
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

}  // namespace gdbtest
