// The GDB remote protocol layer (arch/common/gdb/) against a plain C++ target: no
// Unicorn, no machine, no socket. What gdb-multiarch does with it end to end is in
// tests/arm64/gdb_arm64_test.cpp.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "arch/common/gdb/packet.h"
#include "arch/common/gdb/stub.h"
#include "arch/common/gdb/target.h"

using namespace irqremap::gdb;

namespace {

// Two CPUs with three registers each (r0, pc, flags) and 4 KiB of memory at 0x1000.
class FakeTarget final : public Target {
 public:
  static constexpr std::array<RegisterDesc, 3> kRegs{{
      {"r0", 64, "int", "org.test.core"},
      {"pc", 64, "code_ptr", "org.test.core"},
      {"flags", 32, "int", "org.test.core"},
  }};
  const TargetDescription& description() const override {
    static const TargetDescription d{"test", kRegs, {}, 1};
    return d;
  }
  unsigned cpu_count() const override { return 2; }
  std::string cpu_state(unsigned cpu) const override { return "CPU " + std::to_string(cpu); }
  bool read_register(unsigned cpu, unsigned regno, std::span<std::byte> out) override {
    std::memcpy(out.data(), &regs[cpu][regno], out.size());
    return true;
  }
  bool write_register(unsigned cpu, unsigned regno, std::span<const std::byte> in) override {
    regs[cpu][regno] = 0;
    std::memcpy(&regs[cpu][regno], in.data(), in.size());
    return true;
  }
  bool read_memory(unsigned, uint64_t va, std::span<std::byte> out) override {
    if (va < 0x1000 || va + out.size() > 0x2000) return false;
    std::memcpy(out.data(), mem.data() + (va - 0x1000), out.size());
    return true;
  }
  bool write_memory(unsigned, uint64_t va, std::span<const std::byte> in) override {
    if (va < 0x1000 || va + in.size() > 0x2000) return false;
    std::memcpy(mem.data() + (va - 0x1000), in.data(), in.size());
    return true;
  }
  std::array<std::array<uint64_t, 3>, 2> regs{{{0x1122334455667788, 0x40080000, 0x3c5}, {1, 0x40080100, 0}}};
  std::array<std::byte, 0x1000> mem{};
};

// A client whose bytes are scripted; what the stub writes is kept.
class ScriptedConnection final : public Connection {
 public:
  explicit ScriptedConnection(std::string in) : in_(std::move(in)) {}
  std::optional<char> read_byte() override {
    if (at_ == in_.size()) return std::nullopt;
    return in_[at_++];
  }
  void write(std::string_view b) override { out += b; }
  std::string out;

 private:
  std::string in_;
  std::size_t at_ = 0;
};

std::string reply(Stub& s, std::string_view p) {
  auto o = s.handle(p);
  REQUIRE(o.reply.has_value());
  return *o.reply;
}

}  // namespace

TEST_CASE("gdb framing: checksum is the modulo-256 sum and $ # } * are escaped with } and XOR 0x20") {
  CHECK(frame("OK") == "$OK#9a");
  CHECK(frame("") == "$#00");
  // '#' (0x23) goes as "}\x03"; the checksum covers the escaped bytes (GDB manual E.1).
  CHECK(frame("a#") == "$a}\x03#" + std::string("e1"));
  CHECK(unescape_binary("}\x03}]") == std::vector<std::byte>{std::byte('#'), std::byte('}')});
  CHECK_FALSE(unescape_binary("ab}").has_value());
}

TEST_CASE("gdb packet reader: packets, Ctrl-C, acks, a bad checksum and an overlong packet each come out as such") {
  PacketReader r(8);
  auto feed = [&](std::string_view bytes) {
    std::vector<Incoming> got;
    for (char c : bytes)
      if (auto i = r.feed(c)) got.push_back(*i);
    return got;
  };
  auto a = feed("+$m10,4#" + std::string("2e") + "\x03-");
  REQUIRE(a.size() == 4);
  CHECK(a[0].kind == Incoming::Kind::Ack);
  CHECK(a[1].kind == Incoming::Kind::Packet);
  CHECK(a[1].payload == "m10,4");
  CHECK(a[2].kind == Incoming::Kind::Interrupt);
  CHECK(a[3].kind == Incoming::Kind::Nack);
  auto b = feed("$OK#00$OK#zz$0123456789#00$OK#9a");
  REQUIRE(b.size() == 4);
  CHECK(b[0].kind == Incoming::Kind::BadChecksum);
  CHECK(b[1].kind == Incoming::Kind::BadChecksum);
  CHECK(b[2].kind == Incoming::Kind::Overflow);  // read to its end, not buffered beyond 8
  CHECK(b[3].kind == Incoming::Kind::Packet);    // and the next one is read normally
}

