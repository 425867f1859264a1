// The 12 physical ITS commands and their effects (Arm IHI0069 §5.3; LPI state §5.1).
#include <fmt/format.h>

#include <algorithm>

#include "tests/remap/its_rig.h"

using namespace its_test;
using namespace irqremap::its;

TEST_CASE("its cmd: MAPD+MAPC+MAPTI map (DeviceID, EventID) to RD and LPI; the MSI makes it pending") {
  Rig r;
  r.map_one(2, 3, 8195, 1, 1);
  CHECK(r.its->error_count() == 0);
  const Translation t = r.msi(2, 3);
  CHECK(delivered(t, 1, 8195));
  CHECK(r.pending(1, 8195));
  CHECK((*r.rds).highest_pending(1) == arm64::PendingIrq{8195, 0x80});
  // The tables hold the irqremap layouts.
  auto dte = read_dte(r.mem, kDevTable + 2 * 8);
  REQUIRE(dte);
  CHECK(*dte == Dte{true, 4, kItt + 2 * 0x1000});
  auto ite = read_ite(r.mem, kItt + 2 * 0x1000 + 3 * 12);
  REQUIRE(ite);
  CHECK(*ite == Ite{true, true, 8195, 1});
  auto cte = read_cte(r.mem, kColTable + 1 * 8);
  REQUIRE(cte);
  CHECK(*cte == Cte{true, 1});
}

TEST_CASE("its cmd: MAPI maps the EventID as the pINTID (§5.3.9)") {
  Rig r;
  r.lpi_config(8500, 0x80, true);
  r.run({mapd(4, 15, kItt), mapc(0, 0), mapi(4, 8500, 0)});
  CHECK(r.its->error_count() == 0);
  CHECK(delivered(r.msi(4, 8500), 0, 8500));
}

TEST_CASE("its cmd: MAPD V=0 unmaps the device; MAPC V=0 unmaps the collection") {
  Rig r;
  r.map_one(2, 3, 8195);
  r.run({mapc(0, 0, false)});
  std::optional<Blocked> b = blocked(r.msi(2, 3));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::CollectionUnmapped));
  r.run({mapc(0, 0), mapd(2, 0, 0, false)});
  b = blocked(r.msi(2, 3));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::DeviceUnmapped));
}

TEST_CASE("its cmd: INT makes the LPI pending and CLEAR removes it (§5.3.4, §5.3.2)") {
  Rig r;
  r.map_one(1, 0, 8192, 0, 1);
  r.run({dev_event(cmd::kInt, 1, 0)});
  CHECK(r.pending(1, 8192));
  r.run({dev_event(cmd::kClear, 1, 0)});
  CHECK(!r.pending(1, 8192));
  CHECK(r.its->error_count() == 0);
}

TEST_CASE("its cmd: MOVI moves the pending state and retargets the event (§5.3.12)") {
  Rig r({}, 3);
  r.map_one(1, 2, 8300, 0, 0);
  r.run({mapc(1, 2)});
  REQUIRE(delivered(r.msi(1, 2), 0, 8300));
  r.run({movi(1, 2, 1)});
  CHECK(r.its->error_count() == 0);
  CHECK(!r.pending(0, 8300));
  CHECK(r.pending(2, 8300));
  CHECK(delivered(r.msi(1, 2), 2, 8300));
  auto ite = read_ite(r.mem, kItt + 0x1000 + 2 * 12);
  REQUIRE(ite);
  CHECK(ite->icid == 1);
}

TEST_CASE("its cmd: MOVALL moves every pending LPI of RDbase1 to RDbase2 (§5.3.11)") {
  Rig r({}, 2);
  r.map_one(1, 0, 8192, 0, 0);
  r.map_one(1, 1, 8193, 0, 0);
  r.msi(1, 0);
  r.msi(1, 1);
  r.run({movall(0, 1)});
  CHECK(r.its->error_count() == 0);
  CHECK((*r.rds)[0].pending_lpis().empty());
  CHECK((*r.rds)[1].pending_lpis() == std::vector<uint32_t>{8192, 8193});
}

TEST_CASE("its cmd: MAPC re-mapping a collection moves no pending state (IHI0069 §5.3.7)") {
  Rig r({}, 2);
  r.map_one(1, 0, 8192, 0, 0);
  r.msi(1, 0);
  r.run({mapc(0, 1)});
  CHECK(r.pending(0, 8192));
  CHECK(!r.pending(1, 8192));
  CHECK(delivered(r.msi(1, 0), 1, 8192));
}

TEST_CASE("its cmd: DISCARD clears pending state and unmaps the event (§5.3.3)") {
  Rig r;
  r.map_one(1, 0, 8192);
  r.msi(1, 0);
  REQUIRE(r.pending(0, 8192));
  r.run({dev_event(cmd::kDiscard, 1, 0)});
  CHECK(r.its->error_count() == 0);
  CHECK(!r.pending(0, 8192));
  std::optional<Blocked> b = blocked(r.msi(1, 0));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::EventUnmapped));
}

