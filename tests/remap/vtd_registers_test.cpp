// VT-d register file and the GCMD/GSTS protocol (Intel VT-d spec rev 5.10 §11.4).
#include "tests/remap/vtd_rig.h"

#include "remap/vtd/cap_format.h"
#include "remap/vtd/irta_format.h"

using namespace vtdtest;

TEST_CASE("vtd: CAP advertises FRO/NFR/PI and ECAP QI/IR/EIM/MHMV/SMTS from the config (VT-d §11.4.2-3)") {
  Rig r(vtd::Config{.nfr = 8, .posted = true, .mhmv = 4, .smts = true});
  const uint64_t cap = r.r64(vtd::reg::CAP), ecap = r.r64(vtd::reg::ECAP);
  CHECK(cap == r.unit.mmio_read(vtd::reg::CAP, 8));
  CHECK(fields::get(cap, vtd::cap::FRO) * 16 == vtd::reg::FRCD);
  CHECK(fields::get(cap, vtd::cap::NFR) == 7);
  CHECK(fields::get(cap, vtd::cap::PI) == 1);
  CHECK(fields::get(ecap, vtd::cap::ECAP_QI) == 1);
  CHECK(fields::get(ecap, vtd::cap::ECAP_IR) == 1);
  CHECK(fields::get(ecap, vtd::cap::ECAP_EIM) == 1);
  CHECK(fields::get(ecap, vtd::cap::ECAP_MHMV) == 4);
  CHECK(fields::get(ecap, vtd::cap::ECAP_SMTS) == 1);
  CHECK(r.r32(vtd::reg::VER) == vtd::reg::kVersion);
}

TEST_CASE("vtd: NFR is clamped so every FRCD fits the 4 KiB register window") {
  Rig r(vtd::Config{.nfr = 100000});
  CHECK(r.unit.fault_records() == vtd::reg::kMaxFaultRecords);
  CHECK(vtd::reg::FRCD + 16 * r.unit.fault_records() <= r.unit.mmio_size());
  Rig z(vtd::Config{.nfr = 0});
  CHECK(z.unit.fault_records() == 1);
}

TEST_CASE("vtd: 64-bit registers accept 32-bit halves and 64-bit accesses alike (mmio.h contract)") {
  Rig r;
  r.w64(vtd::reg::IRTA, 0x12345000ull | (0xABull << 32) | 0x80F);
  CHECK(r.unit.mmio_read(vtd::reg::IRTA, 8) == (0xAB12345000ull | 0x80F));
  r.unit.mmio_write(vtd::reg::IQA, 8, 0x5000 | 2);
  CHECK(r.r32(vtd::reg::IQA) == 0x5002);
  CHECK(r.r32(vtd::reg::IQA + 4) == 0);
  // RsvdZ bits of IRTA (10:4) are not stored.
  r.w32(vtd::reg::IRTA, 0x7FF);
  CHECK(r.r32(vtd::reg::IRTA) == 0x00F);
  // A 64-bit write covering FEADDR and FEUADDR (Xen) updates both.
  r.unit.mmio_write(vtd::reg::FEADDR, 8, 0x0000000100000000ull | 0xFEE01000);
  CHECK(r.r32(vtd::reg::FEADDR) == 0xFEE01000);
  CHECK(r.r32(vtd::reg::FEUADDR) == 1);
}

TEST_CASE("vtd: odd accesses (bad size, outside the window, read-only and reserved bits) are ignored, not fatal") {
  Rig r;
  r.unit.mmio_write(0x20, 8, ~0ull);  // RTADDR: reserved bits 9:0 read as 0
  CHECK(r.unit.mmio_read(0x20, 8) == ~0x3FFull);
  r.unit.mmio_write(0x30, 4, ~0u);  // a hole between CCMD and FSTS
  CHECK(r.unit.mmio_read(0x30, 4) == 0);
  r.unit.mmio_write(vtd::reg::GSTS, 4, ~0u);  // read-only
  CHECK(r.r32(vtd::reg::GSTS) == 0);
  CHECK(r.unit.mmio_read(0xFFF, 8) == 0);
  r.unit.mmio_write(vtd::reg::IRTA, 3, 1);
  CHECK(r.r64(vtd::reg::IRTA) == 0);
  CHECK(r.sink.count(EventKind::Note) >= 3);
}

