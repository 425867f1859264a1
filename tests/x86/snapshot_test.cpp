// x86 machine save/restore (issue 35 item 5; x86_machine.h "Machine snapshots"). The
// property: a run paused at any instruction count, saved, restored into a fresh machine of
// the same configuration and run to its end prints the same COM1 output and traces the
// same events (every guest instruction included) as the uninterrupted run, and ends in the
// same state. Then: a bad file is refused with a message, never half-applied.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"
#include "tests/common/kvm_unit_tests.h"
#include "snapshot/snapshot_file.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kBudget = 20'000'000;

// Every event as one line: kind, unit, text and values (byte-for-byte comparable).
class TextSink final : public TraceSink {
 public:
  void on_event(const Event& e) override {
    out += std::string(to_string(e.kind)) + "|" + e.unit + "|" + e.text;
    for (const auto& [k, v] : e.values) out += "|" + k + "=" + std::to_string(v);
    out += '\n';
  }
  std::string out;
};

// One machine with its COM1 output, its trace, and its COM1 input: `input` from `pos`.
struct Rig {
  std::string uart;
  std::string input;
  size_t pos = 0;
  TextSink sink;
  std::unique_ptr<X86Machine> m;
  // Without an instruction trace the vCPUs run in fast mode (x86_vcpu.h "Execution").
  static inline bool insn_trace = true;
  Rig(unsigned cpus, std::string in, size_t at = 0) : input(std::move(in)), pos(at) {
    X86MachineConfig cfg;
    cfg.cpus = cpus;
    cfg.uart_out = [this](char c) { uart += c; };
    cfg.uart_in = [this](bool) -> std::optional<uint8_t> {
      if (pos >= input.size()) return std::nullopt;
      return uint8_t(input[pos++]);
    };
    auto mm = X86Machine::create(cfg);
    REQUIRE(mm);
    m = std::move(*mm);
    m->set_trace_instructions(insn_trace);
    m->attach(&sink);
  }
  ~Rig() {
    if (m) m->detach(&sink);
  }
  uint64_t load(const char* fw) {
    const guestfw::Firmware* f = guestfw::find(fw);
    REQUIRE(f != nullptr);
    return load(f->elf);
  }
  uint64_t load(std::span<const std::byte> image) {
    auto entry = m->load(image);
    REQUIRE(entry);
    return *entry;
  }
  std::vector<uint8_t> save() {
    auto file = snapshot::save(*m);
    REQUIRE_MESSAGE(file.has_value(), (file ? "" : file.error()));
    return *file;
  }
};

// What a pause found the machine doing (the brief's "middle of real work").
struct Seen {
  bool halted = false, off = false, irr = false, isr = false;
};
Seen look(X86Machine& m) {
  Seen s;
  for (unsigned c = 0; c < m.cpu_count(); ++c) {
    s.halted |= m.cpu(c).halted();
    s.off |= !m.cpu_running(c);
    for (unsigned v = 16; v < 256; ++v) {
      s.irr |= m.apics().apic(c).irr(uint8_t(v));
      s.isr |= m.apics().apic(c).isr(uint8_t(v));
    }
  }
  return s;
}

// The pause points: very early ones, then spread over the run, then the last ones.
std::vector<uint64_t> pause_points(uint64_t total, unsigned spread) {
#ifdef IRQREMAP_SANITIZED
  // The sanitizer build runs the same code on fewer points: its job is memory and
  // undefined-behaviour errors in the visitors, and CI's whole run has a time budget.
  spread = std::min(spread, 3u);
  std::vector<uint64_t> p = {5, 400};
#else
  std::vector<uint64_t> p = {1, 2, 5, 50, 400};
#endif
  for (unsigned k = 1; k < spread; ++k) p.push_back(total * k / spread);
  if (total > 2) p.push_back(total - 2);
  std::erase_if(p, [&](uint64_t n) { return n >= total; });
  std::ranges::sort(p);
  p.erase(std::unique(p.begin(), p.end()), p.end());
  return p;
}

