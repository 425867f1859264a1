// Machine save/restore on the AArch64 machine (issue 35 item 5): a machine paused anywhere,
// saved, and restored into a fresh machine of the same configuration goes on exactly as
// the uninterrupted run: the same UART output, the same trace (every instruction, MMIO
// access, table read, command, delivery), byte for byte, and the same final state. And a
// bad file is refused with one message, never a crash.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "guest-fw/firmware.h"
#include "snapshot/snapshot_file.h"
#include "tests/common/kvm_unit_tests.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

// Every event, one line each.
struct Recorder final : TraceSink {
  std::string text;
  void on_event(const Event& e) override {
    text += e.format();
    text += '\n';
  }
};

struct Scenario {
  std::string name;
  unsigned cpus = 1;
  std::vector<std::byte> image;  // an embedded stub's ELF or a kvm-unit-tests image
  std::string bootargs;
  std::vector<std::string> pci;
  uint64_t budget = 20'000'000;
  // A CPU running alone gets quanta this long (the machine's default is 1,000,000): short
  // ones give a one-CPU run many places to pause.
  uint64_t solo_quantum = 1000;
  // The guest sends MSIs through the ITS: the property is also checked at a pause where
  // the ITS translation cache holds entries (the trace shows the next MSI hit it).
  bool its_cache = false;
  // Pause points spread evenly over the run, besides the first and last quanta.
  unsigned spread = 4;
  // A state the property is also checked in, at the first pause that finds it.
  std::string also_when;
  std::function<bool(Arm64Machine&)> also_at;
};

std::optional<Scenario> stub(const char* name, unsigned cpus) {
  const guestfw::Firmware* fw = guestfw::find(std::string("arm64/") + name);
  REQUIRE(fw != nullptr);
  Scenario s;
  s.name = name;
  s.cpus = cpus;
  s.image.assign(fw->elf.begin(), fw->elf.end());
  return s;
}

[[maybe_unused]] std::optional<Scenario> kut(const char* test, const char* image, unsigned cpus, const char* append,
                            std::vector<std::string> pci = {}) {
  auto path = kuttest::find_image(std::string("snapshot ") + test, image);
  if (!path) return std::nullopt;
  const std::string bytes = kuttest::slurp(*path);
  Scenario s;
  s.name = test;
  s.cpus = cpus;
  s.bootargs = append;
  s.pci = std::move(pci);
  s.image.resize(bytes.size());
  std::memcpy(s.image.data(), bytes.data(), bytes.size());
  return s;
}

// One machine of a scenario with its UART and trace recorded, in the machine's default
// configuration: the ITS translation cache is on, and the trace shows each of its hits and
// misses, so a restore that lost or reordered cached translations shows as a difference.
struct Run {
  std::unique_ptr<Arm64Machine> m;
  std::string uart;
  Recorder trace;
};

Arm64MachineConfig config(const Scenario& s, std::string* uart) {
  Arm64MachineConfig cfg;
  cfg.cpus = s.cpus;
  cfg.bootargs = s.bootargs;
  cfg.pci_devices = s.pci;
  cfg.solo_quantum = s.solo_quantum;
  cfg.uart_out = [uart](char c) { *uart += c; };
  return cfg;
}

std::unique_ptr<Run> fresh(const Scenario& s, bool precise = true) {
  auto r = std::make_unique<Run>();
  auto m = Arm64Machine::create(config(s, &r->uart));
  REQUIRE(m);
  r->m = std::move(*m);
  r->m->set_trace_instructions(precise);
  return r;
}

std::vector<uint8_t> save(Arm64Machine& m) {
  auto f = snapshot::save(m);
  REQUIRE_MESSAGE(f, (f ? "" : f.error()));
  return *f;
}

struct Outcome {
  std::string uart, trace, stop;
  uint64_t instructions = 0;
  std::vector<uint8_t> final_state;
};