TEST_CASE("gdb stub: every malformed packet gets an Exx error reply and resumes nothing") {
  FakeTarget t;
  Stub s(t);
  const auto before = t.regs;
  for (std::string_view p :
       {"m", "mzz,4", "m1000", "m1000,", "m11112222333344445,1", "M1000,2:zz", "M1000,2:00", "M1000,1",
        "X1000,1:}", "X1000,2:a", "p", "pzz", "p3", "P0=12", "P9=0000000000000000", "P0", "Pzz=00", "Z0",
        "Z0,zz,4", "Z2,1000,0", "z", "Hg3", "Hgzz", "Hx1", "H", "T3", "Tzz", "vCont;", "vCont;q", "vCont;s:3",
        "vCont;c:zz", "G12", "Gzz", "qXfer:features:read:target.xml:zz", "qXfer:features:read:target.xml",
        "qXfer:features:read:target.xml:ffffff,10", "qXfer:features:read:other.xml:0,10", "qThreadExtraInfo,3",
        "czz", "Szz", "C05;zz", "gzz"}) {
    CAPTURE(p);
    auto o = s.handle(p);
    REQUIRE(o.reply.has_value());
    CHECK(o.reply->starts_with("E"));
    CHECK_FALSE(o.resume.has_value());
  }
  CHECK(t.regs == before);  // nothing written by a refused packet
}

TEST_CASE("gdb stub: random bytes through the reader and the stub never crash it and keep replies in PacketSize") {
  FakeTarget t;
  Stub s(t);
  std::mt19937 rng(33);
  const std::string alphabet = "$#}*+-\x03mMXgGpPZzHTqvcsCSkD?0123456789abcdefxyz,:;=.";
  for (int i = 0; i < 20000; ++i) {
    std::string p;
    const int n = int(rng() % 40);
    for (int k = 0; k < n; ++k) p += alphabet[rng() % alphabet.size()];
    if (p.starts_with("k") || p.starts_with("vKill") || p == "D") continue;  // asked for, not malformed
    auto o = s.handle(p);
    if (o.reply) CHECK(o.reply->size() < kPacketSize);
  }
}

