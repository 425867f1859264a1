// VT-d MSI translation: one case per IR fault reason 20h-28h, the FPD rules, fault
// recording in FRCD/FSTS and the fault event (Intel VT-d spec rev 5.10 §5.1.4, §7.4.1,
// Table 15, §11.4.7.6).
#include "tests/remap/vtd_rig.h"

#include "remap/vtd/cap_format.h"
#include "remap/vtd/fault_format.h"

using namespace vtdtest;
namespace fr = irqremap::vtd::fault;

namespace {
void check_record(Rig& r, unsigned slot, uint8_t reason, uint16_t sid, std::optional<uint32_t> index) {
  const auto rec = r.unit.fault_record(slot);
  CHECK(fields::get(rec, fr::FRCD_F) == 1);
  CHECK(fields::get(rec, fr::FRCD_FR) == reason);
  CHECK(fields::get(rec, fr::FRCD_SID) == sid);
  if (index) CHECK(fields::get(rec, fr::FRCD_IR_INDEX) == *index);
  // The driver sees the same record through MMIO at CAP.FRO * 16.
  CHECK(r.r64(vtd::reg::FRCD + 16 * slot) == rec[0]);
  CHECK(r.r64(vtd::reg::FRCD + 16 * slot + 8) == rec[1]);
}
}  // namespace

TEST_CASE("vtd: a present IRTE remaps the MSI to its APIC, vector, DM/RH/DLM/TM (VT-d §5.1.4)") {
  Rig r;
  r.enable();
  r.put(5, irte({.vector = 0x41, .dst = 0x0300, .dm = true, .rh = true, .tm = true, .dlm = 1}));
  const Translation t = r.unit.translate(msi(5));
  const auto* d = std::get_if<ApicDelivery>(&t);
  REQUIRE(d);
  CHECK(d->dest == 3);
  CHECK(d->vector == 0x41);
  CHECK(d->dest_logical);
  CHECK(d->redirection_hint);
  CHECK(d->delivery_mode == 1);
  CHECK(d->level);
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0] == *d);
  CHECK(r.sink.contains(EventKind::TableRead, "read IRTE 5"));
  CHECK(r.sink.contains(EventKind::Translation, "IRTE 5"));
}

TEST_CASE("vtd: SHV=1 uses index = handle + subhandle (VT-d §5.1.2.2)") {
  Rig r;
  r.enable();
  r.put(7, irte({.vector = 0x77}));
  const Translation t = r.unit.translate(msi(4, kSid, true, 3));
  REQUIRE(std::holds_alternative<ApicDelivery>(t));
  CHECK(std::get<ApicDelivery>(t).vector == 0x77);
}

TEST_CASE("vtd: fault 20h for an address outside 0xFEEx_xxxx or above 4 GiB (VT-d Table 15)") {
  Rig r;
  r.enable();
  r.put(0, irte({}));
  const Translation t = r.unit.translate(MsiWrite{0xFED00010, 0, kSid});
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x20);
  CHECK(r.blocked(t)->recorded);
  check_record(r, 0, 0x20, kSid, std::nullopt);
  const Translation hi = r.unit.translate(MsiWrite{0x1'FEE00010, 0, make_rid(1, 0, 0)});
  REQUIRE(r.blocked(hi));
  CHECK(r.blocked(hi)->reason == 0x20);
  CHECK(r.bus.got.empty());
}

TEST_CASE("vtd: fault 20h when SHV=1 and data bits 31:16 are set, FPD does not apply (VT-d §5.1.2.2)") {
  Rig r;
  r.enable();
  r.put(1, irte({.fpd = true}));
  const Translation t = r.unit.translate(msi(0, kSid, true, 0x10001));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x20);
  CHECK(r.blocked(t)->recorded);
  // SHV=0: the data is ignored entirely.
  CHECK(std::holds_alternative<ApicDelivery>(r.unit.translate(msi(1, kSid, false, 0xFFFF0000))));
}

TEST_CASE("vtd: fault 21h for an index >= 2^(IRTA.S+1), recorded with the index (VT-d §5.1.4.1)") {
  Rig r;
  r.enable(kIrt, 3);  // 16 entries
  r.put(15, irte({}));
  CHECK(std::holds_alternative<ApicDelivery>(r.unit.translate(msi(15))));
  const Translation t = r.unit.translate(msi(16));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x21);
  CHECK(r.blocked(t)->what.find("index=16") != std::string::npos);
  check_record(r, 0, 0x21, kSid, 16);
}