// Runs `fw` uninterrupted, then paused at each point, saved, restored into a fresh machine
// and run on; checks the property at each. Returns what the pauses saw.
Seen check_property(std::span<const std::byte> fw, unsigned cpus, std::string input = {}, unsigned spread = 12,
                    uint64_t budget = kBudget) {
  const uint64_t kBudget = budget;
  Rig ref(cpus, input);
  const arch::RunResult whole = ref.m->run(ref.load(fw), kBudget);
  INFO(whole.message);
  REQUIRE(whole.stop != arch::StopKind::Paused);
  REQUIRE(whole.instructions > 500);
  const std::vector<uint8_t> final_state = ref.save();
  // A run paused often (every ~1/300 of it) and resumed each time traces as the
  // uninterrupted one; it finds the first pauses at which an interrupt is pending (IRR),
  // in service (ISR), a CPU halted, a CPU off, which are added to the pause points.
  std::vector<uint64_t> points = pause_points(whole.instructions, spread);
  {
    Rig scan(cpus, input);
    const uint64_t entry = scan.load(fw);
    const uint64_t step = std::max<uint64_t>(whole.instructions / 300, 50);
    Seen first;
    arch::RunResult r;
    for (uint64_t n = step;; n += step) {
      scan.m->scheduler().pause_at(n);
      r = scan.m->run(entry, kBudget);
      if (r.stop != arch::StopKind::Paused) break;
      const Seen s = look(*scan.m);
      const uint64_t at = scan.m->instructions();
      if (s.irr && !first.irr) points.push_back(at), first.irr = true;
      if (s.isr && !first.isr) points.push_back(at), first.isr = true;
      if (s.halted && !first.halted) points.push_back(at), first.halted = true;
      if (s.off && !first.off) points.push_back(at), first.off = true;
    }
    CHECK(r.instructions == whole.instructions);
    CHECK(scan.uart == ref.uart);
    CHECK(scan.sink.out == ref.sink.out);
  }
  std::ranges::sort(points);
  points.erase(std::unique(points.begin(), points.end()), points.end());
  Seen seen;
  unsigned restored_at = 0;  // pause points that fell inside the run (a pause comes between quanta)
  for (uint64_t n : points) {
    CAPTURE(n);
    Rig first(cpus, input);
    first.m->scheduler().pause_at(n);
    const arch::RunResult paused = first.m->run(first.load(fw), kBudget);
    if (paused.stop != arch::StopKind::Paused) {
      // The quantum that crossed n was the last one (a pause comes between quanta).
      CHECK(paused.stop == whole.stop);
      CHECK(first.sink.out == ref.sink.out);
      continue;
    }
    const Seen s = look(*first.m);
    seen.halted |= s.halted, seen.off |= s.off, seen.irr |= s.irr, seen.isr |= s.isr;
    const std::vector<uint8_t> file = first.save();
    std::vector<std::optional<uint32_t>> hflags;
    for (unsigned c = 0; c < cpus; ++c) hflags.push_back(first.m->cpu(c).engine_hflags());

    ++restored_at;
    Rig second(cpus, input, first.pos);
    auto restored = snapshot::restore(*second.m, file);
    REQUIRE_MESSAGE(restored.has_value(), (restored ? "" : restored.error()));
    // What a fresh engine needed (segment_state.h ModeRegisters): QEMU's hflags as saved.
    for (unsigned c = 0; c < cpus; ++c) {
      CAPTURE(c);
      CHECK(second.m->cpu(c).engine_hflags().value_or(0) == hflags[c].value_or(1));
    }
    // A restored machine is started: the entry point is ignored.
    const arch::RunResult rest = second.m->run(0xDEAD'0000, kBudget);
    CHECK(rest.stop == whole.stop);
    CHECK(rest.message == whole.message);
    CHECK(rest.exit_status == whole.exit_status);
    CHECK(rest.instructions == whole.instructions);
    CHECK(first.uart + second.uart == ref.uart);
    const std::string trace = first.sink.out + second.sink.out;
    if (trace != ref.sink.out) {
      // The first line that differs, to say where the runs parted.
      size_t at = 0;
      while (at < trace.size() && at < ref.sink.out.size() && trace[at] == ref.sink.out[at]) ++at;
      const size_t line = size_t(std::count(ref.sink.out.begin(), ref.sink.out.begin() + long(at), '\n'));
      const size_t b = ref.sink.out.rfind('\n', at == 0 ? 0 : at - 1);
      const size_t from = b == std::string::npos ? 0 : b + 1;
      FAIL_CHECK("the traces part at line ", line, ": uninterrupted \"",
                 ref.sink.out.substr(from, ref.sink.out.find('\n', from) - from), "\" restored \"",
                 trace.substr(from, trace.find('\n', from) - from), "\"");
    }
    // Guest memory may differ in the Accessed and Dirty flags of paging-structure entries
    // only: the restored engine starts with an empty TLB (Unicorn's softmmu TLB cannot be
    // saved through its API), so it walks where the uninterrupted one used a cached
    // translation, and a walk sets A (and D on a write) in the entries it uses (SDM vol. 3A
    // §4.8). Hardware may drop TLB entries at any time (§4.10.4.4), so both are runs the SDM
    // allows. Those bits are made equal, every other byte must be.
    const auto a = ref.m->memory().regions(), b = second.m->memory().regions();
    REQUIRE(a.size() == b.size());
    for (size_t r = 0; r < a.size(); ++r)
      for (uint64_t i = 0; i < a[r].size && i < b[r].size; ++i) {
        // Equal pages are passed over whole (memcmp), the rest byte by byte.
        if (i % 4096 == 0 && std::min(a[r].size, b[r].size) - i >= 4096 &&
            std::memcmp(a[r].host + i, b[r].host + i, 4096) == 0) {
          i += 4095;
          continue;
        }
        if (a[r].host[i] != b[r].host[i]) {
          const uint8_t diff = uint8_t(a[r].host[i] ^ b[r].host[i]);
          const bool a_or_d = (a[r].base + i) % 8 == 0 && (diff & ~0x60) == 0;
          if (!a_or_d) {
            FAIL_CHECK(fmt::format("memory differs at {:#x}: {:#04x} uninterrupted, {:#04x} restored", a[r].base + i,
                                   uint8_t(a[r].host[i]), uint8_t(b[r].host[i])));
            break;
          }
          b[r].host[i] = a[r].host[i];
        }
      }
    const std::vector<uint8_t> end = second.save();
    if (end != final_state) {
      // Where the final states differ: the record names just before the first byte.
      size_t at = 0;
      while (at < end.size() && at < final_state.size() && end[at] == final_state[at]) ++at;
      std::string around;
      for (size_t i = at > 160 ? at - 160 : 0; i < at + 16 && i < end.size(); ++i)
        around += std::isprint(end[i]) ? char(end[i]) : '.';
      FAIL_CHECK("the final states differ at byte ", at, " after: ", around);
    }
  }
  // Most pause points fall inside the run (a lone CPU's long quanta skip some).
  CHECK(restored_at * 3 >= points.size());
  return seen;
}

Seen check_property(const char* fw, unsigned cpus, std::string input = {}, unsigned spread = 12) {
  INFO(fw);
  const guestfw::Firmware* f = guestfw::find(fw);
  REQUIRE(f != nullptr);
  return check_property(f->elf, cpus, std::move(input), spread);
}

}  // namespace