TEST_CASE("vtd: GCMD reads as zero; GSTS reports the state (VT-d §11.4.4)") {
  Rig r;
  r.set_table();
  CHECK(r.r32(vtd::reg::GCMD) == 0);
  CHECK(r.r32(vtd::reg::GSTS) == (1u << 24));
}

TEST_CASE("vtd: SIRTP latches IRTA; later IRTA writes take effect only at the next SIRTP (VT-d §11.4.10)") {
  Rig r;
  r.enable(kIrt, 7);
  r.put(0, irte({.vector = 0x11}));
  r.put(0, irte({.vector = 0x22}), kIrt + 0x10000);
  r.w64(vtd::reg::IRTA, kIrt + 0x10000 + 7);
  CHECK(std::get<ApicDelivery>(r.unit.translate(msi(0))).vector == 0x11);
  r.gcmd(1u << 24);
  CHECK(std::get<ApicDelivery>(r.unit.translate(msi(0))).vector == 0x22);
  CHECK(r.sink.contains(EventKind::Hazard, "SIRTP while GSTS.IRES=1"));
  CHECK(r.unit.ir_state().irt_entries == vtd::irta::entries(7));
}

TEST_CASE("vtd: IRE before any SIRTP is ignored and the trace says so (documented choice, VT-d §11.4.4.1)") {
  Rig r;
  r.gcmd(1u << 25);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 25)) == 0);
  CHECK(r.sink.contains(EventKind::Hazard, "perform SIRTP before IRE"));
  // Interrupts still flow untranslated, as with IR disabled.
  const Translation t = r.unit.translate(MsiWrite{0xFEE01000, 0x30, kSid});
  REQUIRE(std::holds_alternative<ApicDelivery>(t));
  CHECK(std::get<ApicDelivery>(t).dest == 1);
  r.set_table();
  r.gcmd(1u << 25);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 25)) != 0);
}

TEST_CASE("vtd: IRE=0 stops remapping; MSIs then pass untranslated (VT-d §5.1)") {
  Rig r;
  r.enable();
  r.put(0, irte({.present = false}));
  CHECK(r.blocked(r.unit.translate(msi(0))));
  r.gcmd(1u << 25, false);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 25)) == 0);
  CHECK(std::holds_alternative<ApicDelivery>(r.unit.translate(msi(0))));
}

TEST_CASE("vtd: a GCMD write changing two bits is carried out and flagged as a hazard (VT-d §11.4.4.1)") {
  Rig r;
  r.w64(vtd::reg::IRTA, kIrt | 7);
  r.w32(vtd::reg::GCMD, (1u << 24) | (1u << 25));  // SIRTP and IRE together
  CHECK((r.r32(vtd::reg::GSTS) & (3u << 24)) == (3u << 24));
  CHECK(r.sink.contains(EventKind::Hazard, "changes 2 bits at once"));
}

TEST_CASE("vtd: the one-shot mask 0x96FFFFFF keeps SIRTP from re-firing on the next GCMD write (VT-d §11.4.4.1)") {
  Rig r;
  r.set_table();
  r.sink.clear();
  r.gcmd(1u << 23);  // CFI, written as (GSTS & 0x96FFFFFF) | CFI
  CHECK(!r.sink.contains(EventKind::Note, "SIRTP"));
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 23)) != 0);
  r.gcmd(1u << 23, false);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 23)) == 0);
}