TEST_CASE("vtd: fault 22h for IRTE P=0, recorded in FRCD with FI index and SID (VT-d §11.4.7.6)") {
  Rig r;
  r.enable();
  r.put(5, irte({.present = false}));
  const Translation t = r.unit.translate(msi(5));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x22);
  CHECK(r.blocked(t)->what.starts_with("fault 0x22 index=5 sid=00:03.0 recorded=yes"));
  check_record(r, 0, 0x22, kSid, 5);
  CHECK((r.r32(vtd::reg::FSTS) & 0x2) != 0);  // PPF
  CHECK(r.sink.count(EventKind::Fault) == 1);
}

TEST_CASE("vtd: fault 23h when the IRT lies outside guest RAM (VT-d Table 15)") {
  Rig r;
  r.enable(0x40000000, 7);  // above the 16 MiB of RAM
  const Translation t = r.unit.translate(msi(2));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x23);
  check_record(r, 0, 0x23, kSid, 2);
}

TEST_CASE("vtd: fault 24h for reserved IRTE bits 14:12, 31:24 and 127:84 (VT-d §9.9)") {
  for (auto [w, bit] : {std::pair{0, 13}, {0, 30}, {1, 40}}) {
    Rig r;
    r.enable();
    vtd::Irte e = irte({});
    e[w] |= uint64_t{1} << bit;
    r.put(0, e);
    const Translation t = r.unit.translate(msi(0));
    REQUIRE(r.blocked(t));
    CHECK(r.blocked(t)->reason == 0x24);
  }
}

TEST_CASE("vtd: fault 24h for xAPIC DST bits outside 15:8 when EIME=0, none with EIME=1 (VT-d §9.9)") {
  Rig r;
  r.enable();
  r.put(0, irte({.dst = 0x00010300}));
  CHECK(r.blocked(r.unit.translate(msi(0)))->reason == 0x24);
  Rig x;
  x.enable(kIrt, 7, true);
  x.put(0, irte({.dst = 0x00010300}));
  const Translation t = x.unit.translate(msi(0));
  REQUIRE(std::holds_alternative<ApicDelivery>(t));
  CHECK(std::get<ApicDelivery>(t).dest == 0x00010300);  // x2APIC: all 32 bits
}

TEST_CASE("vtd: fault 24h for reserved DLM 011/110, SVT=11b, and IM=1 without CAP.PI (VT-d §9.9-9.10)") {
  {
    Rig r;
    r.enable();
    r.put(0, irte({.dlm = 3}));
    r.put(1, irte({.dlm = 6}));
    r.put(2, irte({.svt = 3}));
    CHECK(r.blocked(r.unit.translate(msi(0)))->reason == 0x24);
    CHECK(r.blocked(r.unit.translate(msi(1)))->reason == 0x24);
    CHECK(r.blocked(r.unit.translate(msi(2)))->reason == 0x24);
  }
  Rig np(vtd::Config{.posted = false});
  CHECK(fields::get(np.r64(vtd::reg::CAP), vtd::cap::PI) == 0);
  np.enable();
  np.put(0, posted_irte(0x30, kPid));
  CHECK(np.blocked(np.unit.translate(msi(0)))->reason == 0x24);
}

TEST_CASE("vtd: fault 25h for compatibility format while CFIS=0 (VT-d §5.1.4)") {
  Rig r;
  r.enable();
  const Translation t = r.unit.translate(MsiWrite{0xFEE03000, 0x41, kSid});
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x25);
  CHECK(r.blocked(t)->recorded);
  check_record(r, 0, 0x25, kSid, std::nullopt);
}

TEST_CASE("vtd: CFI=1 with EIME=0 passes compatibility format untranslated (VT-d §5.1.2.1)") {
  Rig r;
  r.enable();
  r.gcmd(1u << 23);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 23)) != 0);
  const Translation t = r.unit.translate(MsiWrite{0xFEE03004, 0x8141, kSid});
  const auto* d = std::get_if<ApicDelivery>(&t);
  REQUIRE(d);
  CHECK(d->dest == 3);
  CHECK(d->dest_logical);
  CHECK(d->vector == 0x41);
  CHECK(d->delivery_mode == 1);
  CHECK(d->level);
  CHECK(!d->remapped);
  CHECK(r.sink.contains(EventKind::Hazard, "CFI=1"));
}

