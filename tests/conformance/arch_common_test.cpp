// arch/common: the loader, the MMIO binding and the scheduler both machines share.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <vector>

#include "arch/common/disassembler.h"
#include "arch/common/engine_memory.h"
#include "arch/common/host_stop.h"
#include "arch/common/image_loader.h"
#include "arch/common/mmio_binding.h"
#include "arch/common/scheduler.h"
#include "arch/common/snapshot/memory_state.h"
#include "snapshot/state_io.h"
#include "remap/bits.h"
#include <fmt/format.h>

using namespace irqremap;
using namespace irqremap::arch;

namespace {

void put(std::vector<std::byte>& b, size_t off, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) b[off + i] = std::byte(uint8_t(v >> (8 * i)));
}

// A minimal ELF64 with one PT_LOAD of `payload` at `paddr` (memsz = filesz + bss).
std::vector<std::byte> make_elf(uint16_t machine, uint64_t paddr, std::vector<uint8_t> payload,
                                uint64_t bss = 0) {
  std::vector<std::byte> b(64 + 56 + payload.size());
  std::memcpy(b.data(), "\x7f" "ELF", 4);
  put(b, 4, 2, 1);  // ELFCLASS64
  put(b, 5, 1, 1);  // ELFDATA2LSB
  put(b, 18, machine, 2);
  put(b, 24, paddr, 8);  // e_entry
  put(b, 32, 64, 8);     // e_phoff
  put(b, 54, 56, 2);     // e_phentsize
  put(b, 56, 1, 2);      // e_phnum
  put(b, 64, 1, 4);      // PT_LOAD
  put(b, 64 + 8, 120, 8);
  put(b, 64 + 24, paddr, 8);
  put(b, 64 + 32, payload.size(), 8);
  put(b, 64 + 40, payload.size() + bss, 8);
  for (size_t i = 0; i < payload.size(); ++i) b[120 + i] = std::byte(payload[i]);
  return b;
}

}  // namespace

