// Randomized interleavings of disable/enable/fire/re-arm/mask/swap against a reference
// model (issue 5): no event is lost and none is delivered twice, whether the device's
// MSIs go to a recorder, through the VT-d unit, or through the ITS — and, with remapping,
// the interrupt migrates while every slot stays written exactly once.
#include <doctest/doctest.h>

#include <functional>
#include <random>

#include "tests/device/device_rig.h"
#include "tests/remap/its_rig.h"
#include "tests/remap/vtd_rig.h"

using namespace irqremap;
using namespace irqremap::device;

namespace {

// The reference: what the driver asked for, and whether an event is owed.
struct ModelSlot {
  bool armed = true, disabled = false, masked = false, owed = false;
  bool deliverable() const { return armed && !disabled && !masked; }
};

struct Forward final : MsiSink {
  std::function<void(const MsiWrite&)> to;
  void msi_write(const MsiWrite& m) override { to(m); }
};

enum Op { Fire, Disable, Enable, Rearm, Mask, Unmask, SwapIn, SwapOut, Migrate, kOps };

// Drives `dev` with `steps` random operations; `sent()` counts MSIs that left the device;
// `migrate(slot)` moves that slot's interrupt in the remapping tables (never the device).
void run_random(MsgDevice& dev, unsigned seed, unsigned steps, const std::function<size_t()>& sent,
                const std::function<void(unsigned)>& migrate) {
  std::mt19937 rng(seed);
  const unsigned n = dev.config().slots;
  const bool one_shot = dev.config().one_shot;
  std::vector<ModelSlot> model(n);
  for (unsigned i = 0; i < n; ++i) model[i].masked = dev.masked(i);
  for (unsigned step = 0; step < steps; ++step) {
    const unsigned s = rng() % n;
    const Op op = Op(rng() % kOps);
    const size_t before = sent();
    ModelSlot& m = model[s];
    size_t expect = 0;
    auto settle = [&] {
      if (m.owed && m.deliverable()) {
        expect = 1;
        m.owed = false;
        if (one_shot) m.armed = false;
      }
    };
    switch (op) {
      case Fire:
        dev.fire(s);
        if (m.deliverable()) {
          expect = 1;
          if (one_shot) m.armed = false;
        } else {
          m.owed = true;
        }
        break;
      case Disable: dev.disable(s); m.disabled = true; break;
      case Enable: dev.enable(s); m.disabled = false; settle(); break;
      case Rearm: dev.rearm(s); m.armed = true; settle(); break;
      case Mask: dev.set_mask(s, true); m.masked = true; break;
      case Unmask: dev.set_mask(s, false); m.masked = false; settle(); break;
      case SwapIn: dev.swap_in(); break;
      case SwapOut: dev.swap_out(); break;
      case Migrate: migrate(s); break;
      default: break;
    }
    CAPTURE(step);
    CAPTURE(int(op));
    CAPTURE(s);
    REQUIRE(sent() - before == expect);
    REQUIRE(dev.pending(s) == m.owed);
  }
  // Drain: enable, unmask and re-arm everything; every owed event comes out exactly once.
  size_t owed = 0;
  for (const ModelSlot& m : model) owed += m.owed;
  const size_t before = sent();
  for (unsigned i = 0; i < n; ++i) {
    dev.enable(i);
    dev.set_mask(i, false);
    dev.rearm(i);
  }
  CHECK(sent() - before == owed);
  for (unsigned i = 0; i < n; ++i) CHECK_FALSE(dev.pending(i));
  CHECK(dev.messages() <= dev.events());
}

}  // namespace

TEST_CASE("device random: no interrupt lost or duplicated across disable/enable/fire/re-arm/swap (reference model)") {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    const bool one_shot = seed % 2, eager = seed % 4 >= 2;
    test::DeviceRig r({.slots = 4, .eager_mask = eager, .unsplit_context = seed > 4, .one_shot = one_shot});
    for (unsigned i = 0; i < 4; ++i) r.dev.write_slot(i, test::kMsiAddr, i, false);
    run_random(r.dev, seed, 2000, [&] { return r.bus.sent.size(); }, [](unsigned) {});
    for (unsigned i = 0; i < 4; ++i) CHECK(r.dev.counters(i).commits == 1);
  }
}