TEST_CASE("vtd: fault 25h for compatibility format when EIME=1 even with CFIS=1 (VT-d §5.1.4)") {
  Rig r;
  r.enable(kIrt, 7, true);
  r.gcmd(1u << 23);
  const Translation t = r.unit.translate(MsiWrite{0xFEE03000, 0x41, kSid});
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x25);
}

TEST_CASE("vtd: fault 26h when SID verification fails (VT-d §9.9 SVT=01b)") {
  Rig r;
  r.enable();
  r.put(0, irte({.sid = make_rid(0, 4, 0)}));
  const Translation t = r.unit.translate(msi(0, kSid));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x26);
  check_record(r, 0, 0x26, kSid, 0);
}

TEST_CASE("vtd: SQ masks 0xFFFF/0xFFFB/0xFFF9/0xFFF8 on SID compare (VT-d §9.9 Table 26)") {
  const uint16_t sid = make_rid(2, 1, 0);
  struct Row { uint8_t sq; uint16_t rid; bool ok; };
  const Row rows[] = {
      {0, make_rid(2, 1, 0), true},  {0, make_rid(2, 1, 1), false},
      {1, make_rid(2, 1, 4), true},  {1, make_rid(2, 1, 2), false},
      {2, make_rid(2, 1, 6), true},  {2, make_rid(2, 1, 1), false},
      {3, make_rid(2, 1, 7), true},  {3, make_rid(2, 2, 0), false},
      {3, make_rid(3, 1, 0), false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.sq);
    CAPTURE(row.rid);
    CHECK(vtd::source_id_ok(irte({.sid = sid, .sq = row.sq, .svt = 1}), row.rid) == row.ok);
  }
  CHECK(vtd::source_id_ok(irte({.sid = 0x1234, .svt = 0}), 0xFFFF));  // SVT=00: no check
}

TEST_CASE("vtd: SVT=10b checks StartBus=SID[15:8] <= bus <= EndBus=SID[7:0] (VT-d §9.9)") {
  const vtd::Irte e = irte({.sid = 0x0205, .svt = 2});  // buses 2..5
  CHECK(!vtd::source_id_ok(e, make_rid(1, 0, 0)));
  CHECK(vtd::source_id_ok(e, make_rid(2, 0, 0)));
  CHECK(vtd::source_id_ok(e, make_rid(4, 31, 7)));
  CHECK(vtd::source_id_ok(e, make_rid(5, 0, 0)));
  CHECK(!vtd::source_id_ok(e, make_rid(6, 0, 0)));
  // QEMU's reversed order (bus_min = SID[7:0]) would reject all of 2..5 here.
  Rig r;
  r.enable();
  r.put(0, e);
  CHECK(std::holds_alternative<ApicDelivery>(r.unit.translate(msi(0, make_rid(3, 0, 0)))));
  CHECK(r.blocked(r.unit.translate(msi(0, make_rid(9, 0, 0))))->reason == 0x26);
}

TEST_CASE("vtd: fault 27h when the posted descriptor lies outside guest RAM (VT-d §5.2.3)") {
  Rig r;
  r.enable();
  r.put(0, posted_irte(0x30, 0x7000000000));
  const Translation t = r.unit.translate(msi(0));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x27);
  check_record(r, 0, 0x27, kSid, 0);
}

TEST_CASE("vtd: fault 28h for reserved bits in the posted descriptor, PIR untouched (VT-d §9.11)") {
  Rig r;
  r.enable();
  r.put(0, posted_irte(0x30, kPid));
  REQUIRE(r.mem.write64(kPid + 40, 1).has_value());  // bit 320: reserved
  const Translation t = r.unit.translate(msi(0));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x28);
  CHECK(*r.mem.read64(kPid) == 0);
}

TEST_CASE("vtd: FPD=1 suppresses recording of 22h, even though P=0 (VT-d §9.9 FPD)") {
  Rig r;
  r.enable();
  r.put(5, irte({.fpd = true, .present = false}));
  const Translation t = r.unit.translate(msi(5));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x22);
  CHECK(!r.blocked(t)->recorded);
  CHECK(r.blocked(t)->what.starts_with("fault 0x22 index=5 sid=00:03.0 recorded=no (FPD)"));
  CHECK(r.r32(vtd::reg::FSTS) == 0);
  CHECK(fields::get(r.unit.fault_record(0), fr::FRCD_F) == 0);
  CHECK(r.unit.stats().faults == 1);
}

