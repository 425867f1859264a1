#pragma once
// A VT-d unit with guest RAM, a recording APIC bus and a recording trace, programmed the
// way a driver does it: through mmio_read/mmio_write (32-bit halves, GCMD one bit at a
// time while polling GSTS).
#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/msi.h"
#include "remap/trace.h"
#include "remap/vtd/apic_bus.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"
#include "remap/vtd/registers.h"
#include "remap/vtd/unit.h"

namespace vtdtest {

using namespace irqremap;

struct RecordingBus final : vtd::ApicBus {
  void deliver(const ApicDelivery& r) override { got.push_back(r); }
  std::vector<ApicDelivery> got;
};

inline constexpr uint64_t kIrt = 0x100000, kQueue = 0x200000, kPid = 0x300000, kStatus = 0x400000;
inline constexpr uint16_t kSid = make_rid(0, 3, 0);  // 00:03.0

// A remapped-format IRTE (§9.9): present, fixed, edge, physical unless changed.
struct IrteSpec {
  uint8_t vector = 0x41;
  uint32_t dst = 0x0300;  // xAPIC APIC 3 in DST[15:8]
  bool fpd = false, dm = false, rh = false, tm = false, present = true;
  uint8_t dlm = 0;
  uint16_t sid = kSid;
  uint8_t sq = 0, svt = 1;
};
inline vtd::Irte irte(const IrteSpec& s) {
  namespace f = vtd::irte;
  vtd::Irte e{};
  fields::set(e, f::P, s.present);
  fields::set(e, f::FPD, s.fpd);
  fields::set(e, f::DM, s.dm);
  fields::set(e, f::RH, s.rh);
  fields::set(e, f::TM, s.tm);
  fields::set(e, f::DLM, s.dlm);
  fields::set(e, f::V, s.vector);
  fields::set(e, f::DST, s.dst);
  fields::set(e, f::SID, s.sid);
  fields::set(e, f::SQ, s.sq);
  fields::set(e, f::SVT, s.svt);
  return e;
}
inline vtd::Irte posted_irte(uint8_t vv, uint64_t pda, bool urg = false, bool fpd = false) {
  namespace f = vtd::irte;
  vtd::Irte e{};
  fields::set(e, f::P, 1);
  fields::set(e, f::FPD, fpd);
  fields::set(e, f::IM_POSTED, 1);
  fields::set(e, f::URG, urg);
  fields::set(e, f::VV, vv);
  fields::set(e, f::PDA_L, (pda >> 6) & 0x3FFFFFF);
  fields::set(e, f::PDA_H, pda >> 32);
  fields::set(e, f::SVT, 0);
  return e;
}

inline MsiWrite msi(uint32_t handle, uint16_t sid = kSid, bool shv = false, uint32_t data = 0) {
  return MsiWrite{vtd::msi::remappable_address(handle, shv), data, sid};
}

struct Rig {
  explicit Rig(vtd::Config c = {}) : unit(mem, bus, trace, c) {
    REQUIRE(mem.add_ram(0, 0x1000000, "ram").has_value());
    trace.attach(&sink);
  }
  uint32_t r32(uint64_t off) { return uint32_t(unit.mmio_read(off, 4)); }
  void w32(uint64_t off, uint32_t v) { unit.mmio_write(off, 4, v); }
  // 64-bit register through two 32-bit halves, low first (Unicorn's split).
  void w64(uint64_t off, uint64_t v) {
    w32(off, uint32_t(v));
    w32(off + 4, uint32_t(v >> 32));
  }
  uint64_t r64(uint64_t off) { return r32(off) | (uint64_t(r32(off + 4)) << 32); }
  // §11.4.4.1: read GSTS, mask one-shot bits, change one bit, write GCMD.
  void gcmd(uint32_t bit, bool on = true) {
    uint32_t v = r32(vtd::reg::GSTS) & vtd::gcmd::kOneShotMask;
    w32(vtd::reg::GCMD, on ? v | bit : v & ~bit);
  }
  void set_table(uint64_t base = kIrt, unsigned s = 7, bool eime = false) {
    w64(vtd::reg::IRTA, base | (eime ? 1u << 11 : 0) | s);
    gcmd(1u << 24);  // SIRTP
    REQUIRE((r32(vtd::reg::GSTS) & (1u << 24)) != 0);
  }
  void enable(uint64_t base = kIrt, unsigned s = 7, bool eime = false) {
    set_table(base, s, eime);
    gcmd(1u << 25);  // IRE
    REQUIRE((r32(vtd::reg::GSTS) & (1u << 25)) != 0);
  }
  void put(uint32_t index, const vtd::Irte& e, uint64_t base = kIrt) {
    REQUIRE(mem.write64(base + 16 * index, e[0]).has_value());
    REQUIRE(mem.write64(base + 16 * index + 8, e[1]).has_value());
  }
  void enable_qi(unsigned qs = 0, bool dw = false) {
    w64(vtd::reg::IQA, kQueue | (dw ? 1u << 11 : 0) | qs);
    w64(vtd::reg::IQT, 0);
    gcmd(1u << 26);  // QIE
    REQUIRE((r32(vtd::reg::GSTS) & (1u << 26)) != 0);
  }
  // Writes a descriptor at IQT and advances IQT (wrapping), as Linux qi_submit_sync does.
  void submit(std::vector<uint64_t> d, bool dw = false, uint64_t entries = 256) {
    const unsigned words = dw ? 4 : 2;
    d.resize(words, 0);
    uint64_t tail = r64(vtd::reg::IQT) >> (dw ? 5 : 4);
    for (unsigned w = 0; w < words; ++w)
      REQUIRE(mem.write64(kQueue + tail * words * 8 + 8 * w, d[w]).has_value());
    tail = (tail + 1) % entries;
    w64(vtd::reg::IQT, tail << (dw ? 5 : 4));
  }
  static uint64_t iec_global() { return 0x4; }
  static uint64_t iec_index(uint32_t idx, unsigned im) {
    return 0x4 | 0x10 | (uint64_t(im) << 27) | (uint64_t(idx) << 32);
  }
  static std::vector<uint64_t> wait_sw(uint32_t data, uint64_t addr) {
    return {0x5 | 0x20 | (uint64_t(data) << 32), addr};
  }
  const Blocked* blocked(const Translation& t) { return std::get_if<Blocked>(&t); }

  GuestMemory mem;
  RecordingSink sink;
  Trace trace;
  RecordingBus bus;
  vtd::Unit unit;
};

}  // namespace vtdtest