TEST_CASE("gdb stub: qSupported offers PacketSize, the target description, no-ack mode and breakpoint stop reasons") {
  FakeTarget t;
  Stub s(t);
  const std::string r = reply(s, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
  CHECK(r.find("PacketSize=4000") != std::string::npos);
  CHECK(r.find("qXfer:features:read+") != std::string::npos);
  CHECK(r.find("QStartNoAckMode+") != std::string::npos);
  CHECK(r.find("swbreak+") != std::string::npos);
  const std::string xml = reply(s, "qXfer:features:read:target.xml:0,3fff");
  CHECK(xml.starts_with("l<?xml"));  // the whole document in one part
  CHECK(xml.find("<architecture>test</architecture>") != std::string::npos);
  CHECK(xml.find("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"1\"/>") != std::string::npos);
  const std::string part = reply(s, "qXfer:features:read:target.xml:0,10");
  CHECK(part == "m<?xml version=\"1");  // more follows
}

TEST_CASE("gdb stub: g, p and P read and write the registers of the thread Hg selects, little-endian") {
  FakeTarget t;
  Stub s(t);
  CHECK(reply(s, "g") == "8877665544332211" "0000084000000000" "c5030000");
  CHECK(reply(s, "Hg2") == "OK");
  CHECK(reply(s, "p1") == "0001084000000000");
  CHECK(reply(s, "P0=efbeadde00000000") == "OK");
  CHECK(t.regs[1][0] == 0xdeadbeef);
  CHECK(t.regs[0][0] == 0x1122334455667788);  // CPU 0 untouched
  CHECK(reply(s, "G" "0100000000000000" "0001084000000000" "xxxxxxxx") == "OK");  // x: leave as it is
  CHECK(t.regs[1][0] == 1);
}

TEST_CASE("gdb stub: the PC of a CPU stopped halfway through an instruction is not written, unless unchanged") {
  FakeTarget t;
  Stub s(t);
  s.set_pc_fixed(0);
  CHECK(reply(s, "P1=0000084000000000") == "OK");  // the same PC
  CHECK(reply(s, "P1=0400084000000000") == "E04");
  CHECK(t.regs[0][1] == 0x40080000);
  CHECK_FALSE(s.take_pc_moved(0));
  CHECK(reply(s, "Hg2") == "OK");  // CPU 1 is not stopped halfway: its PC may move
  CHECK(reply(s, "P1=0800084000000000") == "OK");
  CHECK(t.regs[1][1] == 0x40080008);
  CHECK(s.take_pc_moved(1));  // the session learns the move once
  CHECK_FALSE(s.take_pc_moved(1));
  CHECK(reply(s, "Hg1") == "OK");
  s.set_pc_fixed(std::nullopt);
  CHECK_FALSE(s.handle("c40080004").reply.has_value());  // "c addr" resumes there
  CHECK(t.regs[0][1] == 0x40080004);
}

TEST_CASE("gdb stub: m, M and X reach memory; a read or write past it is E03") {
  FakeTarget t;
  Stub s(t);
  CHECK(reply(s, "M1008,4:01020304") == "OK");
  CHECK(reply(s, "m1008,4") == "01020304");
  CHECK(reply(s, "X100c,2:}\x03*") == "OK");  // binary, '#' escaped
  CHECK(reply(s, "m100c,2") == "232a");
  CHECK(reply(s, "X0,0:") == "OK");  // gdb's probe for X
  CHECK(reply(s, "m1ffe,4") == "E03");
  CHECK(reply(s, "M2000,1:00") == "E03");
  CHECK(reply(s, "m1000,100000").size() < kPacketSize);  // a long read gets what fits
}

TEST_CASE("gdb stub: Z0/Z1 breakpoints and Z2-Z4 watchpoints are kept until z removes them") {
  FakeTarget t;
  Stub s(t);
  CHECK(reply(s, "Z0,40080040,4") == "OK");
  CHECK(reply(s, "Z1,40080040,4") == "OK");
  CHECK(s.breakpoint_kinds(0x40080040) == 3);
  CHECK(reply(s, "z0,40080040,4") == "OK");
  CHECK(s.breakpoint_kinds(0x40080040) == 2);
  CHECK(reply(s, "z1,40080040,4") == "OK");
  CHECK_FALSE(s.breakpoint_at(0x40080040));
  CHECK(reply(s, "Z2,1004,4") == "OK");
  CHECK(reply(s, "Z3,2000,8") == "OK");
  REQUIRE(s.watchpoints().size() == 2);
  const Watchpoint& w = s.watchpoints()[0];
  CHECK(w.overlaps(0x1000, 8));
  CHECK_FALSE(w.overlaps(0x1008, 4));
  CHECK(w.triggers(true));
  CHECK_FALSE(w.triggers(false));
  CHECK(reply(s, "z2,1004,4") == "OK");
  CHECK(s.watchpoints().size() == 1);
  CHECK(reply(s, "Z5,1000,4").empty());  // not a type this stub knows: "unsupported"
}

TEST_CASE("gdb stub: one thread per CPU; vCont steps the one thread it names, c continues them all") {
  FakeTarget t;
  Stub s(t);
  CHECK(reply(s, "qfThreadInfo") == "m1,2");
  CHECK(reply(s, "qsThreadInfo") == "l");
  CHECK(reply(s, "qThreadExtraInfo,2") == to_hex(std::string_view("CPU 1")));
  CHECK(reply(s, "T2") == "OK");
  CHECK(reply(s, "vCont?") == "vCont;c;C;s;S");
  s.set_stop(StopEvent{1});
  CHECK(reply(s, "qC") == "QC2");
  auto step = s.handle("vCont;s:1;c");
  REQUIRE(step.resume.has_value());
  CHECK(step.resume->kind == Resume::Kind::Step);
  CHECK(step.resume->step_cpu == 0);
  auto cont = s.handle("vCont;c");
  REQUIRE(cont.resume.has_value());
  CHECK(cont.resume->kind == Resume::Kind::Continue);
  CHECK(s.handle("D").resume->kind == Resume::Kind::Detach);
  CHECK(s.handle("k").resume->kind == Resume::Kind::Kill);
  CHECK_FALSE(s.handle("k").reply.has_value());  // k has no reply
}

TEST_CASE("gdb stub: stop replies name the thread and the cause; an exit is W with the status") {
  StopEvent b{1};
  b.cause = StopEvent::Cause::SwBreak;
  CHECK(Stub::stop_reply(b) == "T05swbreak:;thread:2;");
  StopEvent w{0};
  w.cause = StopEvent::Cause::Watch;
  w.watch = {0x1000, 4, WatchKind::Read};
  w.watch_addr = 0x1002;
  CHECK(Stub::stop_reply(w) == "T05rwatch:1002;thread:1;");
  CHECK(Stub::stop_reply(StopEvent{3, 2}) == "T02thread:4;");
  CHECK(Stub::exit_reply(0) == "W00");
  CHECK(Stub::exit_reply(3) == "W03");
}

TEST_CASE("gdb stub serve: acks each packet, asks again after a bad checksum, stops acking after QStartNoAckMode") {
  FakeTarget t;
  Stub s(t);
  ScriptedConnection c("$?#3f" "$g#00" "$QStartNoAckMode#b0" "+" "$qC#b4" "$vCont;c#a8");
  const Resume r = s.serve(c, StopEvent{0}, false);
  CHECK(r.kind == Resume::Kind::Continue);
  CHECK(c.out == "+" + frame("T05thread:1;") + "-" + "+" + frame("OK") + frame("QC1"));
  CHECK_FALSE(s.ack_mode());
  s.forget_client();  // the next client starts with acks
  CHECK(s.ack_mode());
}

TEST_CASE("gdb stub serve: a client that goes while the machine is stopped is a disconnect, and a stop is announced") {
  FakeTarget t;
  Stub s(t);
  ScriptedConnection c("$m1000,");  // cut off mid-packet
  StopEvent e{1};
  e.cause = StopEvent::Cause::HwBreak;
  CHECK(s.serve(c, e, true).kind == Resume::Kind::Disconnected);
  CHECK(c.out == frame("T05hwbreak:;thread:2;"));
}