TEST_CASE("vtd: FPD=1 suppresses recording of 24h and 26h (qualified faults, VT-d Table 15)") {
  Rig r;
  r.enable();
  vtd::Irte rsvd = irte({.fpd = true});
  rsvd[0] |= 1u << 12;
  r.put(0, rsvd);
  r.put(1, irte({.fpd = true, .sid = make_rid(7, 0, 0)}));
  const Translation a = r.unit.translate(msi(0)), b = r.unit.translate(msi(1));
  CHECK(r.blocked(a)->reason == 0x24);
  CHECK(!r.blocked(a)->recorded);
  CHECK(r.blocked(b)->reason == 0x26);
  CHECK(!r.blocked(b)->recorded);
  CHECK(r.r32(vtd::reg::FSTS) == 0);
}

TEST_CASE("vtd: FPD=1 suppresses recording of 27h and 28h (posted, VT-d Table 15)") {
  Rig r;
  r.enable();
  r.put(0, posted_irte(0x30, 0x7000000000, false, true));
  r.put(1, posted_irte(0x30, kPid, false, true));
  REQUIRE(r.mem.write64(kPid + 56, 1).has_value());
  CHECK(!r.blocked(r.unit.translate(msi(0)))->recorded);
  CHECK(!r.blocked(r.unit.translate(msi(1)))->recorded);
  CHECK(r.r32(vtd::reg::FSTS) == 0);
}

TEST_CASE("vtd: FPD does not apply to non-qualified 21h (VT-d Table 15)") {
  Rig r;
  r.enable(kIrt, 0);  // 2 entries
  r.put(0, irte({.fpd = true}));
  r.put(2, irte({.fpd = true}));  // beyond the table: never read
  CHECK(r.blocked(r.unit.translate(msi(2)))->recorded);
}

TEST_CASE("vtd: FPD=1 on a valid IRTE does not block the interrupt (VT-d §9.9)") {
  Rig r;
  r.enable();
  r.put(0, irte({.fpd = true}));
  CHECK(std::holds_alternative<ApicDelivery>(r.unit.translate(msi(0))));
}

TEST_CASE("vtd: FSTS.FRI names the first pending record; F write-1-clears and PPF follows (VT-d §11.4.6.1)") {
  Rig r(vtd::Config{.nfr = 2});
  r.enable();
  r.put(0, irte({.present = false}));
  r.unit.translate(msi(0, make_rid(0, 1, 0)));
  r.unit.translate(msi(0, make_rid(0, 2, 0)));
  check_record(r, 0, 0x22, make_rid(0, 1, 0), 0);
  check_record(r, 1, 0x22, make_rid(0, 2, 0), 0);
  CHECK(fields::get(r.r32(vtd::reg::FSTS), fr::FRI) == 0);
  CHECK(fields::get(r.r32(vtd::reg::FSTS), fr::PPF) == 1);
  r.w32(vtd::reg::FRCD + 12, 0x80000000);  // clear F of record 0 (bit 127)
  CHECK(fields::get(r.unit.fault_record(0), fr::FRCD_F) == 0);
  CHECK(fields::get(r.r32(vtd::reg::FSTS), fr::PPF) == 1);
  r.w32(vtd::reg::FRCD + 16 + 12, 0x80000000);
  CHECK(fields::get(r.r32(vtd::reg::FSTS), fr::PPF) == 0);
}

TEST_CASE("vtd: every FRCD pending sets FSTS.PFO and drops further faults (VT-d §7.4.1)") {
  Rig r(vtd::Config{.nfr = 1});
  CHECK(fields::get(r.r64(vtd::reg::CAP), vtd::cap::NFR) == 0);
  r.enable();
  r.put(0, irte({.present = false}));
  CHECK(r.blocked(r.unit.translate(msi(0, make_rid(0, 1, 0))))->recorded);
  const Translation t = r.unit.translate(msi(0, make_rid(0, 2, 0)));
  CHECK(!r.blocked(t)->recorded);
  CHECK(r.blocked(t)->what.find("PFO") != std::string::npos);
  CHECK(fields::get(r.r32(vtd::reg::FSTS), fr::PFO) == 1);
  check_record(r, 0, 0x22, make_rid(0, 1, 0), 0);  // the first record is intact
  // While PFO is set even a free record stays unused.
  r.w32(vtd::reg::FRCD + 12, 0x80000000);
  CHECK(!r.blocked(r.unit.translate(msi(0, make_rid(0, 3, 0))))->recorded);
  r.w32(vtd::reg::FSTS, 1);  // PFO is W1C
  CHECK(r.blocked(r.unit.translate(msi(0, make_rid(0, 3, 0))))->recorded);
}