Outcome uninterrupted(const Scenario& s, bool precise = true) {
  auto r = fresh(s, precise);
  auto entry = r->m->load(s.image);
  REQUIRE(entry);
  r->m->attach(&r->trace);
  const arch::RunResult res = r->m->run(*entry, s.budget);
  r->m->detach(&r->trace);
  return {r->uart, r->trace.text, res.message, res.instructions, save(*r->m)};
}

// Runs to a pause at `at` instructions, saves, restores into a fresh machine, runs that
// to the end. Nothing when the run ended before `at`.
std::optional<Outcome> split(const Scenario& s, uint64_t at, bool precise = true,
                             std::vector<uint8_t>* file_out = nullptr) {
  auto a = fresh(s, precise);
  auto entry = a->m->load(s.image);
  REQUIRE(entry);
  a->m->attach(&a->trace);
  a->m->scheduler().pause_at(at);
  const arch::RunResult first = a->m->run(*entry, s.budget);
  a->m->detach(&a->trace);
  if (first.stop != arch::StopKind::Paused) return std::nullopt;
  const std::vector<uint8_t> file = save(*a->m);
  if (file_out) *file_out = file;
  auto b = fresh(s, precise);
  auto ok = snapshot::restore(*b->m, file);
  REQUIRE_MESSAGE(ok, (ok ? "" : ok.error()));
  // The restored machine saves what it was restored from.
  CHECK_MESSAGE((save(*b->m) == file), "the restored machine saves another state than its file");
  b->m->attach(&b->trace);
  const arch::RunResult rest = b->m->run(0, s.budget);
  b->m->detach(&b->trace);
  return Outcome{a->uart + b->uart, a->trace.text + b->trace.text, rest.message, rest.instructions, save(*b->m)};
}

// Pause points over the run: the very first quanta, spread evenly, the very last one.
std::vector<uint64_t> pause_points(uint64_t total, [[maybe_unused]] unsigned spread) {
#ifdef IRQREMAP_SANITIZED
  // The sanitizer build runs the same code on fewer points: its job is memory and
  // undefined-behaviour errors in the visitors, and CI's whole run has a time budget.
  std::vector<uint64_t> at{total / 2};
#else
  std::vector<uint64_t> at{1, 333};
  for (unsigned k = 1; k <= spread; ++k) at.push_back(total * k / (spread + 1));
#endif
  at.push_back(total > 1 ? total - 1 : 1);
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  return at;
}

// The first pause point at which `found` holds (the ITS translation cache holds a
// translation, say): one run paused at a fine step (pauses without restores are cheap),
// stopped at the first one.
std::optional<uint64_t> first_pause_where(const Scenario& s, uint64_t total,
                                          const std::function<bool(Arm64Machine&)>& found) {
  auto r = fresh(s, false);
  auto entry = r->m->load(s.image);
  REQUIRE(entry);
  const uint64_t step = std::max<uint64_t>(total / 500, 50);
  for (uint64_t n = step; n < total; n += step) {
    r->m->scheduler().pause_at(n);
    if (r->m->run(*entry, s.budget).stop != arch::StopKind::Paused) break;
    if (found(*r->m)) return r->m->instructions();
  }
  return std::nullopt;
}

// The first line where two texts part, for a readable failure.
std::string first_difference(const std::string& want, const std::string& have) {
  std::size_t i = 0;
  while (i < want.size() && i < have.size() && want[i] == have[i]) ++i;
  const std::size_t from = want.rfind('\n', i) == std::string::npos ? 0 : want.rfind('\n', i) + 1;
  auto line = [&](const std::string& t) { return t.substr(from, std::min<std::size_t>(t.find('\n', from), t.size()) - from); };
  return "at byte " + std::to_string(i) + ":\n  uninterrupted: " + line(want) + "\n  restored:      " + line(have);
}

