// VT-d DMA remapping in legacy mode (Intel VT-d spec rev 5.10 chapter 3, §6.5, §7.1.3,
// §9.1, §9.3, §9.8): root/context lookup, 3- and 4-level second-level walks with 4 KiB,
// 2 MiB and 1 GiB pages, every DMA fault reason with its fault record, FPD, and the
// context-cache and IOTLB invalidations. Programmed through the register file as a driver
// does (tests/remap/vtd_rig.h).
#include <doctest/doctest.h>

#include "remap/vtd/cap_format.h"
#include "remap/vtd/dma_format.h"
#include "remap/vtd/fault_format.h"
#include "remap/vtd/fault_reason.h"
#include "tests/remap/vtd_rig.h"

using namespace vtdtest;
namespace fr = vtd::fault_reason;

namespace {

constexpr uint64_t kRoot = 0x500000, kCtx = 0x501000, kTables = 0x600000;
constexpr uint16_t kEdu = make_rid(0, 1, 0);  // 00:01.0 = 0x0008
constexpr uint64_t kTe = 1u << 31, kSrtp = 1u << 30;
constexpr uint64_t kR = 1, kW = 2, kPs = 1u << 7;

vtd::Config dma_config(unsigned aw = 39, bool caches = false) {
  vtd::Config c;
  c.aw_bits = aw;
  if (caches) {
    c.context_cache_entries = 16;
    c.iotlb_entries = 64;
  }
  return c;
}

// Builds legacy-mode tables in guest RAM the way kvm-unit-tests' vtd_map_range does.
struct Tables {
  Rig& r;
  uint64_t next = kTables;
  uint64_t alloc() {
    const uint64_t p = next;
    next += 0x1000;
    return p;
  }
  void root(unsigned bus, uint64_t lo, uint64_t hi = 0) {
    REQUIRE(r.mem.write64(kRoot + 16 * bus, lo).has_value());
    REQUIRE(r.mem.write64(kRoot + 16 * bus + 8, hi).has_value());
  }
  void context(uint16_t sid, uint64_t lo, uint64_t hi) {
    REQUIRE(r.mem.write64(kCtx + 16 * (sid & 0xFF), lo).has_value());
    REQUIRE(r.mem.write64(kCtx + 16 * (sid & 0xFF) + 8, hi).has_value());
  }
  // Present root entry for bus 0 and a context entry: AW (1 = 3-level, 2 = 4-level).
  uint64_t device(uint16_t sid, unsigned aw = 1, uint16_t did = 5, bool fpd = false) {
    root(0, kCtx | 1);
    const uint64_t slpt = alloc();
    context(sid, slpt | (fpd ? 2 : 0) | 1, aw | (uint64_t(did) << 8));
    return slpt;
  }
  // Maps iova -> pa at `level` (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB) with permissions perm.
  void map(uint64_t slpt, unsigned levels, uint64_t iova, uint64_t pa, unsigned level = 1,
           uint64_t perm = kR | kW) {
    uint64_t table = slpt;
    for (unsigned l = levels; l > level; --l) {
      const uint64_t at = table + 8 * ((iova >> (12 + 9 * (l - 1))) & 0x1FF);
      uint64_t e = r.mem.read64(at).value();
      if ((e & 3) == 0) {
        e = alloc() | kR | kW;
        REQUIRE(r.mem.write64(at, e).has_value());
      }
      table = e & 0x000FFFFFFFFFF000ull;
    }
    const uint64_t at = table + 8 * ((iova >> (12 + 9 * (level - 1))) & 0x1FF);
    REQUIRE(r.mem.write64(at, pa | perm | (level > 1 ? kPs : 0)).has_value());
  }
};

void enable_dma(Rig& r) {
  r.w64(vtd::reg::RTADDR, kRoot);
  r.gcmd(uint32_t(kSrtp));
  r.gcmd(uint32_t(kTe));
  REQUIRE((r.r32(vtd::reg::GSTS) & kTe) != 0);
}

uint64_t pa_of(Rig& r, uint16_t sid, uint64_t iova, bool write = false) {
  auto m = r.unit.translate_dma(sid, iova, 4, write);
  REQUIRE(m.has_value());
  return m->pa;
}

uint8_t fault_of(Rig& r, uint16_t sid, uint64_t iova, bool write = false) {
  auto m = r.unit.translate_dma(sid, iova, 4, write);
  REQUIRE(!m.has_value());
  return m.error().reason;
}

}  // namespace

