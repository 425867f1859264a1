// GICv3 redistributors, LPI side (Arm IHI0069 §5.1, §12.11).
#include <doctest/doctest.h>

#include "arch/arm64/gicv3_redistributor.h"
#include "arch/arm64/virt_map.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {
constexpr uint64_t kProp = 0x4010'0000;  // config table, 4 KiB aligned
constexpr uint64_t kPend = 0x4020'0000;  // pending tables, 64 KiB aligned, 64 KiB per CPU

struct Rig {
  GuestMemory mem;
  std::unique_ptr<Redistributors> rds;
  explicit Rig(unsigned cpus = 2) {
    REQUIRE(mem.add_ram(0x4000'0000, 0x100'0000, "ram"));
    rds = std::make_unique<Redistributors>(mem, cpus);
  }
  // Firmware sequence: PROPBASER (IDbits=15), PENDBASER, config bytes, EnableLPIs.
  void enable(unsigned cpu, bool ptz = true, uint64_t idbits = 15) {
    const uint64_t frame = cpu * gicr::kFrameSize;
    rds->mmio_write(frame + gicr::PROPBASER, 8, kProp | idbits);
    rds->mmio_write(frame + gicr::PENDBASER, 8, (kPend + cpu * 0x1'0000) | (ptz ? 1ull << 62 : 0));
    rds->mmio_write(frame + gicr::CTLR, 4, 1);
  }
  void config(uint32_t intid, uint8_t prio, bool enable) {
    REQUIRE(mem.write8(kProp + intid - 8192, uint8_t(prio | 0x2 | (enable ? 1 : 0))));
  }
};
}  // namespace

TEST_CASE("gicr: TYPER gives PLPIS, Processor_Number, affinity and Last on the final frame (§12.11.35)") {
  Rig r(3);
  for (unsigned n = 0; n < 3; ++n) {
    const uint64_t t = r.rds->mmio_read(n * gicr::kFrameSize + gicr::TYPER, 8);
    CHECK((t & 1) == 1);
    CHECK(((t >> 8) & 0xFFFF) == n);
    CHECK(((t >> 4) & 1) == (n == 2 ? 1u : 0u));
    CHECK((t >> 32) == virt::mpidr_affinity(n));
    // 32-bit halves read the same value.
    const uint64_t lo = r.rds->mmio_read(n * gicr::kFrameSize + gicr::TYPER, 4);
    const uint64_t hi = r.rds->mmio_read(n * gicr::kFrameSize + gicr::TYPER + 4, 4);
    CHECK((lo | hi << 32) == t);
  }
  CHECK((r.rds->mmio_read(gicr::PIDR2, 4) >> 4 & 0xF) == 3);
  CHECK(r.rds->mmio_size() == 3 * 0x2'0000);
}

TEST_CASE("gicr: WAKER ProcessorSleep resets to 1 and ChildrenAsleep follows it (§12.11.43)") {
  Rig r(1);
  CHECK(r.rds->mmio_read(gicr::WAKER, 4) == 0x6);
  r.rds->mmio_write(gicr::WAKER, 4, 0);
  CHECK(r.rds->mmio_read(gicr::WAKER, 4) == 0);
  CHECK(!(*r.rds)[0].processor_asleep());
}

TEST_CASE("gicr: LPIs are dropped until EnableLPIs=1 and outside PROPBASER.IDbits (§5.1.1)") {
  Rig r;
  CHECK(!r.rds->set_pending(0, 8192));
  r.enable(0, true, 13);  // 14 INTID bits: 8192..16383
  CHECK(r.rds->set_pending(0, 8192));
  CHECK(r.rds->set_pending(0, 16383));
  CHECK(!r.rds->set_pending(0, 16384));
  CHECK(!r.rds->set_pending(0, 8191));
  CHECK((*r.rds)[0].lpi_limit() == 16384);
  Rig small;
  small.enable(0, true, 12);  // fewer than 14 bits: no LPI in range
  CHECK(!small.rds->set_pending(0, 8192));
}

TEST_CASE("gicr: pending bits are written to the guest pending table (IHI0069 §5.1.2: one bit per INTID)") {
  Rig r;
  r.enable(1);
  REQUIRE(r.rds->set_pending(1, 8195));
  // Bit 8195 of the table at kPend + 64K: byte 1024, bit 3.
  CHECK(*r.mem.read8(kPend + 0x1'0000 + 8195 / 8) == 0x08);
  r.rds->clear_pending(1, 8195);
  CHECK(*r.mem.read8(kPend + 0x1'0000 + 8195 / 8) == 0x00);
}

TEST_CASE("gicr: enabling LPIs consumes the pending table unless PTZ=1 (§12.11.29 PTZ)") {
  Rig r;
  REQUIRE(r.mem.write8(kPend + 8200 / 8, uint8_t(1 << (8200 % 8))));
  r.config(8200, 0x80, true);
  r.enable(0, /*ptz=*/false);
  CHECK((*r.rds)[0].is_pending(8200));
  CHECK(r.rds->highest_pending(0) == PendingIrq{8200, 0x80});
  Rig z;
  REQUIRE(z.mem.write8(kPend + 8200 / 8, uint8_t(1 << (8200 % 8))));
  z.enable(0, /*ptz=*/true);
  CHECK(!(*z.rds)[0].is_pending(8200));
  CHECK(z.rds->mmio_read(gicr::PENDBASER + 4, 4) == 0);  // PTZ is write-only
}

TEST_CASE("gicr: PROPBASER/PENDBASER ignore writes while EnableLPIs=1; 32-bit halves merge") {
  Rig r;
  r.rds->mmio_write(gicr::PROPBASER, 4, uint32_t(kProp | 15));
  r.rds->mmio_write(gicr::PROPBASER + 4, 4, 0);
  CHECK(r.rds->mmio_read(gicr::PROPBASER, 8) == (kProp | 15));
  r.rds->mmio_write(gicr::PENDBASER, 4, uint32_t(kPend));
  r.rds->mmio_write(gicr::CTLR, 4, 1);
  CHECK(r.rds->mmio_read(gicr::CTLR, 4) == 1);
  r.rds->mmio_write(gicr::PROPBASER, 8, 0x5000'0000 | 15);
  CHECK(r.rds->mmio_read(gicr::PROPBASER, 8) == (kProp | 15));
  r.rds->mmio_write(gicr::CTLR, 4, 0);
  r.rds->mmio_write(gicr::PROPBASER, 8, 0x5000'0000 | 15);
  CHECK(r.rds->mmio_read(gicr::PROPBASER, 8) == (0x5000'0000 | 15));
}

TEST_CASE("gicr: highest pending honours priority and Enable; config re-read only on INV/INVALL (§5.1.1)") {
  Rig r;
  r.config(8192, 0xA0, true);
  r.config(8193, 0x40, true);
  r.config(8194, 0x10, false);
  r.enable(0);
  for (uint32_t i : {8192u, 8193u, 8194u}) REQUIRE(r.rds->set_pending(0, i));
  CHECK(r.rds->highest_pending(0) == PendingIrq{8193, 0x40});
  // The guest enables 8194 at priority 0x10: not seen until INV.
  r.config(8194, 0x10, true);
  CHECK(r.rds->highest_pending(0) == PendingIrq{8193, 0x40});
  r.rds->reload_config(0, 8194);
  CHECK(r.rds->highest_pending(0) == PendingIrq{8194, 0x10});
  // Disable 8194 and lower 8192; INVALL picks both up.
  r.config(8194, 0x10, false);
  r.config(8192, 0x20, true);
  r.rds->reload_all_config(0);
  CHECK(r.rds->highest_pending(0) == PendingIrq{8192, 0x20});
}

TEST_CASE("gicr: acknowledge takes the highest pending LPI and clears it; EOI is counted") {
  Rig r;
  r.config(9000, 0x80, true);
  r.config(9001, 0x80, true);
  r.enable(0);
  unsigned changes = 0;
  r.rds->set_on_change([&](uint32_t cpu) { CHECK(cpu == 0); ++changes; });
  REQUIRE(r.rds->set_pending(0, 9001));
  REQUIRE(r.rds->set_pending(0, 9000));
  CHECK(changes >= 2);
  auto a = r.rds->acknowledge(0);
  REQUIRE(a);
  CHECK(a->intid == 9000);  // equal priority: the lower INTID first
  CHECK(!(*r.rds)[0].is_pending(9000));
  r.rds->eoi(0, 9000);
  CHECK(r.rds->acknowledge(0)->intid == 9001);
  CHECK(!r.rds->acknowledge(0));
  CHECK((*r.rds)[0].acknowledged_count() == 2);
  CHECK((*r.rds)[0].eoi_count() == 1);
}

TEST_CASE("gicr: MOVI/MOVALL move pending state between redistributors (IHI0069 §5.3.11, §5.3.12)") {
  Rig r(3);
  for (uint32_t i : {8192u, 8300u, 9000u}) r.config(i, 0x80, true);
  r.enable(0);
  r.enable(1);
  REQUIRE(r.rds->set_pending(0, 8192));
  REQUIRE(r.rds->set_pending(0, 8300));
  REQUIRE(r.rds->set_pending(0, 9000));
  r.rds->move_pending(0, 1, 8300);
  CHECK(!(*r.rds)[0].is_pending(8300));
  CHECK((*r.rds)[1].is_pending(8300));
  r.rds->move_pending(0, 1, 8301);  // not pending: nothing moves
  CHECK(!(*r.rds)[1].is_pending(8301));
  r.rds->move_all_pending(0, 1);
  CHECK((*r.rds)[0].pending_lpis().empty());
  CHECK((*r.rds)[1].pending_lpis() == std::vector<uint32_t>{8192, 8300, 9000});
  // Target with EnableLPIs=0: MOVI is a NOP (CONSTRAINED UNPREDICTABLE, QEMU's choice).
  r.rds->move_pending(1, 2, 8192);
  CHECK((*r.rds)[1].is_pending(8192));
}

TEST_CASE("gicr: rd_by_address resolves RD_base frames for PTA=1 (IHI0069 §12.19.12 GITS_TYPER.PTA)") {
  Rig r(2);
  CHECK(r.rds->rd_by_address(virt::kGicrBase) == 0u);
  CHECK(r.rds->rd_by_address(virt::kGicrBase + 0x2'0000) == 1u);
  CHECK(!r.rds->rd_by_address(virt::kGicrBase + 0x4'0000));
  CHECK(!r.rds->rd_by_address(virt::kGicrBase + 0x1'0000));
  CHECK(!r.rds->rd_by_address(0));
}

TEST_CASE("gicr: EnableLPIs=0 drops pending state from the model but the guest table keeps it") {
  Rig r;
  r.config(8192, 0x80, true);
  r.enable(0);
  bool last = true;
  r.rds->set_on_enable_change([&](uint32_t, bool e) { last = e; });
  REQUIRE(r.rds->set_pending(0, 8192));
  r.rds->mmio_write(gicr::CTLR, 4, 0);
  CHECK(!last);
  CHECK(!r.rds->highest_pending(0));
  CHECK(*r.mem.read8(kPend + 1024) == 1);
  r.rds->mmio_write(gicr::CTLR, 4, 1);  // PTZ was consumed: the table is read again
  CHECK(r.rds->highest_pending(0) == PendingIrq{8192, 0x80});
}

TEST_CASE("gicr: a pending table outside RAM keeps the state in the model and traces a fault") {
  Rig r;
  RecordingSink sink;
  r.rds->trace().attach(&sink);
  r.rds->mmio_write(gicr::PROPBASER, 8, kProp | 15);
  r.rds->mmio_write(gicr::PENDBASER, 8, 0x1000'0000);  // not RAM
  r.rds->mmio_write(gicr::CTLR, 4, 1);
  r.config(8192, 0x80, true);
  r.rds->reload_config(0, 8192);
  CHECK(r.rds->set_pending(0, 8192));
  CHECK(r.rds->highest_pending(0) == PendingIrq{8192, 0x80});
  CHECK(sink.contains(EventKind::Fault, "outside guest RAM"));
}

TEST_CASE("gicr: SGI frame keeps enables and priorities firmware writes") {
  Rig r(1);
  r.rds->mmio_write(gicr::ISENABLER0, 4, 0x8000'0001);
  r.rds->mmio_write(gicr::ICENABLER0, 4, 0x1);
  CHECK(r.rds->mmio_read(gicr::ISENABLER0, 4) == 0x8000'0000);
  r.rds->mmio_write(gicr::IPRIORITYR + 27, 1, 0xA0);
  CHECK((*r.rds)[0].sgi_ppi_priority(27) == 0xA0);
  CHECK(r.rds->mmio_read(gicr::IPRIORITYR + 24, 4) == 0xA000'0000);
  CHECK(r.rds->mmio_read(gicr::ICFGR0, 4) == 0xAAAA'AAAA);
}

TEST_CASE("gicr: accesses past the last frame and unknown redistributor numbers are harmless") {
  Rig r(2);
  CHECK(r.rds->mmio_read(2 * gicr::kFrameSize + gicr::TYPER, 8) == 0);
  r.rds->mmio_write(2 * gicr::kFrameSize + gicr::CTLR, 4, 1);
  CHECK(!r.rds->set_pending(5, 8192));
  r.rds->clear_pending(5, 8192);
  r.rds->move_pending(0, 5, 8192);
  r.rds->move_all_pending(5, 0);
  r.rds->reload_config(5, 8192);
  r.rds->reload_all_config(5);
  CHECK(!r.rds->highest_pending(5));
  CHECK(!r.rds->acknowledge(5));
  CHECK(r.rds->redistributor_count() == 2);
}

TEST_CASE("gicr: 2^24 LPIs on 64 CPUs keep their state in guest RAM, not in host copies (issue 13)") {
  GuestMemory mem;
  constexpr uint64_t prop = 0x4000'0000, pend = 0x4200'0000;  // 16 MiB config, 2 MiB per CPU
  REQUIRE(mem.add_ram(0x4000'0000, 0xA00'0000, "ram"));
  Redistributors rds(mem, 64, 0x080A'0000, {}, /*id_bits=*/24);
  constexpr uint32_t top = (1u << 24) - 1;
  REQUIRE(mem.write8(prop + top - 8192, 0x40 | 0x2 | 1));
  REQUIRE(mem.write8(prop + 9000 - 8192, 0x80 | 0x2 | 1));
  for (unsigned n = 0; n < 64; ++n) {
    const uint64_t f = n * gicr::kFrameSize;
    rds.mmio_write(f + gicr::PROPBASER, 8, prop | 23);  // IDbits = 23: 24 INTID bits
    rds.mmio_write(f + gicr::PENDBASER, 8, (pend + n * 0x20'0000) | (1ull << 62));
    rds.mmio_write(f + gicr::CTLR, 4, 1);
  }
  std::size_t host = 0;
  for (unsigned n = 0; n < 64; ++n) {
    CHECK(rds[n].lpi_limit() == (uint64_t{1} << 24));
    host += rds[n].lpi_host_bytes();
  }
  // A dense copy would be 16 MiB of configuration + 2 MiB of pending bits per CPU.
  CHECK(host <= 64 * (64 * 1024 + 32 * 1024));
  REQUIRE(rds.set_pending(63, top));
  REQUIRE(rds.set_pending(63, 9000));
  // The bit is in the guest's pending table, where firmware can look.
  CHECK(*mem.read8(pend + 63 * 0x20'0000 + top / 8) == 0x80);
  CHECK(rds.highest_pending(63) == PendingIrq{top, 0x40});
  CHECK(rds[63].pending_lpis() == std::vector<uint32_t>{9000, top});
  CHECK(rds.acknowledge(63) == PendingIrq{top, 0x40});
  CHECK(rds.highest_pending(63) == PendingIrq{9000, 0x80});
  rds.move_all_pending(63, 0);
  CHECK(rds[0].pending_lpis() == std::vector<uint32_t>{9000});
  CHECK(rds[63].pending_lpis().empty());
  CHECK(*mem.read8(pend + 63 * 0x20'0000 + 9000 / 8) == 0);
}

TEST_CASE("gicr: the LPI range is capped by the GIC's INTID bits (GICD_TYPER.IDbits, 16 by default as QEMU)") {
  Rig r;
  r.enable(0, true, 23);
  CHECK((*r.rds)[0].lpi_limit() == 0x1'0000);
  CHECK(!r.rds->set_pending(0, 0x1'0000));
  CHECK(r.rds->set_pending(0, 0xFFFF));
}