TEST_CASE("x86 snapshot property: vtd-enable (QI, SIRTP, global IEC flush, IRE, completion interrupt) restored at any pause runs on identically") {
  check_property("x86/vtd-enable", 1, {}, 8);
}

TEST_CASE("x86 snapshot property: irq-migrate on 3 CPUs (IRTE rewrite with CMPXCHG16B, IEC index flush, IPIs) restored at any pause runs on identically") {
  const Seen s = check_property("x86/irq-migrate", 3, {}, 8);
  // The pauses fell in the middle of real work: a CPU halted, one still off, an interrupt
  // accepted and not yet taken or not yet ended.
  CHECK(s.halted);
  CHECK(s.off);
  CHECK((s.irr || s.isr));
}

TEST_CASE("x86 snapshot property: irq-stale-iec keeps the stale IEC entry across a restore (the hazard shows as in the uninterrupted run)") {
  check_property("x86/irq-stale-iec", 3, {}, 6);
}

TEST_CASE("x86 snapshot property: ipi-ping on 4 CPUs (mailbox wake-ups, IPIs, x2APIC on odd APs) restored at any pause runs on identically") {
  const Seen s = check_property("x86/ipi-ping", 4, {}, 8);
  CHECK(s.off);
  CHECK(s.halted);
}