TEST_CASE("device random through VT-d: every MSI reaches the IRTE's current CPU while the slots stay written once") {
  using vtdtest::Rig;
  Rig v(vtd::Config{});
  v.enable();
  v.enable_qi();
  constexpr unsigned kSlots = 4;
  std::vector<uint32_t> cpu(kSlots);
  for (unsigned i = 0; i < kSlots; ++i) {
    cpu[i] = i;
    v.put(i, vtdtest::irte({.vector = uint8_t(0x40 + i), .dst = cpu[i] << 8}));
  }
  Forward fwd;
  fwd.to = [&](const MsiWrite& m) {
    const Translation t = v.unit.translate(m);
    const auto* d = std::get_if<ApicDelivery>(&t);
    REQUIRE_MESSAGE(d != nullptr, describe(t));
    const unsigned slot = d->vector - 0x40;
    REQUIRE(slot < kSlots);
    CHECK(d->dest == cpu[slot]);  // IEC flushed after each move: never the old CPU
  };
  MsgDevice dev(v.mem, fwd, {.slots = kSlots, .source = vtdtest::kSid, .one_shot = true});
  dev.mmio_write(reg::CTX_BASE, 8, 0x600000);
  for (unsigned i = 0; i < kSlots; ++i)
    dev.write_slot(i, vtd::msi::remappable_address(i, false), 0, false);
  std::mt19937 rng(7);
  unsigned moves = 0;
  run_random(dev, 11, 3000, [&] { return v.bus.got.size(); }, [&](unsigned s) {
    // intel_ir_set_affinity: new destination in the IRTE, then the IEC index flush.
    cpu[s] = (cpu[s] + 1 + rng() % 3) % 4;
    v.put(s, vtdtest::irte({.vector = uint8_t(0x40 + s), .dst = cpu[s] << 8}));
    v.submit({Rig::iec_index(s, 0), 0});
    ++moves;
  });
  CHECK(moves > 100);
  for (unsigned i = 0; i < kSlots; ++i) {
    CHECK(dev.counters(i).commits == 1);
    CHECK(dev.counters(i).rewrites_enabled == 0);
  }
  CHECK(v.unit.stats().faults == 0);
}

TEST_CASE("device random through the ITS: every MSI becomes the LPI on the collection's current RD after MOVI+SYNC; slots written once") {
  using namespace its_test;
  Rig r({}, 4);
  constexpr uint32_t kDev = 0x10;
  constexpr unsigned kSlots = 4;
  std::vector<uint32_t> icid(kSlots);
  r.run({mapd(kDev, 3, kItt), mapc(0, 0), mapc(1, 1), mapc(2, 2), mapc(3, 3)});
  for (unsigned i = 0; i < kSlots; ++i) {
    icid[i] = i;
    r.lpi_config(8192 + i, 0x80, true);
    r.run({mapti(kDev, i, 8192 + i, i)});
  }
  for (uint32_t c = 0; c < 4; ++c) r.run({invall(c)});
  REQUIRE(r.its->error_count() == 0);
  Forward fwd;
  size_t delivered_count = 0;
  fwd.to = [&](const MsiWrite& m) {
    const Translation t = r.its->translate(m);
    const auto* d = std::get_if<LpiDelivery>(&t);
    REQUIRE_MESSAGE(d != nullptr, describe(t));
    const unsigned ev = d->intid - 8192;
    REQUIRE(ev < kSlots);
    CHECK(d->rd == icid[ev]);
    ++delivered_count;
  };
  MsgDevice dev(r.mem, fwd, {.slots = kSlots, .source = kDev});
  dev.mmio_write(reg::CTX_BASE, 8, 0x4300'0000);
  for (unsigned i = 0; i < kSlots; ++i) dev.write_slot(i, kTranslater, i, false);  // EventID = slot
  std::mt19937 rng(3);
  unsigned moves = 0;
  run_random(dev, 5, 3000, [&] { return delivered_count; }, [&](unsigned s) {
    // its_set_affinity: MOVI to the new collection, SYNC to the old redistributor.
    const uint32_t old = icid[s];
    icid[s] = (old + 1 + rng() % 3) % 4;
    r.run({movi(kDev, s, icid[s]), sync(old)});
    ++moves;
  });
  CHECK(moves > 100);
  CHECK(r.its->error_count() == 0);
  for (unsigned i = 0; i < kSlots; ++i) {
    CHECK(dev.counters(i).commits == 1);
    CHECK(dev.counters(i).rewrites_enabled == 0);
  }
}