TEST_CASE("vtd dma: CAP/ECAP advertise QEMU 7.2's DMA-remapping values (aw-bits=39: SAGAW 39-bit, MGAW 38, 2M/1G pages, PSI, MAMV 18, IRO 0xF, PT)") {
  Rig r(dma_config());
  namespace c = vtd::cap;
  const uint64_t qemu_cap = 0x00d2008c22260206ull, qemu_ecap = 0x0000000000f00f4aull;
  for (const fields::Field* f : {&c::ND, &c::SAGAW, &c::MGAW, &c::FRO, &c::SLLPS, &c::PSI,
                                 &c::MAMV, &c::DWD, &c::DRD, &c::CM, &c::RWBF})
    CHECK_MESSAGE(fields::get(r.unit.cap(), *f) == fields::get(qemu_cap, *f), f->name);
  for (const fields::Field* f : {&c::ECAP_QI, &c::ECAP_IR, &c::ECAP_PT, &c::ECAP_IRO, &c::ECAP_MHMV,
                                 &c::ECAP_DT, &c::ECAP_SC})
    CHECK_MESSAGE(fields::get(r.unit.ecap(), *f) == fields::get(qemu_ecap, *f), f->name);
  Rig r48(dma_config(48));
  CHECK(fields::get(r48.unit.cap(), c::SAGAW) == 0x6);
  CHECK(fields::get(r48.unit.cap(), c::MGAW) == 47);
}

TEST_CASE("vtd dma: SRTP latches RTADDR (GSTS.RTPS); TE before SRTP is ignored; with TES=0 requests pass untranslated (VT-d §11.4.4.1)") {
  Rig r(dma_config());
  CHECK(pa_of(r, kEdu, 0x1234) == 0x1234);
  r.gcmd(uint32_t(kTe));
  CHECK((r.r32(vtd::reg::GSTS) & kTe) == 0);
  r.w64(vtd::reg::RTADDR, kRoot | 0x3FF);  // reserved bits 9:0 are dropped
  CHECK(r.r64(vtd::reg::RTADDR) == kRoot);
  r.gcmd(uint32_t(kSrtp));
  CHECK((r.r32(vtd::reg::GSTS) & kSrtp) != 0);
  CHECK(r.unit.root_table() == kRoot);
  r.gcmd(uint32_t(kTe));
  CHECK((r.r32(vtd::reg::GSTS) & kTe) != 0);
  CHECK(fault_of(r, kEdu, 0x1234) == fr::kRootNotPresent);
  r.gcmd(uint32_t(kTe), false);
  CHECK((r.r32(vtd::reg::GSTS) & kTe) == 0);
  CHECK(pa_of(r, kEdu, 0x1234) == 0x1234);
}

TEST_CASE("vtd dma: a 3-level walk (AW=1, 39-bit) translates 4 KiB pages; the offset carries and a transfer stops at the page end") {
  Rig r(dma_config());
  Tables t{r};
  const uint64_t slpt = t.device(kEdu, 1);
  t.map(slpt, 3, 0x0, 0x800000);
  t.map(slpt, 3, 0x7F'FFFF'F000ull, 0x801000);  // the last page of the 39-bit space
  enable_dma(r);
  CHECK(pa_of(r, kEdu, 0x4) == 0x800004);
  CHECK(pa_of(r, kEdu, 0x7F'FFFF'F010ull, true) == 0x801010);
  auto m = r.unit.translate_dma(kEdu, 0xFF0, 0x100, false);
  REQUIRE(m.has_value());
  CHECK(m->pa == 0x800FF0);
  CHECK(m->length == 0x10);
}

TEST_CASE("vtd dma: a 4-level walk (AW=2, 48-bit) needs SAGAW bit 2; with aw-bits=39 it is fault 3h") {
  Rig r(dma_config(48));
  Tables t{r};
  const uint64_t slpt = t.device(kEdu, 2);
  t.map(slpt, 4, 0xABCD'1234'5000ull, 0x900000);
  enable_dma(r);
  CHECK(pa_of(r, kEdu, 0xABCD'1234'5678ull) == 0x900678);

  Rig r39(dma_config(39));
  Tables t39{r39};
  t39.device(kEdu, 2);
  enable_dma(r39);
  CHECK(fault_of(r39, kEdu, 0) == fr::kContextInvalid);
}