TEST_CASE("its cmd: INV after a configuration change makes the redistributor see it (§5.3.5)") {
  Rig r;
  r.map_one(1, 0, 8192);
  r.lpi_config(8192, 0x80, false);  // disabled in memory, still cached as enabled
  r.msi(1, 0);
  CHECK(r.rds->highest_pending(0).has_value());
  r.run({dev_event(cmd::kInv, 1, 0)});
  CHECK(!r.rds->highest_pending(0).has_value());
  r.lpi_config(8192, 0x40, true);
  r.run({dev_event(cmd::kInv, 1, 0)});
  CHECK(r.rds->highest_pending(0) == arm64::PendingIrq{8192, 0x40});
}

TEST_CASE("its cmd: INVALL re-reads every LPI configuration of the collection's RD (§5.3.6)") {
  Rig r;
  r.map_one(1, 0, 8192);
  r.map_one(1, 1, 8193);
  r.msi(1, 0);
  r.msi(1, 1);
  r.lpi_config(8193, 0x10, true);
  CHECK(r.rds->highest_pending(0)->intid == 8192);
  r.run({invall(0)});
  CHECK(r.rds->highest_pending(0) == arm64::PendingIrq{8193, 0x10});
}

TEST_CASE("its cmd: SYNC succeeds (processing is synchronous) (§5.3.13)") {
  Rig r;
  r.run({sync(0), sync(1), sync(77)});
  CHECK(r.its->error_count() == 0);
  CHECK(r.its->creadr() == 96);
}

TEST_CASE("its cmd: PTA=1 takes RD_base addresses in MAPC and MOVALL (IHI0069 §12.19.12 GITS_TYPER.PTA)") {
  ItsConfig c;
  c.pta = true;
  Rig r(c, 2);
  const uint64_t rd1 = (0x080A'0000 + 0x2'0000) >> 16;
  r.lpi_config(8192, 0x80, true);
  r.run({mapd(1, 4, kItt), mapc(0, rd1), mapti(1, 0, 8192, 0)});
  CHECK(r.its->error_count() == 0);
  CHECK(delivered(r.msi(1, 0), 1, 8192));
  r.run({mapc(1, 1)});  // a PE number is no RD_base address
  CHECK(r.last_error() == ItsError::E_ITS_MAPC_PROCNUM_OOR);
  r.run({movall(rd1, 0x080A'0000 >> 16)});
  CHECK(r.pending(0, 8192));
}

TEST_CASE("its cmd: two-level device table: the last DeviceID an L1 entry covers, then the next page (§5.2.1)") {
  Rig r({}, 1, false);
  // 4 KiB pages, 8-byte DTEs: 512 DeviceIDs per level-2 page; level 1 = one page.
  const uint64_t l1 = 0x4003'0000, l2a = 0x4004'0000, l2b = 0x4005'0000;
  REQUIRE(r.mem.write64(l1, l2a | (1ull << 63)));
  r.baser(0, l1 | (0ull << 8) | (1ull << 62) | (1ull << 63));
  r.baser(1, kColTable | (2ull << 8) | (1ull << 63));
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  r.enable();
  CHECK(r.its->tables().device.id_limit == 65536);  // 512 x 512 capped by Devbits
  r.lpi_config(8192, 0x80, true);
  r.lpi_config(8193, 0x80, true);
  r.run({mapc(0, 0), mapd(511, 1, kItt), mapti(511, 0, 8192, 0)});
  CHECK(r.its->error_count() == 0);
  CHECK(delivered(r.msi(511, 0), 0, 8192));
  auto dte = read_dte(r.mem, l2a + 511 * 8);
  REQUIRE(dte);
  CHECK(dte->valid);
  // 512 lives in the second L1 entry, which is invalid.
  r.run({mapd(512, 1, kItt + 0x1000)});
  CHECK(r.last_error() == ItsError::E_ITS_MAPD_DEVICE_OOR);
  std::optional<Blocked> b = blocked(r.msi(512, 0));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::DeviceOutOfRange));
  // Software allocates the page (tables are not cached, only translations).
  REQUIRE(r.mem.write64(l1 + 8, l2b | (1ull << 63)));
  r.run({mapd(512, 1, kItt + 0x1000), mapti(512, 1, 8193, 0)});
  CHECK(r.its->error_count() == 1);
  CHECK(delivered(r.msi(512, 1), 0, 8193));
  auto dte2 = read_dte(r.mem, l2b);
  REQUIRE(dte2);
  CHECK(dte2->valid);
}

TEST_CASE("its cmd: two-level collection table honours its L1 entries (§5.2.1)") {
  Rig r({}, 1, false);
  const uint64_t l1 = 0x4003'0000, l2 = 0x4004'0000;
  REQUIRE(r.mem.write64(l1 + 8, l2 | (1ull << 63)));  // ICIDs 8192..16383 (64 KiB / 8)
  r.baser(0, kDevTable | (2ull << 8) | (1ull << 63));
  r.baser(1, l1 | (2ull << 8) | (1ull << 62) | (1ull << 63));
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  r.enable();
  r.run({mapc(5, 0)});
  CHECK(r.last_error() == ItsError::E_ITS_MAPC_COLLECTION_OOR);
  r.run({mapc(8192, 0)});
  CHECK(r.its->error_count() == 1);
  auto cte = read_cte(r.mem, l2);
  REQUIRE(cte);
  CHECK(*cte == Cte{true, 0});
}

TEST_CASE("its cmd: table capacity limits DeviceIDs (flat 4 KiB device table holds 512)") {
  Rig r({}, 1, false);
  r.baser(0, kDevTable | (0ull << 8) | (1ull << 63));
  r.baser(1, kColTable | (2ull << 8) | (1ull << 63));
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  r.enable();
  r.run({mapd(511, 1, kItt)});
  CHECK(r.its->error_count() == 0);
  r.run({mapd(512, 1, kItt)});
  CHECK(r.last_error() == ItsError::E_ITS_MAPD_DEVICE_OOR);
}

TEST_CASE("its cmd: translation drops say why: disabled, unmapped, out of range (IHI0069 §5.2, §6.3)") {
  Rig r;
  r.map_one(2, 3, 8195, 0, 0, 4);
  std::optional<Blocked> b = blocked(r.msi(2, 40));
  REQUIRE(b);
  CHECK(b->what == "event 40 out of range for device 2 (Size=4)");
  b = blocked(r.msi(9, 0));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::DeviceUnmapped));
  b = blocked(r.msi(70000, 0));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::DeviceOutOfRange));
  b = blocked(r.its->translate(MsiWrite{0x1234, 3, 2}));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::NotTranslater));
  RecordingSink sink;
  r.its->trace().attach(&sink);
  r.its->mmio_write(reg::GITS_CTLR, 4, 0);
  b = blocked(r.msi(2, 3));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::ItsDisabled));
  CHECK(sink.contains(EventKind::Fault, "MSI dropped: ITS disabled"));
  CHECK(r.its->stats().faults == 5);
}

