// VT-d queued invalidation: IQA/IQH/IQT, the IEC invalidate and invalidation wait
// descriptors, IQE (Intel VT-d spec rev 5.10 §6.5.2).
#include "tests/remap/vtd_rig.h"

#include "remap/vtd/fault_format.h"

using namespace vtdtest;

namespace {
bool iqe(Rig& r) { return (r.r32(vtd::reg::FSTS) & 0x10) != 0; }
}  // namespace

TEST_CASE("vtd: enabling QI latches IQA and resets IQH; descriptors run on IQT writes (VT-d §6.5.2)") {
  Rig r;
  r.enable_qi();
  CHECK(r.r64(vtd::reg::IQH) == 0);
  r.submit(Rig::wait_sw(0xD0E, kStatus));
  CHECK(r.r64(vtd::reg::IQH) == 0x10);
  CHECK(*r.mem.read32(kStatus) == 0xD0E);
  r.submit(Rig::wait_sw(0xD0F, kStatus));
  CHECK(r.r64(vtd::reg::IQH) == 0x20);
  CHECK(*r.mem.read32(kStatus) == 0xD0F);
  CHECK(r.sink.contains(EventKind::Command, "invalidation wait SW=true"));
}

TEST_CASE("vtd: the queue wraps after 2^(QS+8) descriptors (VT-d §6.5.2 IQA.QS)") {
  Rig r;
  r.enable_qi(0);
  for (uint32_t i = 0; i < 300; ++i) r.submit(Rig::wait_sw(i, kStatus));
  CHECK(*r.mem.read32(kStatus) == 299);
  CHECK(r.r64(vtd::reg::IQH) == (300 % 256) * 16);
  CHECK(!iqe(r));
}

TEST_CASE("vtd: wait descriptor IF=1 sets ICS.IWC and sends the completion event (VT-d §6.5.2.9)") {
  Rig r;
  r.w32(vtd::reg::IEDATA, 0x5A);
  r.w32(vtd::reg::IEADDR, 0xFEE01000);
  r.w32(vtd::reg::IECTL, 0);
  r.enable_qi();
  r.submit({0x5 | 0x10, 0});
  CHECK(r.r32(vtd::reg::ICS) == 1);
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].vector == 0x5A);
  CHECK(r.bus.got[0].dest == 1);
  // IWC still set: another IF wait raises no event.
  r.submit({0x5 | 0x10, 0});
  CHECK(r.bus.got.size() == 1);
  r.w32(vtd::reg::ICS, 1);
  CHECK(r.r32(vtd::reg::ICS) == 0);
  r.submit({0x5 | 0x10, 0});
  CHECK(r.bus.got.size() == 2);
}

TEST_CASE("vtd: completion event masked by IECTL.IM stays pending in IECTL.IP (VT-d §11.4.9.5)") {
  Rig r;
  r.w32(vtd::reg::IEDATA, 0x5B);
  r.enable_qi();
  r.submit({0x5 | 0x10, 0});
  CHECK(r.bus.got.empty());
  CHECK(r.r32(vtd::reg::IECTL) == 0xC0000000);
  r.w32(vtd::reg::IECTL, 0);
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].vector == 0x5B);
  CHECK(r.r32(vtd::reg::IECTL) == 0);
}

TEST_CASE("vtd: wait with both SW and IF does the status write then the interrupt (VT-d §6.5.2.9)") {
  Rig r;
  r.w32(vtd::reg::IECTL, 0);
  r.enable_qi();
  r.submit({0x5 | 0x20 | 0x10 | 0x40 | (7ull << 32), kStatus});  // SW IF FN
  CHECK(*r.mem.read32(kStatus) == 7);
  CHECK(r.r32(vtd::reg::ICS) == 1);
  CHECK(r.bus.got.size() == 1);
  CHECK(!iqe(r));
}

TEST_CASE("vtd: IEC invalidate with reserved bits sets IQE; IQH stays on it (VT-d §6.5.2.8, §6.5.2.10)") {
  Rig r;
  r.enable_qi();
  r.submit(Rig::wait_sw(1, kStatus));
  r.submit({0x4 | 0x20, 0});  // bit 5 reserved
  r.submit(Rig::wait_sw(2, kStatus));
  CHECK(iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0x10);
  CHECK(*r.mem.read32(kStatus) == 1);
  CHECK(r.sink.contains(EventKind::CommandError, "reserved bits"));
  // Software replaces the bad descriptor and clears IQE: fetching resumes at IQH.
  REQUIRE(r.mem.write64(kQueue + 0x10, Rig::iec_global()).has_value());
  r.w32(vtd::reg::FSTS, 0x10);
  CHECK(!iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0x30);
  CHECK(*r.mem.read32(kStatus) == 2);
}

TEST_CASE("vtd: IEC descriptor with bits 127:64 set is invalid (VT-d §6.5.2.8)") {
  Rig r;
  r.enable_qi();
  r.submit({Rig::iec_global(), 1});
  CHECK(iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0);
}

TEST_CASE("vtd: IEC index mask above ECAP.MHMV is an invalid descriptor (VT-d §6.5.2.8)") {
  Rig r(vtd::Config{.mhmv = 2});
  r.enable_qi();
  r.submit({Rig::iec_index(0, 2), 0});
  CHECK(!iqe(r));
  r.submit({Rig::iec_index(0, 3), 0});
  CHECK(iqe(r));
  CHECK(r.sink.contains(EventKind::CommandError, "exceeds ECAP.MHMV=2"));
}