TEST_CASE("vtd dma: PS=1 at level 2 maps a 2 MiB page and at level 3 a 1 GiB page (CAP.SLLPS), in 3- and 4-level tables") {
  for (unsigned aw : {1u, 2u}) {
    Rig r(dma_config(48));
    Tables t{r};
    const unsigned levels = aw + 2;
    const uint64_t slpt = t.device(kEdu, aw);
    t.map(slpt, levels, 0x4000'0000, 0x0020'0000, 2);   // 2 MiB
    t.map(slpt, levels, 0x8000'0000, 0x0000'0000, 3);   // 1 GiB
    enable_dma(r);
    CHECK(pa_of(r, kEdu, 0x4000'0000 + 0x1F'FFF0) == 0x0020'0000 + 0x1F'FFF0);
    CHECK(pa_of(r, kEdu, 0x8000'0000 + 0x0123'4567, true) == 0x0123'4567);
  }
}

TEST_CASE("vtd dma: 2 MiB pages are reserved without SLLPS bit 0, and a large page's address bits below its size are reserved (fault Ch)") {
  vtd::Config c = dma_config();
  c.sllps = 0x2;  // 1 GiB only
  Rig r(c);
  Tables t{r};
  const uint64_t slpt = t.device(kEdu, 1);
  t.map(slpt, 3, 0x20'0000, 0x40'0000, 2);
  t.map(slpt, 3, 0x4000'0000, 0x1000, 3);  // 1 GiB frame not 1 GiB aligned
  enable_dma(r);
  CHECK(fault_of(r, kEdu, 0x20'0000) == fr::kPagingReserved);
  CHECK(fault_of(r, kEdu, 0x4000'0000) == fr::kPagingReserved);
}

TEST_CASE("vtd dma: each DMA fault reason 1h-Ch is recorded in an FRCD with SID, page address, type and reason (VT-d §7.1.3, §11.4.7.6)") {
  struct Case {
    const char* name;
    uint8_t reason;
    bool write;
  };
  const Case cases[] = {
      {"root entry P=0", fr::kRootNotPresent, false},
      {"context entry P=0", fr::kContextNotPresent, false},
      {"context TT=11b", fr::kContextInvalid, false},
      {"address above AGAW", fr::kAddressBeyondAw, false},
      {"write without W", fr::kWrite, true},
      {"read without R", fr::kRead, false},
      {"paging entry outside RAM", fr::kPagingEntryAccess, false},
      {"root table outside RAM", fr::kRootTableAccess, false},
      {"context table outside RAM", fr::kContextTableAccess, false},
      {"root reserved bit", fr::kRootReserved, false},
      {"context reserved bit", fr::kContextReserved, false},
      {"SL-PTE reserved bit (SNP)", fr::kPagingReserved, false},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    Rig r(dma_config());
    Tables t{r};
    const uint64_t slpt = t.device(kEdu, 1);
    t.map(slpt, 3, 0x5000, 0x800000);
    uint64_t iova = 0x5010;
    switch (k.reason) {
      case fr::kRootNotPresent: t.root(0, 0); break;
      case fr::kContextNotPresent: t.context(kEdu, 0, 0); break;
      case fr::kContextInvalid: t.context(kEdu, slpt | 0xC | 1, 1 | (5 << 8)); break;
      case fr::kAddressBeyondAw: iova = uint64_t{1} << 39; break;
      case fr::kWrite: t.map(slpt, 3, 0x5000, 0x800000, 1, kR); break;
      case fr::kRead: t.map(slpt, 3, 0x5000, 0x800000, 1, kW); break;
      case fr::kPagingEntryAccess: {
        // The level-2 entry points at a table outside guest RAM.
        const uint64_t l3 = r.mem.read64(slpt).value();
        REQUIRE(r.mem.write64(l3 & ~0xFFFull, 0x70'0000'0000ull | kR | kW).has_value());
        break;
      }
      case fr::kRootTableAccess: break;
      case fr::kContextTableAccess: t.root(0, 0x70'0000'0000ull | 1); break;
      case fr::kRootReserved: t.root(0, kCtx | 1, 1); break;
      case fr::kContextReserved: t.context(kEdu, slpt | 1, 1 | (5 << 8) | (uint64_t{1} << 36)); break;
      case fr::kPagingReserved: t.map(slpt, 3, 0x5000, 0x800000 | (1u << 11)); break;
    }
    if (k.reason == fr::kRootTableAccess) r.w64(vtd::reg::RTADDR, 0x70'0000'0000ull);
    else r.w64(vtd::reg::RTADDR, kRoot);
    r.gcmd(uint32_t(kSrtp));
    r.gcmd(uint32_t(kTe));
    auto m = r.unit.translate_dma(kEdu, iova, 4, k.write);
    REQUIRE(!m.has_value());
    CHECK(m.error().reason == k.reason);
    const auto rec = r.unit.fault_record(0);
    CHECK(fields::get(rec, vtd::fault::FRCD_F) == 1);
    CHECK(fields::get(rec, vtd::fault::FRCD_FR) == k.reason);
    CHECK(fields::get(rec, vtd::fault::FRCD_SID) == kEdu);
    CHECK((rec[0] & ~0xFFFull) == (iova & ~0xFFFull));
    CHECK(fields::get(rec, vtd::fault::FRCD_T) == (k.write ? 0u : 1u));
    CHECK((r.r32(vtd::reg::FSTS) & 2) != 0);  // PPF
  }
}

TEST_CASE("vtd dma: the context entry's FPD suppresses qualified faults (2h, 5h) even with P=0, but not root-entry faults (1h) (VT-d §7.1.3, §9.3)") {
  Rig r(dma_config());
  Tables t{r};
  const uint64_t slpt = t.device(kEdu, 1, 5, /*fpd=*/true);
  t.map(slpt, 3, 0x0, 0x800000, 1, kR);
  enable_dma(r);
  CHECK(fault_of(r, kEdu, 0x0, true) == fr::kWrite);
  CHECK(fields::get(r.unit.fault_record(0), vtd::fault::FRCD_F) == 0);
  t.context(kEdu, 2, 0);  // P=0, FPD=1
  CHECK(fault_of(r, kEdu, 0x0) == fr::kContextNotPresent);
  CHECK(fields::get(r.unit.fault_record(0), vtd::fault::FRCD_F) == 0);
  CHECK(r.r32(vtd::reg::FSTS) == 0);
  t.root(0, 0);
  CHECK(fault_of(r, kEdu, 0x0) == fr::kRootNotPresent);
  CHECK(fields::get(r.unit.fault_record(0), vtd::fault::FRCD_FR) == fr::kRootNotPresent);
}

TEST_CASE("vtd dma: pass-through context entries (TT=10b, ECAP.PT) leave addresses untranslated") {
  Rig r(dma_config());
  Tables t{r};
  t.root(0, kCtx | 1);
  t.context(kEdu, 0x8 | 1, 5 << 8);
  enable_dma(r);
  CHECK(pa_of(r, kEdu, 0x123456, true) == 0x123456);
}

TEST_CASE("vtd dma: a cached IOTLB entry stays stale after the PTE changes until an IOTLB invalidation (register-based: domain and page-selective; queued: global)") {
  Rig r(dma_config(39, true));
  Tables t{r};
  const uint64_t slpt = t.device(kEdu, 1, 7);
  t.map(slpt, 3, 0x0, 0x800000);
  t.map(slpt, 3, 0x40'0000, 0xA00000);
  enable_dma(r);
  CHECK(pa_of(r, kEdu, 0x10) == 0x800010);
  CHECK(pa_of(r, kEdu, 0x40'0010) == 0xA00010);
  CHECK(r.unit.iotlb_size() == 2);
  t.map(slpt, 3, 0x0, 0x900000);
  t.map(slpt, 3, 0x40'0000, 0xB00000);
  CHECK(pa_of(r, kEdu, 0x10) == 0x800010);  // stale, as architected
  CHECK(r.sink.contains(EventKind::Hazard, "IOTLB serves a stale translation"));

  // Page-selective within domain 7 for page 0 only (IVA.AM=0): the other page stays stale.
  r.w64(vtd::reg::IVA, 0x0);
  r.w64(vtd::reg::IOTLB, (uint64_t{1} << 63) | (uint64_t{3} << 60) | (uint64_t{7} << 32));
  CHECK((r.r64(vtd::reg::IOTLB) >> 63) == 0);                  // IVT reads 0: done
  CHECK(((r.r64(vtd::reg::IOTLB) >> 57) & 3) == 3);            // IAIG: page-selective
  CHECK(pa_of(r, kEdu, 0x10) == 0x900010);
  CHECK(pa_of(r, kEdu, 0x40'0010) == 0xA00010);
  // Domain-selective for another domain drops nothing; for domain 7 everything.
  r.w64(vtd::reg::IOTLB, (uint64_t{1} << 63) | (uint64_t{2} << 60) | (uint64_t{8} << 32));
  CHECK(pa_of(r, kEdu, 0x40'0010) == 0xA00010);
  r.w64(vtd::reg::IOTLB, (uint64_t{1} << 63) | (uint64_t{2} << 60) | (uint64_t{7} << 32));
  CHECK(pa_of(r, kEdu, 0x40'0010) == 0xB00010);
  CHECK(pa_of(r, kEdu, 0x10) == 0x900010);  // cached again

  // Queued: a global IOTLB invalidate descriptor.
  t.map(slpt, 3, 0x0, 0xC00000);
  CHECK(pa_of(r, kEdu, 0x10) == 0x900010);
  r.enable_qi();
  r.submit({0x2 | 0x10, 0});
  CHECK(pa_of(r, kEdu, 0x10) == 0xC00010);
}

TEST_CASE("vtd dma: a cached context entry stays stale until a context-cache invalidation (CCMD device-selective, queued domain-selective)") {
  Rig r(dma_config(39, true));
  Tables t{r};
  const uint64_t slpt = t.device(kEdu, 1, 7);
  t.map(slpt, 3, 0x0, 0x800000);
  enable_dma(r);
  CHECK(pa_of(r, kEdu, 0x0) == 0x800000);
  CHECK(r.unit.context_cache_size() == 1);
  t.context(kEdu, 0, 0);  // the OS detaches the device
  CHECK(pa_of(r, kEdu, 0x0) == 0x800000);  // still served from the caches
  // CCMD: device-selective for 00:01.0 in domain 7 (ICC=1, CIRG=11b).
  r.w64(vtd::reg::CCMD, (uint64_t{1} << 63) | (uint64_t{3} << 61) | (uint64_t{kEdu} << 16) | 7);
  CHECK((r.r64(vtd::reg::CCMD) >> 63) == 0);
  CHECK(((r.r64(vtd::reg::CCMD) >> 59) & 3) == 3);  // CAIG
  CHECK(r.unit.context_cache_size() == 0);
  CHECK(fault_of(r, kEdu, 0x0) == fr::kContextNotPresent);

  // Queued: context entry back in domain 9, cached, changed, domain-selective invalidation.
  t.context(kEdu, slpt | 1, 1 | (9 << 8));
  CHECK(pa_of(r, kEdu, 0x0) == 0x800000);
  t.context(kEdu, slpt | 0x8 | 1, 9 << 8);  // now pass-through
  r.enable_qi();
  r.submit({0x1 | 0x20 | (uint64_t{8} << 16), 0});  // domain 8: not ours
  CHECK(r.unit.context_cache_size() == 1);
  r.submit({0x1 | 0x20 | (uint64_t{9} << 16), 0});
  CHECK(r.unit.context_cache_size() == 0);
  CHECK(pa_of(r, kEdu, 0x0) == 0x0);
}

TEST_CASE("vtd dma: after every kind of invalidation the cached translation equals a fresh walk (unit without caches as the reference)") {
  Rig cached(dma_config(39, true)), ref(dma_config(39, false));
  for (Rig* r : {&cached, &ref}) {
    Tables t{*r};
    const uint64_t slpt = t.device(kEdu, 1, 3);
    for (uint64_t p = 0; p < 8; ++p) t.map(slpt, 3, p << 12, 0x800000 + (p << 13));
    enable_dma(*r);
    for (uint64_t p = 0; p < 8; ++p) (void)pa_of(*r, kEdu, p << 12);
    for (uint64_t p = 0; p < 8; ++p) t.map(slpt, 3, p << 12, 0xA00000 + (p << 12));
    r->w64(vtd::reg::IVA, 0x4000 | 2);  // pages 4..7
    r->w64(vtd::reg::IOTLB, (uint64_t{1} << 63) | (uint64_t{3} << 60) | (uint64_t{3} << 32));
  }
  for (uint64_t p = 4; p < 8; ++p) CHECK(pa_of(cached, kEdu, p << 12) == pa_of(ref, kEdu, p << 12));
  cached.w64(vtd::reg::IOTLB, (uint64_t{1} << 63) | (uint64_t{1} << 60));
  for (uint64_t p = 0; p < 8; ++p) CHECK(pa_of(cached, kEdu, p << 12) == pa_of(ref, kEdu, p << 12));
}