TEST_CASE("its cmd: an LPI the redistributor refuses (EnableLPIs=0) is dropped and traced") {
  Rig r;
  r.map_one(2, 3, 8195, 0, 1);
  r.rds->mmio_write(arm64::gicr::kFrameSize + arm64::gicr::CTLR, 4, 0);
  std::optional<Blocked> b = blocked(r.msi(2, 3));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::LpiRejected));
}

TEST_CASE("its cmd: mappings() lists live translations for dumps") {
  Rig r;
  r.map_one(2, 3, 8195, 1, 1);
  r.msi(2, 3);
  auto m = r.its->mappings();
  REQUIRE(m.size() == 1);
  CHECK(m[0].source == "DeviceID 2 EventID 3");
  CHECK(m[0].target == "collection 1 -> RD 1, LPI 8195");
  CHECK(m[0].cached);
}

TEST_CASE("its cmd: after MOVI the new redistributor uses the configuration INV made visible on the old one (Linux: INV on unmask, no INV after MOVI)") {
  Rig r;  // both redistributors read LPI 8192's config (still 0: disabled) at EnableLPIs
  r.map_one(1, 0, 8192, 0, 0);  // config byte enabled, then INV reaches RD 0 only
  r.run({mapc(1, 1), movi(1, 0, 1)});
  REQUIRE(r.its->error_count() == 0);
  CHECK(delivered(r.msi(1, 0), 1, 8192));
  auto hp = (*r.rds)[1].highest_pending();
  REQUIRE(hp.has_value());  // enabled on RD 1 too: the LPI is offered to the CPU
  CHECK(hp->intid == 8192);
  CHECK((*r.rds)[1].config(8192) == (*r.rds)[0].config(8192));
}

TEST_CASE("its cmd: mappings() finds sparse events in large ITTs, page-straddling ITEs included, and forgets DISCARDed ones") {
  Rig r;
  r.run({mapc(0, 0)});
  std::vector<std::string> want;
  for (uint32_t d = 0; d < 8; ++d) {
    // Size=15: 65,536 events, a 768 KiB ITT per device, almost all of it never written.
    r.run({mapd(d, 15, 0x4040'0000 + d * 0xC'0000)});
    // EventID 341's ITE is at ITT offset 4092: it straddles a 4 KiB page boundary.
    for (uint32_t e : {0u, 341u, 1000 * d + 7, 65535u}) {
      r.run({mapti(d, e, 8192 + e % 4096, 0)});
      want.push_back(fmt::format("DeviceID {} EventID {}", d, e));
    }
  }
  REQUIRE(r.its->error_count() == 0);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  auto sources = [&] {
    std::vector<std::string> got;
    for (const Mapping& m : r.its->mappings()) got.push_back(m.source);
    std::sort(got.begin(), got.end());
    return got;
  };
  CHECK(sources() == want);
  r.run({dev_event(cmd::kDiscard, 3, 341)});
  want.erase(std::find(want.begin(), want.end(), "DeviceID 3 EventID 341"));
  CHECK(sources() == want);
}