void check_property(const Scenario& s, bool precise = true) {
  const Outcome full = uninterrupted(s, precise);
  INFO("scenario ", s.name, ", ", full.instructions, " instructions, ", std::string(precise ? "precise" : "fast"), " mode");
  REQUIRE(full.instructions > 1000);
  std::vector<uint64_t> points = pause_points(full.instructions, s.spread);
  std::optional<uint64_t> cached, also;
  if (s.its_cache) {
    cached = first_pause_where(s, full.instructions, [](Arm64Machine& m) { return m.its().cache_size() > 0; });
    REQUIRE_MESSAGE(cached, "no pause point finds a translation in the ITS cache");
    points.push_back(*cached);
  }
  if (s.also_at) {
    also = first_pause_where(s, full.instructions, s.also_at);
    REQUIRE_MESSAGE(also, "no pause point finds ", s.also_when);
    points.push_back(*also);
  }
  unsigned checked = 0;
  bool checked_cached = false, checked_also = false;
  for (uint64_t at : points) {
    INFO("paused at ", at, " instructions", std::string(at == cached ? " (ITS cache holds a translation)" : ""),
         std::string(at == also ? " (" + s.also_when + ")" : ""));
    auto o = split(s, at, precise);
    if (!o) continue;
    ++checked;
    checked_cached |= at == cached;
    checked_also |= at == also;
    CHECK_MESSAGE((o->uart == full.uart), first_difference(full.uart, o->uart));
    CHECK_MESSAGE((o->trace == full.trace), first_difference(full.trace, o->trace));
    CHECK(o->stop == full.stop);
    CHECK(o->instructions == full.instructions);
    CHECK_MESSAGE((o->final_state == full.final_state), "the final states differ");
  }
  MESSAGE(s.name, ": ", checked, " pause points checked");
  CHECK(checked_cached == s.its_cache);
  CHECK(checked_also == bool(s.also_at));
#ifdef IRQREMAP_SANITIZED
  CHECK(checked >= 1);
#else
  CHECK(checked >= 4);
#endif
}

}  // namespace

TEST_SUITE("arm64 snapshot: a machine restored from a pause goes on as the uninterrupted run") {
  TEST_CASE("its-migrate on 4 CPUs: LPIs through the ITS, MOVI+SYNC, hot-unplug (the seed scenario)") {
    Scenario s = *stub("its-migrate", 4);
    s.its_cache = true;
    check_property(s);
  }
  TEST_CASE("device-migrate (the demo): the common device's message store through the ITS, 4 CPUs") {
    Scenario s = *stub("device-migrate", 4);
    s.its_cache = true;
    check_property(s);
  }
  TEST_CASE("sgi-ipi on 4 CPUs: SGIs, PMR masking, active state, EOImode 1, CPUs in WFI") {
    check_property(*stub("sgi-ipi", 4));
  }
  TEST_CASE("timer: CNTV/CNTP armed across the pause, WFI woken by the timer, time jumps while idle") {
    check_property(*stub("timer", 1));
  }
  TEST_CASE("exceptions: paused at EL0 and EL1t, exception entry from EL0 after the restore") {
    check_property(*stub("exceptions", 1));
  }
  TEST_CASE("lpi-self: pending LPIs in the restored pending table, masked bursts") {
    Scenario s = *stub("lpi-self", 1);
    s.its_cache = true;
    check_property(s);
  }
  TEST_CASE("virtio-rng on 2 CPUs: a driver mid-request (rings, MSI-X table, generator, LPI on the CPU MOVI chose)") {
    // Pauses all over the eight requests, one where CPU 1's redistributor holds the
    // used-buffer LPI pending. Fast mode: the MMIO, table reads, ITS commands, cache
    // lookups and deliveries are still traced (a traced run of every instruction at 60
    // points would take seconds; the other stubs check that mode).
    Scenario s = *stub("virtio-rng", 2);
    s.pci = {"virtio-rng-pci"};
    s.its_cache = true;
    s.spread = 60;
    s.also_when = "LPI 8225 pending at CPU 1's redistributor";
    s.also_at = [](Arm64Machine& m) {
      const auto p = m.redistributors()[1].pending_lpis();
      return std::find(p.begin(), p.end(), 8225u) != p.end();
    };
    check_property(s, /*precise=*/false);
  }
  TEST_CASE("smp-coherence: MMU on with TTBR1 kernel VAs and broadcast TLBI across the pause") {
    check_property(*stub("smp-coherence", 2));
  }
  TEST_CASE("fast mode (no instruction trace): its-migrate's UART, trace and final state") {
    Scenario s = *stub("its-migrate", 4);
    s.solo_quantum = 1'000'000;  // the machine's default
    s.its_cache = true;
    check_property(s, /*precise=*/false);
  }
  // kvm-unit-tests run millions of instructions: without an instruction trace (the rest
  // of the trace is still compared).
#ifndef IRQREMAP_SANITIZED  // millions of instructions each: the normal build checks them
  TEST_CASE("kvm-unit-tests pci-test with pci-testdev: configuration space, BARs and the test counts") {
    if (auto s = kut("pci-test", "arm64/pci-test.flat", 1, "", {"pci-testdev"})) check_property(*s, false);
  }
  TEST_CASE("kvm-unit-tests its-migration on 4 CPUs: a collection moved while LPIs are pending") {
    if (auto s = kut("its-migration", "arm64/gic.flat", 4, "its-migration")) check_property(*s, false);
  }
  TEST_CASE("kvm-unit-tests its-pending-migration on 4 CPUs: pending LPIs moved with MOVALL") {
    if (auto s = kut("its-pending-migration", "arm64/gic.flat", 4, "its-pending-migration")) check_property(*s, false);
  }
#endif
}