TEST_CASE("vtd: IQE raises the fault event like a fault record (VT-d §7.4.1)") {
  Rig r;
  r.w32(vtd::reg::FEDATA, 0x61);
  r.w32(vtd::reg::FECTL, 0);
  r.enable_qi();
  r.submit({0x0, 0});  // type 0: invalid
  CHECK(iqe(r));
  REQUIRE(r.bus.got.size() == 1);
  CHECK(r.bus.got[0].vector == 0x61);
}

TEST_CASE("vtd: context (G=global), IOTLB (G=global) and device-TLB descriptors (types 1-3) complete; G=00b is reserved (VT-d §6.5.2.1, §6.5.2.3)") {
  Rig r;
  r.enable_qi();
  r.submit({0x1 | 0x10, 0});
  r.submit({0x2 | 0x10, 0});
  r.submit({0x3, 0});
  CHECK(!iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0x30);
  r.submit({0x1, 0});  // context-cache invalidate with reserved granularity 00b
  CHECK(iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0x30);
  REQUIRE(r.mem.write64(kQueue + 0x30, 0x2 | 0x20).has_value());  // fix it: IOTLB, domain-selective
  r.w32(vtd::reg::FSTS, 1u << 4);  // clearing IQE resumes at IQH
  CHECK(!iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0x40);
  r.submit({0x6, 0});  // exists only at 256 bits
  CHECK(iqe(r));
}

TEST_CASE("vtd: a descriptor outside guest RAM sets IQE (VT-d §6.5.2.10)") {
  Rig r;
  r.w64(vtd::reg::IQA, 0x7000000000);
  r.w64(vtd::reg::IQT, 0);
  r.gcmd(1u << 26);
  r.w64(vtd::reg::IQT, 0x10);
  CHECK(iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0);
  CHECK(r.sink.contains(EventKind::CommandError, "outside guest RAM"));
}

TEST_CASE("vtd: IQT past the end of the queue sets IQE (VT-d §6.5.2)") {
  Rig r;
  r.enable_qi(0);  // 256 entries
  r.w64(vtd::reg::IQT, 256 * 16);
  CHECK(iqe(r));
}

TEST_CASE("vtd: a status write outside guest RAM sets IQE (VT-d §6.5.2.9)") {
  Rig r;
  r.enable_qi();
  r.submit(Rig::wait_sw(1, 0x7000000000));
  CHECK(iqe(r));
}

TEST_CASE("vtd: wait descriptor reserved bits (PD without ECAP.PDS, 65:64) set IQE (VT-d §6.5.2.9)") {
  Rig a;
  a.enable_qi();
  a.submit({0x5 | 0x80, 0});
  CHECK(iqe(a));
  Rig b;
  b.enable_qi();
  b.submit({0x5 | 0x20, kStatus | 1});
  CHECK(iqe(b));
}

TEST_CASE("vtd: IQA.DW=1 with ECAP.SMTS uses 256-bit descriptors, zero-padded (VT-d §6.5.2)") {
  Rig r(vtd::Config{.smts = true});
  r.enable_qi(0, true);
  r.submit(Rig::wait_sw(3, kStatus), true, 128);
  CHECK(*r.mem.read32(kStatus) == 3);
  CHECK(r.r64(vtd::reg::IQH) == 0x20);
  r.submit({0x6, 0, 0, 0}, true, 128);  // scalable-mode type: no-op at 256 bits
  CHECK(!iqe(r));
  r.submit({Rig::iec_global(), 0, 1, 0}, true, 128);
  CHECK(iqe(r));
  CHECK(r.r64(vtd::reg::IQH) == 0x40);
}

TEST_CASE("vtd: IQT bit 4 set while DW=1 sets IQE (VT-d §6.5.2 IQT)") {
  Rig r(vtd::Config{.smts = true});
  r.enable_qi(0, true);
  r.w64(vtd::reg::IQT, 0x10);
  CHECK(iqe(r));
}

TEST_CASE("vtd: IQA.DW=1 without ECAP.SMTS falls back to 128-bit descriptors (VT-d §11.4.9.3)") {
  Rig r;
  r.enable_qi(0, true);
  r.submit(Rig::wait_sw(4, kStatus));
  CHECK(*r.mem.read32(kStatus) == 4);
  CHECK(r.sink.contains(EventKind::Hazard, "ECAP.SMTS=0"));
}

TEST_CASE("vtd: QIE=0 is refused while the queue is not empty (VT-d §6.5.2)") {
  Rig r;
  r.enable_qi();
  r.submit({0x0, 0});  // IQE: IQH stays behind IQT
  r.gcmd(1u << 26, false);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 26)) != 0);
  Rig ok;
  ok.enable_qi();
  ok.submit(Rig::wait_sw(1, kStatus));
  ok.gcmd(1u << 26, false);
  CHECK((ok.r32(vtd::reg::GSTS) & (1u << 26)) == 0);
}

TEST_CASE("vtd: IQT written before QIE is processed when QI is enabled (Windows does so; QEMU vtd_handle_gcmd_qie)") {
  Rig r;
  REQUIRE(r.mem.write64(kQueue, Rig::wait_sw(9, kStatus)[0]).has_value());
  REQUIRE(r.mem.write64(kQueue + 8, kStatus).has_value());
  r.w64(vtd::reg::IQA, kQueue);
  r.w64(vtd::reg::IQT, 0x10);
  CHECK(*r.mem.read32(kStatus) == 0);
  r.gcmd(1u << 26);
  CHECK(*r.mem.read32(kStatus) == 9);
  CHECK(r.sink.contains(EventKind::Hazard, "IQT != 0"));
}
