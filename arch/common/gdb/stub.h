#pragma once
// The GDB remote serial protocol as gdb-multiarch 13 (Debian 12) speaks it to a stopped
// machine (GDB manual, Appendix E "GDB Remote Serial Protocol"): one thread per vCPU
// (thread id = CPU number + 1; ids must be positive), all-stop. The stub answers packets
// while the machine is stopped and returns the resume request that ends the stop;
// *when* the machine stops (breakpoints, watchpoints, steps, Ctrl-C) is session.h's job,
// and how registers and memory are read is the machine's (target.h). No Unicorn here.
//
// Packets: qSupported (PacketSize, qXfer:features:read, QStartNoAckMode, swbreak,
// hwbreak, vContSupported), qXfer:features:read:target.xml, ?, g/G, p/P, m/M/X, c/s (an
// address resumes there), C/S (the signal is ignored: a machine has no signals),
// vCont? and vCont with per-thread actions, Z0/z0 (software) and Z1/z1 (hardware)
// breakpoints, Z2/Z3/Z4 write/read/access watchpoints, H g/c, T, qfThreadInfo/
// qsThreadInfo, qC, qThreadExtraInfo, qAttached, qSymbol, D, k, vKill, QStartNoAckMode.
// Anything else gets the empty reply ("not supported", E.1); a malformed packet (bad hex,
// a missing field, an unknown thread, a length past PacketSize) gets an Exx error reply.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "arch/common/gdb/packet.h"
#include "arch/common/gdb/target.h"

namespace irqremap::gdb {

// The largest packet either side sends (qSupported's PacketSize): a full g reply of the
// x86-64 description (about 1.1 KB of hex) and a 8 KB memory read fit.
inline constexpr std::size_t kPacketSize = 0x4000;

class Connection {
 public:
  virtual ~Connection() = default;
  // The next byte, waiting for it; nullopt when the client has gone.
  virtual std::optional<char> read_byte() = 0;
  virtual void write(std::string_view bytes) = 0;
};

enum class WatchKind : uint8_t { Write, Read, Access };  // Z2, Z3, Z4

struct Watchpoint {
  uint64_t addr = 0, len = 0;
  WatchKind kind = WatchKind::Write;
  bool overlaps(uint64_t a, uint64_t n) const { return a < addr + len && addr < a + n; }
  // Whether an access of this direction triggers it.
  bool triggers(bool write) const { return kind == WatchKind::Access || (kind == WatchKind::Write) == write; }
};

// Why the machine stopped, for the T stop reply (E.3 "Stop Reply Packets").
struct StopEvent {
  unsigned cpu = 0;
  int signal = 5;  // SIGTRAP; 2 (SIGINT) for Ctrl-C
  enum class Cause : uint8_t { None, SwBreak, HwBreak, Watch } cause = Cause::None;
  Watchpoint watch{};       // Watch: the watchpoint
  uint64_t watch_addr = 0;  // Watch: the accessed address
};

struct Resume {
  enum class Kind : uint8_t { Continue, Step, Detach, Kill, Disconnected };
  Kind kind = Kind::Continue;
  unsigned step_cpu = 0;  // Step: the one CPU that executes one instruction
};

class Stub {
 public:
  explicit Stub(Target& target) : target_(target), reader_(kPacketSize) {}

  // Serves a stopped machine: sends the stop reply for `e` when `announce` (not for the
  // stop a client finds when it connects: it asks with '?'), then answers packets until
  // one resumes the machine or the client goes.
  Resume serve(Connection& c, const StopEvent& e, bool announce);

  // One packet's payload: the reply to send (none for k) and the resume it asks for.
  struct Outcome {
    std::optional<std::string> reply;
    std::optional<Resume> resume;
  };
  Outcome handle(std::string_view packet);
  // The stop '?' reports and that selects the current thread.
  void set_stop(const StopEvent& e);
  static std::string stop_reply(const StopEvent& e);
  // "W<status>": the process exited (the guest powered off), E.3.
  static std::string exit_reply(int status);

  // Feeds a byte that arrived while the machine runs (Ctrl-C is 0x03).
  std::optional<Incoming> feed(char c) { return reader_.feed(c); }
  bool ack_mode() const { return ack_; }

  bool breakpoint_at(uint64_t va) const { return breakpoints_.contains(va); }
  // Software (bit 0, Z0) or hardware (bit 1, Z1) breakpoint at `va`.
  unsigned breakpoint_kinds(uint64_t va) const;
  bool has_breakpoints() const { return !breakpoints_.empty(); }
  const std::vector<Watchpoint>& watchpoints() const { return watchpoints_; }
  // Detach or disconnect: the breakpoints and watchpoints go with the client, and a new
  // client starts with acknowledgements on (E.11: no-ack mode lasts for the connection).
  void forget_client();
  // The CPU whose PC may not be written now: one stopped inside a data access (an
  // AArch64 watchpoint, session.h), halfway through its instruction. A CPU stopped
  // before an instruction or between quanta may be moved.
  void set_pc_fixed(std::optional<unsigned> cpu) { pc_fixed_ = cpu; }
  // Whether the client moved `cpu`'s PC since the last call (forgets it).
  bool take_pc_moved(unsigned cpu) { return pc_moved_.erase(cpu) != 0; }

 private:
  std::string read_registers();
  std::string write_registers(std::string_view hex);
  std::string read_register(std::string_view args);
  std::string write_register(std::string_view args);
  std::string read_memory(std::string_view args);
  std::string write_memory(std::string_view args, bool binary);
  std::string breakpoint(std::string_view args, bool insert);
  Outcome vcont(std::string_view args);
  Outcome resume_at(std::string_view addr, Resume::Kind kind, unsigned cpu);
  std::string xfer_features(std::string_view args);
  // A thread id ("1", "-1", "0", hex): the CPU, or -1 for all, nullopt if malformed or unknown.
  std::optional<int> thread(std::string_view id) const;
  bool write_pc(unsigned cpu, std::span<const std::byte> v);

  Target& target_;
  PacketReader reader_;
  std::map<uint64_t, unsigned> breakpoints_;  // address -> kinds (bit 0 Z0, bit 1 Z1)
  std::vector<Watchpoint> watchpoints_;
  StopEvent stop_{};
  unsigned g_cpu_ = 0;       // registers and memory (Hg)
  unsigned c_cpu_ = 0;       // what a plain s steps (Hc)
  bool ack_ = true;
  std::optional<unsigned> pc_fixed_;
  std::set<unsigned> pc_moved_;
  std::string xml_;          // target.xml, built once
  std::string last_reply_;   // resent on '-' in ack mode
};

}  // namespace irqremap::gdb