TEST_CASE("vtd: a repeat fault of a pending record (same SID and reason) is collapsed (VT-d §7.4.1)") {
  Rig r(vtd::Config{.nfr = 4});
  r.enable();
  r.put(0, irte({.present = false}));
  CHECK(r.blocked(r.unit.translate(msi(0)))->recorded);
  const Translation t = r.unit.translate(msi(0));
  CHECK(!r.blocked(t)->recorded);
  CHECK(r.blocked(t)->what.find("collapsed") != std::string::npos);
  CHECK(fields::get(r.unit.fault_record(1), fr::FRCD_F) == 0);
}

TEST_CASE("vtd: fault event MSI from FEDATA/FEADDR when FECTL.IM=0 (VT-d §7.4.1, §11.4.6.2)") {
  Rig r;
  CHECK(r.r32(vtd::reg::FECTL) == 0x80000000);  // reset: masked
  r.w32(vtd::reg::FEDATA, 0xEF);
  r.w32(vtd::reg::FEADDR, 0xFEE02000);
  r.w32(vtd::reg::FECTL, 0);
  r.enable();
  r.put(0, irte({.present = false}));
  r.unit.translate(msi(0));
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].vector == 0xEF);
  CHECK(r.bus.got[0].dest == 2);
  CHECK((r.r32(vtd::reg::FECTL) & 0x40000000) == 0);  // IP cleared once sent
  // A second fault while PPF is still set raises no new event.
  r.unit.translate(msi(0, make_rid(0, 9, 0)));
  CHECK(r.bus.got.size() == 1);
}

TEST_CASE("vtd: masked fault event stays pending in FECTL.IP and fires on unmask (VT-d §11.4.6.2)") {
  Rig r;
  r.w32(vtd::reg::FEDATA, 0xEE);
  r.w32(vtd::reg::FEADDR, 0xFEE00000);
  r.enable();
  r.put(0, irte({.present = false}));
  r.unit.translate(msi(0));
  CHECK(r.bus.got.empty());
  CHECK((r.r32(vtd::reg::FECTL) & 0x40000000) != 0);
  r.w32(vtd::reg::FECTL, 0);
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].vector == 0xEE);
  CHECK(r.r32(vtd::reg::FECTL) == 0);
}

TEST_CASE("vtd: clearing all fault status clears a pending FECTL.IP (VT-d §11.4.6.2)") {
  Rig r;
  r.enable();
  r.put(0, irte({.present = false}));
  r.unit.translate(msi(0));
  CHECK((r.r32(vtd::reg::FECTL) & 0x40000000) != 0);
  r.w32(vtd::reg::FRCD + 12, 0x80000000);
  CHECK(r.r32(vtd::reg::FECTL) == 0x80000000);
}

TEST_CASE("vtd: handle + subhandle past 65535 faults 21h even with the largest table (VT-d §5.1.2.2)") {
  Rig r;
  r.enable(kIrt, 15);  // 65536 entries: 1 MiB at 0x100000, inside RAM
  const Translation t = r.unit.translate(msi(0xFFFF, kSid, true, 1));
  REQUIRE(r.blocked(t));
  CHECK(r.blocked(t)->reason == 0x21);
  CHECK(r.blocked(t)->what.find("index=65536") != std::string::npos);
  const auto faults = r.sink.of_kind(EventKind::Fault);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0].value("reason") == 0x21);
  CHECK(faults[0].value("index") == 65536);
  CHECK(faults[0].value("sid") == kSid);
  CHECK(faults[0].value("recorded") == 1);
}

TEST_CASE("vtd: the fault event carries FEUADDR as x2APIC destination bits 31:8 (VT-d §11.4.6.5)") {
  Rig r;
  r.w32(vtd::reg::FEDATA, 0xE1);
  r.w32(vtd::reg::FEADDR, 0xFEE05000);
  r.w32(vtd::reg::FEUADDR, 0x00000100);
  r.w32(vtd::reg::FECTL, 0);
  r.enable();
  r.put(0, irte({.present = false}));
  r.unit.translate(msi(0));
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].dest == 0x105);
  CHECK(r.bus.got[0].vector == 0xE1);
}