TEST_CASE("x86 snapshot property: ioapic-migrate on 2 CPUs (edu INTx through the I/O APIC, Remote IRR, IRTE rewrite) restored at any pause runs on identically") {
  check_property("x86/ioapic-migrate", 2, {}, 6);
}

TEST_CASE("x86 snapshot property: apic-timer (one-shot, periodic, TSC-deadline) and pit-tick (8254 through the 8259s) restored with timers armed run on identically") {
  const Seen a = check_property("x86/apic-timer", 1, {}, 8);
  CHECK(a.halted);
  check_property("x86/pit-tick", 1, {}, 8);
}

TEST_CASE("x86 snapshot property: uart-echo with COM1 input (RX FIFO, polling, ERBFI on IRQ 4) restored at any pause runs on identically") {
  check_property("x86/uart-echo", 1, "one\ntwo\n", 8);
}

TEST_CASE("x86 snapshot property in fast mode (no instruction trace: quanta end at block boundaries): irq-migrate, ipi-ping and uart-echo restored at any pause run on identically") {
  struct Fast {
    Fast() { Rig::insn_trace = false; }
    ~Fast() { Rig::insn_trace = true; }
  } fast;
  check_property("x86/irq-migrate", 3, {}, 16);
  check_property("x86/ipi-ping", 4, {}, 16);
  check_property("x86/uart-echo", 1, "one\ntwo\n", 16);
}

