// VT-d posted interrupts: IRTE IM=1, PIR/ON/SN/URG/NV/NDST (Intel VT-d spec rev 5.10
// §5.2.3, §9.10, §9.11).
#include "tests/remap/vtd_rig.h"

#include "remap/vtd/pid_format.h"

using namespace vtdtest;
namespace pidf = irqremap::vtd::pid;

namespace {
void write_pid(Rig& r, uint64_t at, bool on, bool sn, uint8_t nv, uint32_t ndst) {
  std::array<uint64_t, 8> w{};
  fields::set(w, pidf::ON, on);
  fields::set(w, pidf::SN, sn);
  fields::set(w, pidf::NV, nv);
  fields::set(w, pidf::NDST, ndst);
  for (unsigned i = 0; i < 8; ++i) REQUIRE(r.mem.write64(at + 8 * i, w[i]).has_value());
}
}  // namespace

TEST_CASE("vtd: posting sets PIR[VV] and ON, and notifies NV at NDST when ON=0, SN=0 (VT-d §5.2.3)") {
  Rig r;
  CHECK((r.r64(vtd::reg::CAP) >> 59 & 1) == 1);  // CAP.PI
  r.enable();
  write_pid(r, kPid, false, false, 0xF2, 0x0300);  // xAPIC: APIC 3 in NDST[15:8]
  r.put(0, posted_irte(0x91, kPid));
  const Translation t = r.unit.translate(msi(0));
  const auto* p = std::get_if<PostedDelivery>(&t);
  REQUIRE(p);
  CHECK(p->descriptor == kPid);
  CHECK(p->vector == 0x91);
  CHECK(p->notified);
  CHECK(p->nv == 0xF2);
  CHECK(p->ndst == 3);
  CHECK(*r.mem.read64(kPid + 16) == (uint64_t{1} << (0x91 - 128)));  // PIR bit 145
  CHECK((*r.mem.read64(kPid + 32) & 1) == 1);                        // ON
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].vector == 0xF2);
  CHECK(r.bus.got[0].dest == 3);
  CHECK(r.bus.got[0].delivery_mode == 0);
  CHECK(!r.bus.got[0].level);
  CHECK(r.sink.contains(EventKind::Delivery, "PIR[0x91] set"));
}

TEST_CASE("vtd: posting with ON=1 sets PIR but sends no notification (VT-d §5.2.3)") {
  Rig r;
  r.enable();
  write_pid(r, kPid, true, false, 0xF2, 0x0300);
  r.put(0, posted_irte(0x05, kPid));
  const Translation t = r.unit.translate(msi(0));
  CHECK(!std::get<PostedDelivery>(t).notified);
  CHECK(*r.mem.read64(kPid) == (uint64_t{1} << 5));
  CHECK(r.bus.got.empty());
}

TEST_CASE("vtd: SN=1 suppresses the notification unless the IRTE has URG=1 (VT-d §5.2.3)") {
  Rig r;
  r.enable();
  write_pid(r, kPid, false, true, 0xF2, 0x0100);
  r.put(0, posted_irte(0x40, kPid, false));
  CHECK(!std::get<PostedDelivery>(r.unit.translate(msi(0))).notified);
  CHECK((*r.mem.read64(kPid + 32) & 1) == 0);  // ON stays 0
  CHECK(*r.mem.read64(kPid + 8) == 1);         // PIR bit 64
  r.put(1, posted_irte(0x41, kPid, true));
  CHECK(std::get<PostedDelivery>(r.unit.translate(msi(1))).notified);
  CHECK((*r.mem.read64(kPid + 32) & 1) == 1);
  CHECK(*r.mem.read64(kPid + 8) == 3);
  CHECK(r.bus.got.size() == 1);
}

TEST_CASE("vtd: with EIME=1 the notification goes to the 32-bit NDST; PDA_H gives address bits 63:32 (VT-d §9.10-9.11)") {
  Rig r;
  REQUIRE(r.mem.add_ram(0x100000000, 0x1000, "high").has_value());
  r.enable(kIrt, 7, true);
  const uint64_t pda = 0x100000040;
  write_pid(r, pda, false, false, 0xE0, 0x12345);
  r.put(0, posted_irte(0x22, pda));
  const Translation t = r.unit.translate(msi(0));
  REQUIRE(std::holds_alternative<PostedDelivery>(t));
  CHECK(std::get<PostedDelivery>(t).descriptor == pda);
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].dest == 0x12345);
}

TEST_CASE("vtd: posted IRTE reserved bits give 24h and source-ID checks apply (VT-d §9.10)") {
  Rig r;
  r.enable();
  write_pid(r, kPid, false, false, 0xF2, 0);
  vtd::Irte e = posted_irte(0x22, kPid);
  e[0] |= 1u << 3;  // bits 7:2 reserved in the posted format
  r.put(0, e);
  CHECK(r.blocked(r.unit.translate(msi(0)))->reason == 0x24);
  vtd::Irte s = posted_irte(0x22, kPid);
  fields::set(s, vtd::irte::SVT, 1);
  fields::set(s, vtd::irte::SID, make_rid(0, 7, 0));
  r.put(1, s);
  CHECK(r.blocked(r.unit.translate(msi(1)))->reason == 0x26);
  CHECK(*r.mem.read64(kPid) == 0);
}