TEST_CASE("loader: ELF64 PT_LOAD lands at p_paddr, bss is zeroed, entry is e_entry (gABI)") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x4000'0000, 0x10'0000, "ram"));
  REQUIRE(mem.write32(0x4008'0004, 0xFFFF'FFFF));
  auto elf = make_elf(kEmAarch64, 0x4008'0000, {1, 2, 3, 4}, 4);
  auto r = load_image(mem, elf, kEmAarch64, 0x4008'0000);
  REQUIRE(r);
  CHECK(r->elf);
  CHECK(r->entry == 0x4008'0000);
  CHECK(r->segments == 1);
  CHECK(*mem.read32(0x4008'0000) == 0x04030201);
  CHECK(*mem.read32(0x4008'0004) == 0);
}

TEST_CASE("loader: malformed ELF is a clear error, never a crash") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x4000'0000, 0x10'0000, "ram"));
  auto good = make_elf(kEmAarch64, 0x4008'0000, {1, 2, 3, 4});
  SUBCASE("truncated header") {
    auto r = load_image(mem, std::span(good).first(40), kEmAarch64, 0x4008'0000);
    REQUIRE(!r);
    CHECK(r.error().find("shorter") != std::string::npos);
  }
  SUBCASE("wrong machine") {
    auto r = load_image(mem, good, kEmX86_64, 0x4008'0000);
    REQUIRE(!r);
    CHECK(r.error().find("machine 183") != std::string::npos);
  }
  SUBCASE("32-bit class") {
    put(good, 4, 1, 1);
    CHECK(!load_image(mem, good, kEmAarch64, 0x4008'0000));
  }
  SUBCASE("program headers past the end") {
    put(good, 56, 1000, 2);
    auto r = load_image(mem, good, kEmAarch64, 0x4008'0000);
    REQUIRE(!r);
    CHECK(r.error().find("program headers") != std::string::npos);
  }
  SUBCASE("segment file range past the end") {
    put(good, 64 + 32, 0x1000, 8);
    put(good, 64 + 40, 0x1000, 8);
    auto r = load_image(mem, good, kEmAarch64, 0x4008'0000);
    REQUIRE(!r);
    CHECK(r.error().find("outside the file") != std::string::npos);
  }
  SUBCASE("segment outside RAM") {
    put(good, 64 + 24, 0x1000, 8);
    auto r = load_image(mem, good, kEmAarch64, 0x4008'0000);
    REQUIRE(!r);
    CHECK(r.error().find("outside RAM") != std::string::npos);
  }
  SUBCASE("no PT_LOAD") {
    put(good, 64, 4, 4);  // PT_NOTE
    auto r = load_image(mem, good, kEmAarch64, 0x4008'0000);
    REQUIRE(!r);
    CHECK(r.error().find("no PT_LOAD") != std::string::npos);
  }
}

TEST_CASE("loader: a non-ELF file is a raw image at the load address (QEMU -kernel flat binary)") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x4000'0000, 0x10'0000, "ram"));
  std::vector<std::byte> raw{std::byte{0x1f}, std::byte{0x20}, std::byte{0x03}, std::byte{0xd5}};
  auto r = load_image(mem, raw, kEmAarch64, 0x4008'0000);
  REQUIRE(r);
  CHECK(!r->elf);
  CHECK(r->entry == 0x4008'0000);
  CHECK(*mem.read32(0x4008'0000) == 0xd503201f);
  CHECK(!load_image(mem, {}, kEmAarch64, 0x4008'0000));
  CHECK(!load_image(mem, raw, kEmAarch64, 0x1000));  // not RAM
}

namespace {

class Recorder final : public MmioDevice {
 public:
  std::string_view mmio_name() const override { return "REC"; }
  uint64_t mmio_size() const override { return 0x100; }
  uint64_t mmio_read(uint64_t off, unsigned size) override {
    log.push_back({false, off, size, 0});
    return off == 0x10 ? 0x1111'2222 : 0x3333'4444;
  }
  void mmio_write(uint64_t off, unsigned size, uint64_t v) override { log.push_back({true, off, size, v}); }
  struct Access {
    bool write;
    uint64_t off;
    unsigned size;
    uint64_t value;
  };
  std::vector<Access> log;
};

}  // namespace

TEST_CASE("mmio: a 64-bit guest store reaches the device as two 32-bit halves (remap/mmio.h contract)") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x4000'0000, 0x1'0000, "ram"));
  // str x1, [x0]; ldr x2, [x0, #0x10]
  REQUIRE(mem.write32(0x4000'0000, 0xF9000001));
  REQUIRE(mem.write32(0x4000'0004, 0xF9400802));
  uc_engine* uc = nullptr;
  REQUIRE(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) == UC_ERR_OK);
  REQUIRE(map_guest_memory(uc, mem));
  Trace trace;
  MmioBindings b(trace);
  Recorder rec;
  REQUIRE(b.bind(uc, 0, 0x0900'0000, rec));
  CHECK(!b.bind(uc, 0, 0x0900'0000, rec));  // overlap is an error
  uint64_t x0 = 0x0900'0000, x1 = 0xAAAA'BBBB'CCCC'DDDD;
  uc_reg_write(uc, UC_ARM64_REG_X0, &x0);
  uc_reg_write(uc, UC_ARM64_REG_X1, &x1);
  REQUIRE(uc_emu_start(uc, 0x4000'0000, 0, 0, 2) == UC_ERR_OK);
  uint64_t x2 = 0;
  uc_reg_read(uc, UC_ARM64_REG_X2, &x2);
  uc_close(uc);
  REQUIRE(rec.log.size() == 4);
  CHECK((rec.log[0].write && rec.log[0].off == 0 && rec.log[0].size == 4 && rec.log[0].value == 0xCCCC'DDDD));
  CHECK((rec.log[1].write && rec.log[1].off == 4 && rec.log[1].size == 4 && rec.log[1].value == 0xAAAA'BBBB));
  CHECK((!rec.log[2].write && rec.log[2].off == 0x10 && rec.log[3].off == 0x14));
  CHECK(x2 == 0x3333'4444'1111'2222);
  CHECK(b.writes() == 2);
  CHECK(b.reads() == 2);
}

TEST_CASE("disassembler: AArch64 and x86-64 decode through Capstone") {
  Disassembler a(IsaKind::Arm64), x(IsaKind::X86_64);
  const uint8_t hvc[] = {0x02, 0x00, 0x00, 0xd4};
  const uint8_t hlt[] = {0xf4};
  CHECK(a.decode(hvc, 4, 0) == "hvc #0");
  CHECK(x.decode(hlt, 1, 0) == "hlt");
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x1000, 0x1000, "ram"));
  CHECK(a.at(mem, 0x9000).empty());
}

namespace {

// A fake vCPU: runs `work` instructions, then waits for a wake from `wakes` (shared),
// or stops with a fault at `fault_at`.
class FakeCpu final : public Vcpu {
 public:
  FakeCpu(unsigned i, uint64_t work, std::vector<std::string>& log) : i_(i), left_(work), log_(log) {}
  unsigned index() const override { return i_; }
  VcpuState state() const override { return st_; }
  void service_interrupts() override {
    if (st_ == VcpuState::WaitingForInterrupt && wake) {
      wake = false;
      st_ = VcpuState::Running;
      log_.push_back(fmt::format("wake{}", i_));
    }
  }
  StepResult step(uint64_t max, bool) override {
    const uint64_t n = std::min(max, left_);
    left_ -= n;
    pc_ += 4 * n;
    log_.push_back(fmt::format("cpu{}:{}", i_, n));
    if (left_ == 0) st_ = VcpuState::WaitingForInterrupt;
    return {n, std::nullopt};
  }
  uint64_t pc() const override { return pc_; }
  bool wake = false;

 private:
  unsigned i_;
  uint64_t left_;
  std::vector<std::string>& log_;
  VcpuState st_ = VcpuState::Running;
  uint64_t pc_ = 0x4008'0000;
};

}  // namespace

TEST_CASE("scheduler: round-robin by CPU index with a fixed quantum is deterministic") {
  auto once = [] {
    std::vector<std::string> log;
    FakeCpu a(0, 25, log), b(1, 7, log);
    Vcpu* cpus[] = {&a, &b};
    Scheduler s(10);
    auto r = s.run(cpus, 1000, nullptr, [](unsigned, uint64_t) { return std::string("wfi"); });
    CHECK(r.stop == StopKind::Deadlock);
    CHECK(r.exit_status == 1);
    CHECK(r.instructions == 32);
    CHECK(r.message.find("wfi") != std::string::npos);
    return log;
  };
  const auto first = once();
  CHECK(first == std::vector<std::string>{"cpu0:10", "cpu1:7", "cpu0:10", "cpu0:5"});
  CHECK(once() == first);
}

TEST_CASE("scheduler: the instruction budget stops the run with PC and instruction") {
  std::vector<std::string> log;
  FakeCpu a(0, 1'000'000, log);
  Vcpu* cpus[] = {&a};
  Scheduler s(100);
  auto r = s.run(cpus, 250, nullptr, [](unsigned, uint64_t pc) { return fmt::format("b {:#x}", pc); });
  CHECK(r.stop == StopKind::Budget);
  CHECK(r.instructions == 250);
  CHECK(r.exit_status == 1);
  CHECK(r.pc == 0x4008'0000 + 4 * 250);
  CHECK(r.message == "instruction budget of 250 exhausted (cpu0, PC 0x400803e8: b 0x400803e8) after 250 instructions");
}

namespace {
// Leaves no host stop request behind for the next test, whatever this one checked.
struct HostStopCleared {
  HostStopCleared() { clear_host_stop(); }
  ~HostStopCleared() { clear_host_stop(); }
};
}  // namespace

TEST_CASE("scheduler: a host stop (SIGTERM) ends a run without a budget before the next quantum, with the stop line") {
  HostStopCleared cleared;
  std::vector<std::string> log;
  FakeCpu a(0, 1'000'000, log), b(1, 1'000'000, log);
  Vcpu* cpus[] = {&a, &b};
  Scheduler s(10);
  int calls = 0;
  // The machine's stop hook stands in for the signal: it arrives after three quanta ran,
  // as a handler would record it in the middle of a quantum.
  auto r = s.run(
      cpus, kNoInstructionBudget,
      [&]() -> std::optional<StopRequest> {
        if (++calls == 5) request_host_stop(SIGTERM);
        return std::nullopt;
      },
      [](unsigned, uint64_t pc) { return fmt::format("b {:#x}", pc); });
  CHECK(r.stop == StopKind::Interrupted);
  CHECK(to_string(r.stop) == "interrupted");
  CHECK(r.exit_status == 1);
  CHECK(log == std::vector<std::string>{"cpu0:10", "cpu1:10", "cpu0:10"});  // no quantum after it
  CHECK(r.cpu == 1);
  CHECK(r.instructions == 30);
  CHECK(r.message == "interrupted by SIGTERM (cpu1, PC 0x40080028: b 0x40080028) after 30 instructions");
}

TEST_CASE("scheduler: a power-off and a host stop seen at the same boundary end clean: the guest finished") {
  HostStopCleared cleared;
  std::vector<std::string> log;
  FakeCpu a(0, 1'000'000, log);
  Vcpu* cpus[] = {&a};
  Scheduler s(10);
  int calls = 0;
  auto r = s.run(
      cpus, kNoInstructionBudget,
      [&]() -> std::optional<StopRequest> {
        if (++calls < 3) return std::nullopt;
        request_host_stop(SIGINT);
        return StopRequest{StopKind::SystemOff, "PSCI SYSTEM_OFF", 0};
      },
      [](unsigned, uint64_t) { return std::string(); });
  CHECK(r.stop == StopKind::SystemOff);
  CHECK(r.exit_status == 0);
  CHECK(r.message == "PSCI SYSTEM_OFF");
}

TEST_CASE("host stop: the request names its signal and is cleared") {
  HostStopCleared cleared;
  CHECK(host_stop_request() == 0);
  request_host_stop(SIGINT);
  CHECK(host_stop_request() == SIGINT);
  CHECK(host_stop_signal_name(SIGINT) == "SIGINT");
  CHECK(host_stop_signal_name(SIGTERM) == "SIGTERM");
  CHECK(host_stop_signal_name(SIGHUP) == fmt::format("signal {}", SIGHUP));
  clear_host_stop();
  CHECK(host_stop_request() == 0);
}

TEST_CASE("scheduler: a machine stop (system off) ends the run with its status; a waiting CPU wakes") {
  std::vector<std::string> log;
  FakeCpu a(0, 5, log), b(1, 5, log);
  Vcpu* cpus[] = {&a, &b};
  Scheduler s(10);
  int calls = 0;
  auto r = s.run(
      cpus, 1000,
      [&]() -> std::optional<StopRequest> {
        ++calls;
        if (calls == 4) a.wake = true;  // something sends CPU 0 an interrupt
        if (log.size() >= 4) return StopRequest{StopKind::SystemOff, "PSCI SYSTEM_OFF", 0};
        return std::nullopt;
      },
      [](unsigned, uint64_t) { return std::string(); });
  CHECK(r.stop == StopKind::SystemOff);
  CHECK(r.exit_status == 0);
  CHECK(r.message == "PSCI SYSTEM_OFF");
  CHECK(log == std::vector<std::string>{"cpu0:5", "cpu1:5", "wake0", "cpu0:0"});
}

TEST_CASE("scheduler: a pause at an instruction count ends the run at the next quantum boundary, and the resumed run "
          "runs the quanta the unpaused one ran") {
  auto unpaused = [] {
    std::vector<std::string> log;
    FakeCpu a(0, 45, log), b(1, 33, log), c(2, 12, log);
    Vcpu* cpus[] = {&a, &b, &c};
    Scheduler s(10);
    s.run(cpus, 1000, nullptr, [](unsigned, uint64_t) { return std::string(); });
    return log;
  }();
  for (uint64_t at : {0u, 1u, 10u, 25u, 31u, 60u, 89u}) {
    CAPTURE(at);
    std::vector<std::string> log;
    FakeCpu a(0, 45, log), b(1, 33, log), c(2, 12, log);
    Vcpu* cpus[] = {&a, &b, &c};
    Scheduler s(10);
    s.pause_at(at);
    const RunResult p = s.run(cpus, 1000, nullptr, [](unsigned, uint64_t) { return std::string(); });
    CHECK(p.stop == StopKind::Paused);
    // The quantum that crosses the count is not cut: the pause comes after it.
    CHECK(p.instructions >= at);
    CHECK(p.instructions < at + 10);
    // The scheduler's own state goes through a snapshot into a fresh one, which goes on.
    snapshot::Io io = snapshot::Io::saver();
    s.state(io);
    const std::vector<uint8_t> bytes = io.take();
    Scheduler t(10);
    snapshot::Io in = snapshot::Io::loader(bytes);
    t.state(in);
    REQUIRE(in.ok());
    CHECK(t.instructions() == p.instructions);
    const RunResult r = t.run(cpus, 1000, nullptr, [](unsigned, uint64_t) { return std::string(); });
    CHECK(r.stop == StopKind::Deadlock);
    CHECK(r.instructions == 90);
    CHECK(log == unpaused);
  }
}

TEST_CASE("scheduler: a pause asked for while every CPU waits for an interrupt comes at the next boundary") {
  std::vector<std::string> log;
  FakeCpu a(0, 5, log);
  Vcpu* cpus[] = {&a};
  Scheduler s(10);
  int jumps = 0;
  // The machine's idle hook moves time twice, then asks for the pause (as `run --migrate`
  // does when the guest's line is printed), then has nothing armed.
  const RunResult r = s.run(cpus, 1000, nullptr, [](unsigned, uint64_t) { return std::string(); }, [&] {
    if (++jumps == 2) s.request_pause();
    return jumps <= 2;
  });
  CHECK(r.stop == StopKind::Paused);
  CHECK(jumps == 2);
  const RunResult d = s.run(cpus, 1000, nullptr, [](unsigned, uint64_t) { return std::string(); }, [&] {
    ++jumps;
    return false;
  });
  CHECK(d.stop == StopKind::Deadlock);
  CHECK(jumps == 3);
}

namespace {

std::vector<uint8_t> saved_memory(GuestMemory& m) {
  snapshot::Io io = snapshot::Io::saver();
  snapshot::memory_state(io, m);
  REQUIRE(io.ok());
  return io.take();
}

}  // namespace

TEST_CASE("snapshot: guest memory is saved as its non-zero pages and restored byte for byte, the rest zero") {
  GuestMemory a;
  REQUIRE(a.add_rom(0, 0x10000, "flash"));
  REQUIRE(a.add_ram(0x4000'0000, 0x10'0000, "ram"));
  a.host_ptr(0x100, 1)[0] = std::byte{0x5a};
  REQUIRE(a.write64(0x4000'2ff8, 0x1122'3344'5566'7788));
  REQUIRE(a.write8(0x400f'ffff, 0x99));
  const std::vector<uint8_t> bytes = saved_memory(a);
  // Three pages hold data: the file is those pages and little else.
  CHECK(bytes.size() < 3 * 4096 + 400);
  GuestMemory b;
  REQUIRE(b.add_rom(0, 0x10000, "flash"));
  REQUIRE(b.add_ram(0x4000'0000, 0x10'0000, "ram"));
  REQUIRE(b.write32(0x4008'0000, 0xdead));  // a page the file omits must come back zero
  snapshot::Io io = snapshot::Io::loader(bytes);
  snapshot::memory_state(io, b);
  REQUIRE(io.ok());
  CHECK(io.at_end());
  CHECK(std::memcmp(a.host_ptr(0, 0x10000), b.host_ptr(0, 0x10000), 0x10000) == 0);
  CHECK(std::memcmp(a.host_ptr(0x4000'0000, 0x10'0000), b.host_ptr(0x4000'0000, 0x10'0000), 0x10'0000) == 0);
  CHECK(*b.read32(0x4008'0000) == 0);
}

TEST_CASE("snapshot: guest memory of another layout, or a page outside its region, is refused") {
  GuestMemory a;
  REQUIRE(a.add_ram(0x4000'0000, 0x10'0000, "ram"));
  REQUIRE(a.write8(0x4000'1000, 1));
  std::vector<uint8_t> bytes = saved_memory(a);
  GuestMemory small;
  REQUIRE(small.add_ram(0x4000'0000, 0x8'0000, "ram"));
  snapshot::Io io = snapshot::Io::loader(bytes);
  snapshot::memory_state(io, small);
  CHECK(io.error() ==
        "memory/region/: the file's region \"ram\" at 0x40000000 (0x100000 bytes) is not the machine's \"ram\" at "
        "0x40000000 (0x80000 bytes)");
  // The page index record: name "page", then 8 bytes. 0x1000 pages is one past the end.
  const std::string key = "\x04page";
  auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
  REQUIRE(it != bytes.end());
  const uint64_t past = 0x100;
  std::memcpy(&*(it + 5), &past, 8);
  GuestMemory b;
  REQUIRE(b.add_ram(0x4000'0000, 0x10'0000, "ram"));
  snapshot::Io in = snapshot::Io::loader(bytes);
  snapshot::memory_state(in, b);
  CHECK(in.error() == "memory/region/: page 0x100 is outside the region or out of order");
}