namespace {

// The stream of a file, edited, then encoded again (valid CRC) with its configuration.
std::vector<uint8_t> edited(const std::vector<uint8_t>& file,
                            const std::function<void(std::vector<uint8_t>& stream)>& edit) {
  auto d = snapshot::decode(file);
  REQUIRE(d);
  std::vector<uint8_t> stream(d->stream.begin(), d->stream.end());
  edit(stream);
  return snapshot::encode(d->configuration, stream);
}

// The offset of the value of the record (kind, name) after `from`, or npos.
std::size_t record_value(const std::vector<uint8_t>& s, snapshot::Kind kind, std::string_view name,
                         std::size_t from = 0) {
  std::vector<uint8_t> head{uint8_t(kind), uint8_t(name.size())};
  head.insert(head.end(), name.begin(), name.end());
  auto it = std::search(s.begin() + std::ptrdiff_t(from), s.end(), head.begin(), head.end());
  return it == s.end() ? std::string::npos : std::size_t(it - s.begin()) + head.size();
}

std::string refused(const Scenario& s, const std::vector<uint8_t>& file) {
  std::string uart;
  auto m = Arm64Machine::create(config(s, &uart));
  REQUIRE(m);
  auto r = snapshot::restore(**m, file);
  REQUIRE(!r);
  return r.error();
}

}  // namespace