TEST_CASE("vtd: IRTA.EIME is ignored when ECAP.EIM=0 (VT-d §11.4.3)") {
  Rig r(vtd::Config{.eim = false});
  r.enable(kIrt, 7, true);
  CHECK(!r.unit.ir_state().eime);
  CHECK(r.sink.contains(EventKind::Hazard, "ECAP.EIM=0"));
}

TEST_CASE("vtd: EIME=0 uses DST[15:8] as the xAPIC ID; EIME=1 all 32 bits (VT-d §9.9)") {
  Rig x;
  x.enable();
  x.put(0, irte({.dst = 0xFF00}));
  CHECK(std::get<ApicDelivery>(x.unit.translate(msi(0))).dest == 0xFF);
  Rig e;
  e.enable(kIrt, 7, true);
  e.put(0, irte({.dst = 0x12345}));
  CHECK(std::get<ApicDelivery>(e.unit.translate(msi(0))).dest == 0x12345);
}

TEST_CASE("vtd: SRTP sets GSTS.RTPS and TE then sets TES; WBF completes at once (VT-d §11.4.4.1, CAP.RWBF=0)") {
  Rig r;
  r.gcmd(1u << 30);  // SRTP
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 30)) != 0);
  r.gcmd(1u << 31);
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 31)) != 0);
  CHECK(r.sink.contains(EventKind::Note, "DMA remapping enabled (GSTS.TES=1)"));
  r.gcmd(1u << 27);  // WBF
  CHECK((r.r32(vtd::reg::GSTS) & (1u << 27)) == 0);
}

TEST_CASE("vtd: register writes are traced decoded with spec field names") {
  Rig r;
  r.w64(vtd::reg::IRTA, kIrt | 0x80F);
  CHECK(r.sink.contains(EventKind::RegWrite, "write IRTA = 0x10080f (S=0xf EIME=1 IRTA=0x100)"));
}

TEST_CASE("vtd: writing GSTS back without the 0x96FFFFFF mask re-fires SIRTP (why §11.4.4.1 masks)") {
  Rig r;
  r.set_table();
  r.sink.clear();
  r.w32(vtd::reg::GCMD, r.r32(vtd::reg::GSTS) | (1u << 23));  // IRTPS (bit 24) read back as SIRTP
  CHECK(r.sink.contains(EventKind::Note, "SIRTP: IRT at"));
}

TEST_CASE("vtd: IRTA and IQA at the top of the address space fault cleanly (23h, IQE), never wrap") {
  Rig r;
  r.enable(0xFFFFFFFFFFFFF000ull, 15);
  CHECK(r.blocked(r.unit.translate(msi(0xFFFF)))->reason == 0x23);
  r.w64(vtd::reg::IQA, 0xFFFFFFFFFFFFF000ull | 7);
  r.w64(vtd::reg::IQT, 0);
  r.gcmd(1u << 26);
  r.w64(vtd::reg::IQT, 0x10);
  CHECK((r.r32(vtd::reg::FSTS) & 0x10) != 0);
}

TEST_CASE("vtd: a register read's trace names the byte within that register (GSTS at 1Ch, FRCD[i] at FRO + 16*i)") {
  Rig r(vtd::Config{.nfr = 4});
  r.sink.clear();
  (void)r.unit.mmio_read(vtd::reg::GSTS, 4);  // 1Ch: a 32-bit register of its own (§11.4.5)
  (void)r.unit.mmio_read(vtd::reg::ECAP + 4, 4);  // the upper half of the 64-bit ECAP
  (void)r.unit.mmio_read(vtd::reg::FRCD + 16 + 8, 4);  // the upper quadword of fault record 1
  const auto reads = r.sink.of_kind(EventKind::RegRead);
  REQUIRE(reads.size() == 3);
  CHECK(reads[0].text.starts_with("read GSTS+0x0 (4 bytes)"));
  CHECK(reads[1].text.starts_with("read ECAP+0x4 (4 bytes)"));
  CHECK(reads[2].text.starts_with("read FRCD[1]+0x8 (4 bytes)"));
}