TEST_CASE("its delivery: an LPI already pending is left as it is, with the same answers and redistributor trace as set_pending (IHI0069 §5.1, issue 13)") {
  for (const bool cache : {true, false}) {
    CAPTURE(cache);
    ItsConfig cfg;
    cfg.cache = cache;
    Rig r(cfg);
    r.map_one(2, 3, 8195, 1, 1);
    REQUIRE(delivered(r.msi(2, 3), 1, 8195));  // becomes pending: through set_pending
    CHECK(r.pending(1, 8195));
    CHECK((*r.rds)[1].highest_pending() == arm64::PendingIrq{8195, 0x80});
    // Again: already pending, found in the pending table; nothing changes.
    CHECK(delivered(r.msi(2, 3), 1, 8195));
    CHECK(r.its->deliver(MsiWrite{kTranslater, 3, 2}));
    CHECK((*r.rds)[1].pending_lpis() == std::vector<uint32_t>{8195});
    // A listening redistributor trace still hears every set, "already" included.
    RecordingSink sink;
    r.rds->trace().attach(&sink);
    CHECK(delivered(r.msi(2, 3), 1, 8195));
    CHECK(sink.contains(EventKind::Delivery, "LPI 8195 pending (already)"));
    r.rds->trace().detach(&sink);
    // The CPU takes it: the bit is clear, so the next MSI makes it pending again and the
    // CPU interface sees it.
    CHECK((*r.rds)[1].acknowledge() == arm64::PendingIrq{8195, 0x80});
    CHECK(!r.pending(1, 8195));
    CHECK((*r.rds)[1].highest_pending() == std::nullopt);
    CHECK(r.its->deliver(MsiWrite{kTranslater, 3, 2}));
    CHECK(r.pending(1, 8195));
    CHECK((*r.rds)[1].highest_pending() == arm64::PendingIrq{8195, 0x80});
    // EnableLPIs=0: the LPI is refused, pending bit or not (LpiRejected).
    r.rds->mmio_write(1 * arm64::gicr::kFrameSize + arm64::gicr::CTLR, 4, 0);
    auto b = blocked(r.msi(2, 3));
    REQUIRE(b);
    CHECK(b->reason == uint32_t(WalkFail::LpiRejected));
  }
}

TEST_CASE("its cmd: MAPTIs batched after a MAPD, a re-MAPD and a V=0 MAPD in one CWRITER write see each DTE as written (issue 13 queue fast path)") {
  Rig r;
  r.lpi_config(8200, 0x80, true);
  r.lpi_config(8201, 0x80, true);
  const uint64_t itt_a = kItt + 0x5000, itt_b = kItt + 0x6000;
  // One publication: the ITS runs all of these in one pass.
  r.run({mapc(0, 1), mapd(5, 4, itt_a), mapti(5, 1, 8200, 0), mapd(5, 4, itt_b),
         mapti(5, 2, 8201, 0), mapti(5, 4, 8203, 0), mapd(5, 4, 0, false),
         mapti(5, 3, 8202, 0)});
  CHECK(r.its->error_count() == 1);
  CHECK(r.last_error() == ItsError::E_ITS_MAPTI_UNMAPPED_DEVICE);
  // The ITE of event 1 went into ITT A, that of event 2 into ITT B.
  CHECK(read_ite(r.mem, itt_a + 1 * table::kIteBytes)->valid);
  CHECK(!read_ite(r.mem, itt_b + 1 * table::kIteBytes)->valid);
  CHECK(read_ite(r.mem, itt_b + 2 * table::kIteBytes)->valid);
  CHECK(!read_ite(r.mem, itt_a + 2 * table::kIteBytes)->valid);
  CHECK(read_ite(r.mem, itt_b + 4 * table::kIteBytes)->pintid == 8203);  // same device, next MAPTI
  CHECK(!read_ite(r.mem, itt_b + 3 * table::kIteBytes)->valid);
  // Re-map the device on ITT B: event 2 translates, event 1 (only in ITT A) does not.
  r.run({mapd(5, 4, itt_b)});
  CHECK(delivered(r.msi(5, 2), 1, 8201));
  CHECK(blocked(r.msi(5, 1)));
}