TEST_CASE("arm64 snapshot: the restored machine reads back the saved registers through the architected interfaces") {
  // sgi-ipi on 4 CPUs paused mid-run: PMR, binary points, group enables, SGI/PPI state,
  // the distributor, the ITS and the PEs' registers as the guest (or a debugger) reads them.
  const Scenario s = *stub("sgi-ipi", 4);
  auto a = fresh(s, false);
  auto entry = a->m->load(s.image);
  REQUIRE(entry);
  a->m->scheduler().pause_at(30'000);
  REQUIRE(a->m->run(*entry, s.budget).stop == arch::StopKind::Paused);
  auto b = fresh(s, false);
  REQUIRE(snapshot::restore(*b->m, save(*a->m)));
  for (unsigned c = 0; c < 4; ++c) {
    INFO("cpu", c);
    for (uint32_t enc : {icc::PMR_EL1, icc::BPR0_EL1, icc::BPR1_EL1, icc::CTLR_EL1, icc::IGRPEN1_EL1, icc::RPR_EL1,
                         icc::AP1R0_EL1, icc::HPPIR1_EL1})
      CHECK(b->m->gic(c).read(enc) == a->m->gic(c).read(enc));
    for (uc_arm64_reg r : {UC_ARM64_REG_PC, UC_ARM64_REG_SP, UC_ARM64_REG_PSTATE, UC_ARM64_REG_X19, UC_ARM64_REG_X30,
                           UC_ARM64_REG_VBAR_EL1, UC_ARM64_REG_MAIR_EL1, UC_ARM64_REG_TTBR1_EL1, UC_ARM64_REG_TPIDR_EL1, UC_ARM64_REG_CPACR_EL1})
      CHECK(b->m->cpu(c).reg(r) == a->m->cpu(c).reg(r));
    CHECK(b->m->cpu(c).state() == a->m->cpu(c).state());
    CHECK(b->m->psci().state(c) == a->m->psci().state(c));
    for (uint64_t off : {0x0000, 0x0014, 0x0070, 0x0078})  // GICR_CTLR, WAKER, PROPBASER, PENDBASER
      CHECK(b->m->redistributors().mmio_read(c * 0x2'0000 + off, 4) == a->m->redistributors().mmio_read(c * 0x2'0000 + off, 4));
    for (uint64_t off : {0x0100, 0x0200, 0x0300})  // GICR_ISENABLER0, ISPENDR0, ISACTIVER0 (SGI_base)
      CHECK(b->m->redistributors().mmio_read(c * 0x2'0000 + 0x1'0000 + off, 4) ==
            a->m->redistributors().mmio_read(c * 0x2'0000 + 0x1'0000 + off, 4));
  }
  for (uint64_t off : {0x0000, 0x0100, 0x0104, 0x0200})  // GICD_CTLR, ISENABLER0/1, ISPENDR0
    CHECK(b->m->distributor().mmio_read(off, 4) == a->m->distributor().mmio_read(off, 4));
  CHECK(b->m->its().creadr() == a->m->its().creadr());
  CHECK(b->m->its().cwriter() == a->m->its().cwriter());
  CHECK(b->m->time().now() == a->m->time().now());
  CHECK(b->m->instructions() == a->m->instructions());
  CHECK(b->m->acks().size() == a->m->acks().size());
}

TEST_SUITE("arm64 snapshot: a bad file is refused with a message") {
  TEST_CASE("truncated, another configuration, a renamed record, out-of-range values, a count too large") {
    // Made once: doctest runs the case's body again for each SUBCASE below.
    static const Scenario s = *stub("its-migrate", 4);
    static const std::vector<uint8_t> file = [] {
      std::vector<uint8_t> f;
      REQUIRE(split(s, 20'000, false, &f));
      return f;
    }();

    SUBCASE("truncated") {
      std::vector<uint8_t> half(file.begin(), file.begin() + std::ptrdiff_t(file.size() / 2));
      CHECK(!refused(s, half).empty());
    }
    SUBCASE("another configuration (2 CPUs instead of 4)") {
      Scenario two = s;
      two.cpus = 2;
      const std::string why = refused(two, file);
      CHECK(why.find("another machine") != std::string::npos);
      CHECK(why.find("cpus=4") != std::string::npos);
      CHECK(why.find("cpus=2") != std::string::npos);
    }
    SUBCASE("a record renamed: GITS_CBASER") {
      const auto bad = edited(file, [](std::vector<uint8_t>& st) {
        const std::size_t v = record_value(st, snapshot::Kind::U64, "GITS_CBASER");
        REQUIRE(v != std::string::npos);
        st[v - 1] = 'S';  // "GITS_CBASES"
      });
      const std::string why = refused(s, bad);
      CHECK(why.find("its/GITS_CBASER") != std::string::npos);
      CHECK(why.find("GITS_CBASES") != std::string::npos);
    }
    SUBCASE("a CPU's power state out of range") {
      const auto bad = edited(file, [](std::vector<uint8_t>& st) {
        const std::size_t v = record_value(st, snapshot::Kind::U8, "power");
        REQUIRE(v != std::string::npos);
        st[v] = 7;
      });
      CHECK(refused(s, bad).find("cpu0/pe/: a CPU is Off (0), Running (1) or WaitingForInterrupt (2)") !=
            std::string::npos);
    }
    SUBCASE("a PSCI power state out of range") {
      const auto bad = edited(file, [](std::vector<uint8_t>& st) {
        const std::size_t g = record_value(st, snapshot::Kind::Begin, "psci");
        const std::size_t v = record_value(st, snapshot::Kind::U8, "cpu2", g);
        REQUIRE(v != std::string::npos);
        st[v] = 3;
      });
      CHECK(refused(s, bad).find("psci/: a PSCI power state") != std::string::npos);
    }
    SUBCASE("GITS_CREADR past the command queue") {
      const auto bad = edited(file, [](std::vector<uint8_t>& st) {
        const std::size_t v = record_value(st, snapshot::Kind::U64, "GITS_CREADR");
        REQUIRE(v != std::string::npos);
        const uint64_t past = uint64_t{1} << 19;  // 512 KiB: more than any 1-page.. 256-page queue holds
        std::memcpy(&st[v], &past, 8);
      });
      CHECK(refused(s, bad).find("its/: GITS_CREADR is past the command queue") != std::string::npos);
    }
    SUBCASE("PSTATE in AArch32 or at EL2") {
      const auto bad = edited(file, [](std::vector<uint8_t>& st) {
        const std::size_t v = record_value(st, snapshot::Kind::U64, "PSTATE");
        REQUIRE(v != std::string::npos);
        st[v] = 0x09;  // EL2h
      });
      CHECK(refused(s, bad).find("PSTATE.M is EL0t, EL1t or EL1h") != std::string::npos);
    }
    SUBCASE("a count too large: the acknowledgements") {
      const auto bad = edited(file, [](std::vector<uint8_t>& st) {
        const std::size_t g = record_value(st, snapshot::Kind::Begin, "acks");
        const std::size_t v = record_value(st, snapshot::Kind::U64, "count", g);
        REQUIRE(v != std::string::npos);
        const uint64_t huge = ~uint64_t{0};
        std::memcpy(&st[v], &huge, 8);
      });
      const std::string why = refused(s, bad);
      INFO(why);
      CHECK(why.find("machine/acks/") != std::string::npos);
      CHECK(why.find("18446744073709551615 elements") != std::string::npos);
    }
    SUBCASE("the same file restores") {
      std::string uart;
      auto m = Arm64Machine::create(config(s, &uart));
      REQUIRE(m);
      CHECK(snapshot::restore(**m, file));
    }
  }

  TEST_CASE("a machine that has run is no place to restore to: restore is for a fresh machine") {
    const Scenario s = *stub("its-migrate", 2);
    std::vector<uint8_t> file;
    auto r = fresh(s);
    auto entry = r->m->load(s.image);
    REQUIRE(entry);
    r->m->scheduler().pause_at(50);
    REQUIRE(r->m->run(*entry, s.budget).stop == arch::StopKind::Paused);
    file = save(*r->m);
    auto ok = snapshot::restore(*r->m, file);
    REQUIRE(!ok);
    CHECK(ok.error().find("never ran") != std::string::npos);
  }
}

TEST_CASE("Unicorn 2.0.1: AFSR0_EL1 and AMAIR_EL1 read as zero through UC_ARM64_REG_CP_REG (constants: not saved)") {
  uc_engine* uc = nullptr;
  REQUIRE(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) == UC_ERR_OK);
  uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_A57);
  for (uc_arm64_cp_reg r : {uc_arm64_cp_reg{5, 1, 3, 0, 0, 0}, uc_arm64_cp_reg{10, 3, 3, 0, 0, 0}}) {
    uc_arm64_cp_reg back = r;
    REQUIRE(uc_reg_read(uc, UC_ARM64_REG_CP_REG, &back) == UC_ERR_OK);
    CHECK(back.val == 0);
  }
  uc_close(uc);
}
