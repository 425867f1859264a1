#include "arch/common/gdb/stub.h"

#include <fmt/format.h>

#include <algorithm>

namespace irqremap::gdb {

namespace {

// Error replies (E.1: "Exx", the number is the stub's own).
constexpr std::string_view kMalformed = "E01";  // a field missing or not hex
constexpr std::string_view kNoThread = "E02";   // no such thread
constexpr std::string_view kNoMemory = "E03";   // nothing readable or writable there
constexpr std::string_view kNoRegister = "E04"; // no such register, or not writable now
constexpr std::string_view kTooLong = "E05";    // the packet exceeded PacketSize

// "addr,len" (both hex).
std::optional<std::pair<uint64_t, uint64_t>> addr_len(std::string_view s) {
  const auto comma = s.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto a = parse_hex(s.substr(0, comma));
  auto n = parse_hex(s.substr(comma + 1));
  if (!a || !n) return std::nullopt;
  return std::pair{*a, *n};
}

}  // namespace

Resume Stub::serve(Connection& c, const StopEvent& e, bool announce) {
  set_stop(e);
  pc_moved_.clear();
  auto send = [&](std::string_view payload) {
    last_reply_ = frame(payload);
    c.write(last_reply_);
  };
  if (announce) send(stop_reply(e));
  for (;;) {
    const std::optional<char> b = c.read_byte();
    if (!b) return Resume{Resume::Kind::Disconnected};
    const std::optional<Incoming> in = reader_.feed(*b);
    if (!in) continue;
    switch (in->kind) {
      case Incoming::Kind::Packet: {
        if (ack_) c.write("+");
        const Outcome o = handle(in->payload);
        if (o.reply) send(*o.reply);
        if (o.resume) return *o.resume;
        break;
      }
      case Incoming::Kind::BadChecksum:
        if (ack_) c.write("-");  // the client sends it again
        break;
      case Incoming::Kind::Overflow:
        if (ack_) c.write("+");
        send(kTooLong);
        break;
      case Incoming::Kind::Nack:
        if (ack_ && !last_reply_.empty()) c.write(last_reply_);
        break;
      case Incoming::Kind::Interrupt:  // already stopped
      case Incoming::Kind::Ack:
        break;
    }
  }
}

void Stub::set_stop(const StopEvent& e) {
  stop_ = e;
  // The stopped thread becomes the current one, as the T reply tells gdb (E.3).
  g_cpu_ = c_cpu_ = e.cpu;
}

std::string Stub::stop_reply(const StopEvent& e) {
  std::string r = fmt::format("T{:02x}", e.signal & 0xff);
  switch (e.cause) {
    case StopEvent::Cause::SwBreak: r += "swbreak:;"; break;
    case StopEvent::Cause::HwBreak: r += "hwbreak:;"; break;
    case StopEvent::Cause::Watch:
      r += fmt::format("{}:{:x};",
                       e.watch.kind == WatchKind::Write  ? "watch"
                       : e.watch.kind == WatchKind::Read ? "rwatch"
                                                         : "awatch",
                       e.watch_addr);
      break;
    case StopEvent::Cause::None: break;
  }
  return r + fmt::format("thread:{:x};", e.cpu + 1);
}

std::string Stub::exit_reply(int status) { return fmt::format("W{:02x}", status & 0xff); }

unsigned Stub::breakpoint_kinds(uint64_t va) const {
  auto it = breakpoints_.find(va);
  return it == breakpoints_.end() ? 0 : it->second;
}

void Stub::forget_client() {
  breakpoints_.clear();
  watchpoints_.clear();
  ack_ = true;
  last_reply_.clear();
}

std::optional<int> Stub::thread(std::string_view id) const {
  if (id == "-1") return -1;
  auto v = parse_hex(id);
  if (!v) return std::nullopt;
  if (*v == 0) return int(g_cpu_);  // "any thread"
  if (*v > target_.cpu_count()) return std::nullopt;
  return int(*v - 1);
}

Stub::Outcome Stub::handle(std::string_view p) {
  auto reply = [](std::string_view s) { return Outcome{std::string(s), std::nullopt}; };
  if (p.empty()) return reply("");
  const char cmd = p.front();
  const std::string_view args = p.substr(1);
  switch (cmd) {
    case '?': return reply(stop_reply(stop_));
    case 'g': return reply(args.empty() ? read_registers() : std::string(kMalformed));
    case 'G': return reply(write_registers(args));
    case 'p': return reply(read_register(args));
    case 'P': return reply(write_register(args));
    case 'm': return reply(read_memory(args));
    case 'M': return reply(write_memory(args, false));
    case 'X': return reply(write_memory(args, true));
    case 'c': return resume_at(args, Resume::Kind::Continue, c_cpu_);
    case 's': return resume_at(args, Resume::Kind::Step, c_cpu_);
    case 'C':
    case 'S': {
      // "Csig[;addr]": a machine has no signals to deliver; the address is honoured.
      const auto semi = args.find(';');
      if (!parse_hex(args.substr(0, semi))) return reply(kMalformed);
      return resume_at(semi == std::string_view::npos ? std::string_view() : args.substr(semi + 1),
                       cmd == 'C' ? Resume::Kind::Continue : Resume::Kind::Step, c_cpu_);
    }
    case 'Z':
    case 'z': return reply(breakpoint(args, cmd == 'Z'));
    case 'H': {
      if (args.empty()) return reply(kMalformed);
      const auto t = thread(args.substr(1));
      if (!t) return reply(kNoThread);
      if (args.front() == 'g') g_cpu_ = *t < 0 ? g_cpu_ : unsigned(*t);
      else if (args.front() == 'c') c_cpu_ = *t < 0 ? stop_.cpu : unsigned(*t);
      else return reply(kMalformed);
      return reply("OK");
    }
    case 'T': {
      const auto t = thread(args);
      return reply(t && *t >= 0 ? "OK" : kNoThread);
    }
    case 'D': return Outcome{"OK", Resume{Resume::Kind::Detach}};
    case 'k': return Outcome{std::nullopt, Resume{Resume::Kind::Kill}};
    default: break;
  }
  if (p.starts_with("qSupported"))
    return reply(fmt::format("PacketSize={:x};qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;vContSupported+",
                             kPacketSize));
  if (p == "QStartNoAckMode") {
    ack_ = false;  // the OK itself is still acknowledged by the client (E.11)
    return reply("OK");
  }
  if (p.starts_with("qXfer:features:read:")) return reply(xfer_features(p.substr(20)));
  if (p == "qfThreadInfo") {
    std::string r = "m";
    for (unsigned c = 0; c < target_.cpu_count(); ++c) r += fmt::format("{}{:x}", c ? "," : "", c + 1);
    return reply(r);
  }
  if (p == "qsThreadInfo") return reply("l");
  if (p == "qC") return reply(fmt::format("QC{:x}", g_cpu_ + 1));
  if (p.starts_with("qThreadExtraInfo,")) {
    const auto t = thread(p.substr(17));
    if (!t || *t < 0) return reply(kNoThread);
    return reply(to_hex(target_.cpu_state(unsigned(*t))));
  }
  if (p.starts_with("qAttached")) return reply("1");  // an existing machine: detach, not kill, on quit
  if (p == "qSymbol::") return reply("OK");
  if (p == "vCont?") return reply("vCont;c;C;s;S");
  if (p.starts_with("vCont;")) return vcont(p.substr(6));
  if (p.starts_with("vKill")) return Outcome{"OK", Resume{Resume::Kind::Kill}};
  return reply("");  // not supported
}

std::string Stub::read_registers() {
  const TargetDescription& d = target_.description();
  std::string out;
  for (unsigned i = 0; i < d.regs.size(); ++i) {
    std::vector<std::byte> v(d.regs[i].bits / 8);
    if (target_.read_register(g_cpu_, i, v)) out += to_hex(v);
    else out.append(v.size() * 2, 'x');  // unavailable (E.4 'g' reply)
  }
  return out;
}

bool Stub::write_pc(unsigned cpu, std::span<const std::byte> v) {
  const unsigned pc = target_.description().pc_regno;
  std::vector<std::byte> now(target_.description().regs[pc].bits / 8);
  if (target_.read_register(cpu, pc, now) && std::equal(now.begin(), now.end(), v.begin(), v.end())) return true;
  if (pc_fixed_ == cpu || !target_.write_register(cpu, pc, v)) return false;
  pc_moved_.insert(cpu);
  return true;
}

std::string Stub::write_registers(std::string_view hex) {
  const TargetDescription& d = target_.description();
  std::size_t total = 0;
  for (const RegisterDesc& r : d.regs) total += r.bits / 4;
  if (hex.size() != total) return std::string(kMalformed);
  std::size_t at = 0;
  // Checked whole before anything is written, so a malformed packet changes nothing.
  std::vector<std::optional<std::vector<std::byte>>> values;
  for (const RegisterDesc& r : d.regs) {
    const std::string_view h = hex.substr(at, r.bits / 4);
    at += r.bits / 4;
    if (h.find('x') != std::string_view::npos) {
      values.emplace_back();  // left as it is
      continue;
    }
    auto v = from_hex(h);
    if (!v) return std::string(kMalformed);
    values.push_back(std::move(v));
  }
  bool ok = true;
  for (unsigned i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;
    ok &= i == d.pc_regno ? write_pc(g_cpu_, *values[i]) : target_.write_register(g_cpu_, i, *values[i]);
  }
  return ok ? "OK" : std::string(kNoRegister);
}

std::string Stub::read_register(std::string_view args) {
  const auto n = parse_hex(args);
  const TargetDescription& d = target_.description();
  if (!n) return std::string(kMalformed);
  if (*n >= d.regs.size()) return std::string(kNoRegister);
  std::vector<std::byte> v(d.regs[*n].bits / 8);
  if (!target_.read_register(g_cpu_, unsigned(*n), v)) return std::string(v.size() * 2, 'x');
  return to_hex(v);
}

std::string Stub::write_register(std::string_view args) {
  const auto eq = args.find('=');
  if (eq == std::string_view::npos) return std::string(kMalformed);
  const auto n = parse_hex(args.substr(0, eq));
  auto v = from_hex(args.substr(eq + 1));
  const TargetDescription& d = target_.description();
  if (!n || !v) return std::string(kMalformed);
  if (*n >= d.regs.size() || v->size() != d.regs[*n].bits / 8) return std::string(kNoRegister);
  const bool ok = *n == d.pc_regno ? write_pc(g_cpu_, *v) : target_.write_register(g_cpu_, unsigned(*n), *v);
  return ok ? "OK" : std::string(kNoRegister);
}

std::string Stub::read_memory(std::string_view args) {
  const auto al = addr_len(args);
  if (!al) return std::string(kMalformed);
  // A reply holds two hex digits per byte: a longer read gets the part that fits (gdb
  // asks again for the rest, E.4 'm').
  const uint64_t n = std::min<uint64_t>(al->second, (kPacketSize - 16) / 2);
  std::vector<std::byte> v(n);
  if (n != 0 && !target_.read_memory(g_cpu_, al->first, v)) return std::string(kNoMemory);
  return to_hex(v);
}

std::string Stub::write_memory(std::string_view args, bool binary) {
  const auto colon = args.find(':');
  if (colon == std::string_view::npos) return std::string(kMalformed);
  const auto al = addr_len(args.substr(0, colon));
  if (!al) return std::string(kMalformed);
  auto data = binary ? unescape_binary(args.substr(colon + 1)) : from_hex(args.substr(colon + 1));
  if (!data || data->size() != al->second) return std::string(kMalformed);
  if (data->empty()) return "OK";  // X addr,0: gdb's probe for X support
  return target_.write_memory(g_cpu_, al->first, *data) ? "OK" : std::string(kNoMemory);
}

std::string Stub::breakpoint(std::string_view args, bool insert) {
  // "type,addr,kind" (E.4 'Z'): kind is the breakpoint's size, or the watched length.
  const auto comma = args.find(',');
  if (args.size() < 2 || comma != 1) return std::string(kMalformed);
  const char type = args.front();
  auto al = addr_len(args.substr(2, args.find(';') == std::string_view::npos ? std::string_view::npos
                                                                             : args.find(';') - 2));
  if (!al) return std::string(kMalformed);
  const auto [addr, len] = *al;
  if (type == '0' || type == '1') {
    const unsigned bit = type == '0' ? 1u : 2u;
    if (insert) breakpoints_[addr] |= bit;
    else if (auto it = breakpoints_.find(addr); it != breakpoints_.end() && (it->second &= ~bit) == 0)
      breakpoints_.erase(it);
    return "OK";
  }
  if (type < '2' || type > '4') return "";  // not supported
  if (len == 0 || addr + len < addr) return std::string(kMalformed);
  const WatchKind kind = type == '2' ? WatchKind::Write : type == '3' ? WatchKind::Read : WatchKind::Access;
  auto same = [&](const Watchpoint& w) { return w.addr == addr && w.len == len && w.kind == kind; };
  if (insert) {
    if (std::ranges::none_of(watchpoints_, same)) watchpoints_.push_back({addr, len, kind});
  } else {
    std::erase_if(watchpoints_, same);
  }
  return "OK";
}

Stub::Outcome Stub::resume_at(std::string_view addr, Resume::Kind kind, unsigned cpu) {
  if (!addr.empty()) {
    // "c addr": resume at addr (E.4), which is a PC write.
    const auto a = parse_hex(addr);
    if (!a) return Outcome{std::string(kMalformed), std::nullopt};
    const unsigned pc = target_.description().pc_regno;
    std::vector<std::byte> v(target_.description().regs[pc].bits / 8);
    for (std::size_t i = 0; i < v.size() && i < 8; ++i) v[i] = std::byte(*a >> (8 * i));
    if (!write_pc(cpu, v)) return Outcome{std::string(kNoRegister), std::nullopt};
  }
  return Outcome{std::nullopt, Resume{kind, cpu}};
}

Stub::Outcome Stub::vcont(std::string_view args) {
  // "action[:thread];action[:thread]..." (E.4 vCont). All-stop: a step action for one
  // thread makes that CPU execute one instruction while the others stay stopped; any
  // other combination of c/C continues every CPU.
  std::optional<unsigned> step;
  bool any = false;
  while (!args.empty()) {
    const auto semi = args.find(';');
    const std::string_view a = args.substr(0, semi);
    args = semi == std::string_view::npos ? std::string_view() : args.substr(semi + 1);
    if (a.empty()) return Outcome{std::string(kMalformed), std::nullopt};
    const auto colon = a.find(':');
    std::string_view act = a.substr(0, colon);
    std::optional<int> t = -1;
    if (colon != std::string_view::npos) t = thread(a.substr(colon + 1));
    if (!t) return Outcome{std::string(kNoThread), std::nullopt};
    if (act.size() == 3 && (act[0] == 'C' || act[0] == 'S') && parse_hex(act.substr(1))) act = act.substr(0, 1);
    if (act == "s" || act == "S") {
      if (!step) step = *t < 0 ? c_cpu_ : unsigned(*t);
    } else if (act != "c" && act != "C") {
      return Outcome{std::string(kMalformed), std::nullopt};  // t, r: not in all-stop
    }
    any = true;
  }
  if (!any) return Outcome{std::string(kMalformed), std::nullopt};
  if (step) return Outcome{std::nullopt, Resume{Resume::Kind::Step, *step}};
  return Outcome{std::nullopt, Resume{Resume::Kind::Continue, c_cpu_}};
}

std::string Stub::xfer_features(std::string_view args) {
  // "target.xml:offset,length" -> "m<data>" (more follows) or "l<data>" (the last part).
  const auto colon = args.find(':');
  if (colon == std::string_view::npos) return std::string(kMalformed);
  if (args.substr(0, colon) != "target.xml") return "E00";  // no such annex
  const auto al = addr_len(args.substr(colon + 1));
  if (!al) return std::string(kMalformed);
  if (xml_.empty()) xml_ = target_xml(target_.description());
  const uint64_t off = al->first;
  if (off > xml_.size()) return std::string(kMalformed);
  // Escaped in the frame; half the packet keeps the escaped reply within PacketSize.
  const uint64_t n = std::min<uint64_t>({al->second, kPacketSize / 2, xml_.size() - off});
  return (off + n < xml_.size() ? "m" : "l") + xml_.substr(off, n);
}

}  // namespace irqremap::gdb
