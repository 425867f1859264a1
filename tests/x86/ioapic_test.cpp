// The I/O APIC (82093AA) in front of a real VT-d unit: compatibility-format entries as
// compatibility MSIs, remappable-format entries (VT-d §5.1.5.1) as remappable MSIs whose
// handle picks the IRTE, the requester-ID choice (none as QEMU, or a verified one), pin
// semantics (masked edges, level + Remote IRR + EOI) and the field tables.
#include <doctest/doctest.h>

#include <vector>

#include "arch/x86/ioapic.h"
#include "remap/guest_memory.h"
#include "remap/vtd/fault_format.h"
#include "remap/vtd/ioapic_rte_format.h"
#include "remap/vtd/unit.h"

using namespace irqremap;
using namespace irqremap::x86;
namespace rte = irqremap::vtd::ioapic_rte;

namespace {

struct Apics final : vtd::ApicBus {
  void deliver(const ApicDelivery& d) override { got.push_back(d); }
  std::vector<ApicDelivery> got;
};

constexpr uint64_t kIrt = 0x10'0000;
constexpr uint16_t kEdu = make_rid(0, 1, 0);

struct Rig final : MsiSink {
  explicit Rig(uint32_t source = kNoSourceId) : unit(mem, apics, trace, vtd::Config{}), ioapic(*this, source) {
    REQUIRE(mem.add_ram(0, 0x100'0000, "ram").has_value());
  }
  void msi_write(const MsiWrite& m) override {
    msis.push_back(m);
    outcomes.push_back(unit.translate(m));
  }
  void write_rte(unsigned pin, uint64_t e) {  // low half first, as kvm-unit-tests does
    ioapic.mmio_write(IoApic::IOREGSEL, 4, IoApic::IOREDTBL + 2 * pin);
    ioapic.mmio_write(IoApic::IOWIN, 4, uint32_t(e));
    ioapic.mmio_write(IoApic::IOREGSEL, 4, IoApic::IOREDTBL + 2 * pin + 1);
    ioapic.mmio_write(IoApic::IOWIN, 4, uint32_t(e >> 32));
  }
  uint32_t reg(uint32_t index) {
    ioapic.mmio_write(IoApic::IOREGSEL, 4, index);
    return uint32_t(ioapic.mmio_read(IoApic::IOWIN, 4));
  }
  // IRTE `index`: remapped, fixed, physical, vector, APIC dest, SVT=01 SID=sid (kvm-unit-tests vtd_setup_irte).
  void irte(unsigned index, uint8_t vector, uint8_t dest, uint16_t sid, bool level = false, bool fpd = true) {
    REQUIRE(mem.write64(kIrt + 16 * index, 1 | (fpd ? 2 : 0) | (level ? 0x10 : 0) | (uint64_t(vector) << 16) |
                                               (uint64_t(dest) << 40)).has_value());
    REQUIRE(mem.write64(kIrt + 16 * index + 8, sid | (1ull << 18)).has_value());
  }
  void enable_ir() {
    unit.mmio_write(vtd::reg::IRTA, 4, kIrt | 0xF);
    unit.mmio_write(vtd::reg::GCMD, 4, 1u << 24);
    unit.mmio_write(vtd::reg::GCMD, 4, 1u << 25);
  }
  static uint64_t remappable(uint16_t handle, uint8_t vector, bool level = false) {
    uint64_t e = vector;
    e = fields::set(e, rte::INDEX_15, handle >> 15);
    e = fields::set(e, rte::INDEX_LO, handle & 0x7FFF);
    e = fields::set(e, rte::IF_REMAP, 1);
    e = fields::set(e, rte::TRIGGER, level);
    return e;
  }

  GuestMemory mem;
  Trace trace;
  Apics apics;
  vtd::Unit unit;
  IoApic ioapic;
  std::vector<MsiWrite> msis;
  std::vector<Translation> outcomes;
};

}  // namespace

TEST_CASE("ioapic: IOAPICVER is version 20h with 24 entries, IOAPICID/ARB hold the ID; entries reset masked (82093AA §3.2)") {
  Rig r;
  CHECK(r.reg(IoApic::IOAPICVER) == 0x0017'0020u);
  r.ioapic.mmio_write(IoApic::IOREGSEL, 4, IoApic::IOAPICID);
  r.ioapic.mmio_write(IoApic::IOWIN, 4, 0x0500'0000);
  CHECK(r.reg(IoApic::IOAPICID) == 0x0500'0000u);
  CHECK(r.reg(IoApic::IOAPICARB) == 0x0500'0000u);
  for (unsigned pin = 0; pin < IoApic::kPins; ++pin) CHECK(fields::get(r.ioapic.rte(pin), rte::MASK) == 1);
  r.ioapic.set_irq(10, true);
  CHECK(r.msis.empty());  // an edge on a masked pin is lost
}

TEST_CASE("ioapic: a compatibility-format entry sends a compatibility MSI (DEST -> address 19:12, DESTMOD -> bit 2); with IR off VT-d passes it through") {
  Rig r;
  r.write_rte(10, 0x41 | (uint64_t{3} << 56));
  r.ioapic.set_irq(10, true);
  REQUIRE(r.msis.size() == 1);
  CHECK(r.msis[0].address == 0xFEE0'3000u);
  CHECK(r.msis[0].data == 0x41u);
  REQUIRE(r.apics.got.size() == 1);
  CHECK(r.apics.got[0].dest == 3);
  CHECK(r.apics.got[0].vector == 0x41);
  CHECK(!r.apics.got[0].remapped);
  r.ioapic.set_irq(10, true);  // no new edge
  CHECK(r.msis.size() == 1);
}

TEST_CASE("ioapic: a remappable entry (IF=1, handle in 63:49 and 11) becomes a remappable MSI; VT-d remaps it through the IRTE (VT-d §5.1.5.1)") {
  Rig r;
  r.enable_ir();
  r.irte(1, 0xED, 2, kEdu);
  const uint64_t e = Rig::remappable(1, 0xED);
  CHECK(rte::handle(e) == 1);
  r.write_rte(10, e);
  r.ioapic.set_irq(10, true);
  REQUIRE(r.msis.size() == 1);
  CHECK(r.msis[0].address == 0xFEE0'0030u);  // IF (bit 4) and handle[14:0] in 19:5
  CHECK(r.msis[0].source == kNoSourceId);
  REQUIRE(r.apics.got.size() == 1);
  CHECK(r.apics.got[0].vector == 0xED);
  CHECK(r.apics.got[0].dest == 2);
  CHECK(r.apics.got[0].remapped);
  // Handle bit 15 travels in entry bit 11 -> address bit 2.
  const MsiWrite hi = rte::ioapic_msi(Rig::remappable(0x8001, 0x30), kNoSourceId);
  CHECK(hi.address == (0xFEE0'0030u | 0x4u));
}

TEST_CASE("ioapic: with no requester ID (QEMU's default) VT-d skips source-ID verification; with its own source ID the IRTE's SID check applies (fault 26h)") {
  {
    Rig r;  // QEMU-compatible: the IRTE names edu's SID and still delivers
    r.enable_ir();
    r.irte(1, 0xED, 0, kEdu);
    r.write_rte(10, Rig::remappable(1, 0xED));
    r.ioapic.set_irq(10, true);
    CHECK(r.apics.got.size() == 1);
  }
  {
    Rig r(make_rid(0xF0, 0x1F, 0));  // verified source ID, as on hardware
    r.enable_ir();
    r.irte(1, 0xED, 0, kEdu, false, /*fpd=*/false);
    r.write_rte(10, Rig::remappable(1, 0xED));
    r.ioapic.set_irq(10, true);
    CHECK(r.apics.got.empty());
    REQUIRE(r.outcomes.size() == 1);
    CHECK(std::get<Blocked>(r.outcomes[0]).reason == 0x26);
    CHECK(fields::get(r.unit.fault_record(0), vtd::fault::FRCD_SID) == make_rid(0xF0, 0x1F, 0));
    r.irte(2, 0xED, 0, make_rid(0xF0, 0x1F, 0));
    r.write_rte(11, Rig::remappable(2, 0xED));
    r.ioapic.set_irq(11, true);
    CHECK(r.apics.got.size() == 1);
  }
}

TEST_CASE("ioapic: a level entry sends once and sets Remote IRR; the EOI register clears it and re-sends while the line is high") {
  Rig r;
  r.enable_ir();
  r.irte(3, 0x55, 1, kEdu, /*level=*/true);
  r.write_rte(4, Rig::remappable(3, 0x55, true));
  r.ioapic.set_irq(4, true);
  r.ioapic.set_irq(4, true);
  CHECK(r.apics.got.size() == 1);
  CHECK(fields::get(r.ioapic.rte(4), rte::RIRR) == 1);
  CHECK(r.apics.got[0].level);
  r.ioapic.mmio_write(IoApic::EOI, 4, 0x55);
  CHECK(r.apics.got.size() == 2);  // still asserted
  r.ioapic.set_irq(4, false);
  r.ioapic.mmio_write(IoApic::EOI, 4, 0x55);
  CHECK(fields::get(r.ioapic.rte(4), rte::RIRR) == 0);
  CHECK(r.apics.got.size() == 2);
  // Writing the entry keeps Remote IRR; switching it to edge clears it.
  r.ioapic.set_irq(4, true);
  CHECK(fields::get(r.ioapic.rte(4), rte::RIRR) == 1);
  r.write_rte(4, Rig::remappable(3, 0x55, true));
  CHECK(fields::get(r.ioapic.rte(4), rte::RIRR) == 1);
  r.write_rte(4, Rig::remappable(3, 0x55, false));
  CHECK(fields::get(r.ioapic.rte(4), rte::RIRR) == 0);
}

TEST_CASE("ioapic formats: the family picks compatibility or remappable by bit 48; reserved bits and the 000b field are flagged") {
  const uint64_t compat = 0x41 | (uint64_t{3} << 56);
  const std::array<uint64_t, 1> c{compat}, m{Rig::remappable(0x1234, 0x30)};
  CHECK(rte::select(c) == &rte::kCompat);
  CHECK(rte::select(m) == &rte::kRemappable);
  CHECK(fields::decode(rte::kCompat, c).ok());
  CHECK(fields::decode(rte::kCompat, c).get("DEST") == 3u);
  const auto dm = fields::decode(rte::kRemappable, m);
  CHECK(dm.ok());
  CHECK(dm.get("Interrupt_Index[14:0]") == 0x1234u);
  const std::array<uint64_t, 1> bad{Rig::remappable(1, 0x30) | (1u << 8) | (uint64_t{1} << 20)};
  const auto db = fields::decode(rte::kRemappable, bad);
  CHECK(db.has_problem_with("000"));
  CHECK(db.has_problem_with("Rsvd"));
}