namespace {

// The stream of a saved file, a record in it, and the file made again around a changed
// stream (valid CRC), so the refusal comes from the visitors, not the container.
struct Surgery {
  std::string configuration;
  std::vector<uint8_t> stream;
  explicit Surgery(const std::vector<uint8_t>& file) {
    auto d = snapshot::decode(file);
    REQUIRE(d);
    configuration = d->configuration;
    stream.assign(d->stream.begin(), d->stream.end());
  }
  // The offset of the value of the first record `name` of `kind` after `from`.
  size_t value_of(snapshot::Kind kind, std::string_view name, size_t from = 0) const {
    std::vector<uint8_t> pattern = {uint8_t(kind), uint8_t(name.size())};
    pattern.insert(pattern.end(), name.begin(), name.end());
    auto it = std::search(stream.begin() + long(from), stream.end(), pattern.begin(), pattern.end());
    REQUIRE(it != stream.end());
    return size_t(it - stream.begin()) + pattern.size();
  }
  std::vector<uint8_t> file() const { return snapshot::encode(configuration, stream); }
};

std::vector<uint8_t> saved_vtd_file(unsigned cpus = 1) {
  Rig r(cpus, {});
  r.m->scheduler().pause_at(20'000);
  REQUIRE(r.m->run(r.load("x86/vtd-enable"), kBudget).stop == arch::StopKind::Paused);
  return r.save();
}

std::string refusal(const std::vector<uint8_t>& file, unsigned cpus = 1) {
  Rig r(cpus, {});
  auto ok = snapshot::restore(*r.m, file);
  REQUIRE_FALSE(ok.has_value());
  return ok.error();
}

}  // namespace

TEST_CASE("x86 snapshot refused: a truncated file, with a message") {
  std::vector<uint8_t> file = saved_vtd_file();
  file.resize(file.size() / 2);
  CHECK_FALSE(refusal(file).empty());
}

TEST_CASE("x86 snapshot refused: a file of another configuration (2 CPUs into 1) names both lines") {
  const std::string why = refusal(saved_vtd_file(2), 1);
  CHECK(why.find("cpus=2") != std::string::npos);
  CHECK(why.find("cpus=1") != std::string::npos);
}

TEST_CASE("x86 snapshot refused: a record renamed (VT-d GSTS) is named with its path") {
  Surgery s(saved_vtd_file());
  const size_t at = s.value_of(snapshot::Kind::U32, "GSTS");
  s.stream[at - 1] = 'X';  // "GSTX"
  const std::string why = refusal(s.file());
  CHECK(why.find("vtd/registers/GSTS") != std::string::npos);
}

TEST_CASE("x86 snapshot refused: out-of-range values (APIC mode 7, next FRCD past CAP.NFR, IQH past the queue, a CPU's exception in flight that is no vector)") {
  const std::vector<uint8_t> file = saved_vtd_file();
  {
    Surgery s(file);
    s.stream[s.value_of(snapshot::Kind::U8, "mode")] = 7;
    CHECK(refusal(s.file()).find("APIC mode") != std::string::npos);
  }
  {
    Surgery s(file);
    s.stream[s.value_of(snapshot::Kind::U32, "next_FRCD")] = 200;
    CHECK(refusal(s.file()).find("next fault recording register") != std::string::npos);
  }
  {
    Surgery s(file);
    const size_t at = s.value_of(snapshot::Kind::U64, "IQH");
    const uint64_t far = uint64_t{1} << 40;
    std::memcpy(&s.stream[at], &far, 8);
    CHECK(refusal(s.file()).find("IQH points past the end of the queue") != std::string::npos);
  }
  {
    Surgery s(file);
    const int32_t bad = 77;
    std::memcpy(&s.stream[s.value_of(snapshot::Kind::U32, "exception_in_flight")], &bad, 4);
    CHECK(refusal(s.file()).find("exception in flight") != std::string::npos);
  }
}

TEST_CASE("x86 snapshot refused: a count too large (the IEC's slots above its capacity; the FRCDs above CAP.NFR + 1)") {
  const std::vector<uint8_t> file = saved_vtd_file();
  {
    Surgery s(file);
    const size_t at = s.value_of(snapshot::Kind::U64, "slots");
    const uint64_t many = uint64_t{1} << 40;
    std::memcpy(&s.stream[at], &many, 8);
    CHECK_FALSE(refusal(s.file()).empty());
  }
  {
    Surgery s(file);
    const size_t at = s.value_of(snapshot::Kind::U64, "FRCD");
    const uint64_t more = 5;  // a count the stream allows, but not this unit's NFR + 1 = 4
    std::memcpy(&s.stream[at], &more, 8);
    CHECK(refusal(s.file()).find("fault recording registers") != std::string::npos);
  }
}

TEST_CASE("x86 snapshot: a paused run resumes with a second run() as if unpaused") {
  Rig ref(1, {});
  const arch::RunResult whole = ref.m->run(ref.load("x86/vtd-enable"), kBudget);
  Rig r(1, {});
  r.m->scheduler().pause_at(3000);
  const uint64_t entry = r.load("x86/vtd-enable");
  REQUIRE(r.m->run(entry, kBudget).stop == arch::StopKind::Paused);
  const arch::RunResult rest = r.m->run(entry, kBudget);
  CHECK(rest.stop == whole.stop);
  CHECK(rest.instructions == whole.instructions);
  CHECK(r.uart == ref.uart);
  CHECK(r.sink.out == ref.sink.out);
}

// kvm-unit-tests images (test data; skipped when absent, tests/common/kvm_unit_tests.h):
// the multiboot path through the boot ROM (64-bit, then 32-bit protected mode), real mode,
// Start Up IPIs (APs in real mode), VT-d DMA remapping through edu, CPL 3. Fast mode: the
// instruction trace of a few million instructions would make the test slow.
TEST_CASE("x86 snapshot property on kvm-unit-tests images (realmode, umip, intel-iommu with 4 CPUs): restored at any pause they run on identically") {
  struct Fast {
    Fast() { Rig::insn_trace = false; }
    ~Fast() { Rig::insn_trace = true; }
  } fast;
#ifdef IRQREMAP_SANITIZED
  // Millions of instructions per image: the normal build checks them; the sanitizer build
  // checks the same visitors on the stubs above.
  MESSAGE("sanitizer build: the kvm-unit-tests images are checked by the normal build");
  return;
#endif
  for (auto [name, cpus] : {std::pair{"realmode", 1u}, std::pair{"umip", 1u}, std::pair{"intel-iommu", 4u}}) {
    INFO(name);
    const std::string rel = std::string("x86/") + name + ".flat";
    const auto image = kuttest::find_image(std::string("snapshot ") + name, rel);
    if (!image) continue;
    const std::string bytes = kuttest::slurp(*image);
    check_property(std::as_bytes(std::span(bytes)), cpus, {}, 6, 30'000'000);
  }
}
