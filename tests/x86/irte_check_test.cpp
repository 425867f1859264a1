// The machine's hazard watch: a delivery that disagrees with the IRTE in memory is a
// stale IEC entry (H5); fault 22h on a remappable MSI is a lost in-flight interrupt (H4).
#include <doctest/doctest.h>

#include "arch/x86/irte_check.h"
#include "remap/vtd/msi_format.h"

using namespace irqremap;

namespace {
constexpr uint64_t kIrt = 0x1000;
const vtd::IrState kIrta{.ire = true, .cfis = false, .eime = false, .irt_base = kIrt, .irt_entries = 256, .posted = false};
void irte(GuestMemory& m, uint32_t index, uint32_t apic, uint8_t vector, bool present = true) {
  REQUIRE(m.write64(kIrt + 16 * index, (present ? 1u : 0u) | (uint64_t(vector) << 16) |
                                           (uint64_t(apic) << 40)));
}
ApicDelivery to(uint32_t apic, uint8_t vector) {
  ApicDelivery d;
  d.dest = apic;
  d.vector = vector;
  return d;
}
const MsiWrite kMsi{vtd::msi::remappable_address(0x20, true), 0, 0x18};
}  // namespace

TEST_CASE("hazard watch: a delivery matching the IRTE in memory is not a hazard") {
  GuestMemory m;
  REQUIRE(m.add_ram(0, 0x10000, "ram"));
  irte(m, 0x20, 1, 0x50);
  CHECK_FALSE(x86::remap_hazard(m, kIrta, kMsi, Translation{to(1, 0x50)}));
  // SHV subhandle selects the entry: index 0x21 for data 1.
  irte(m, 0x21, 2, 0x51);
  CHECK_FALSE(x86::remap_hazard(m, kIrta, MsiWrite{kMsi.address, 1, 0x18}, Translation{to(2, 0x51)}));
}

TEST_CASE("hazard watch: delivered to the old APIC after the IRTE changed = stale IEC entry (VT-d §6.5.2.8)") {
  GuestMemory m;
  REQUIRE(m.add_ram(0, 0x10000, "ram"));
  irte(m, 0x20, 2, 0x51);
  auto h = x86::remap_hazard(m, kIrta, kMsi, Translation{to(1, 0x50)});
  REQUIRE(h);
  CHECK(h->find("stale translation: IRTE 0x20 delivered to APIC 0x1 vector 0x50") != std::string::npos);
  CHECK(h->find("APIC 0x2 vector 0x51") != std::string::npos);
}

TEST_CASE("hazard watch: fault 22h on a remappable MSI = in-flight interrupt lost (VT-d §5.1.4.1)") {
  GuestMemory m;
  REQUIRE(m.add_ram(0, 0x10000, "ram"));
  irte(m, 0x20, 1, 0x50, false);
  auto h = x86::remap_hazard(m, kIrta, kMsi, Translation{Blocked{0x22, "P=0", true}});
  REQUIRE(h);
  CHECK(h->find("in-flight MSI lost: IRTE 0x20 had P=0") != std::string::npos);
  CHECK_FALSE(x86::remap_hazard(m, kIrta, kMsi, Translation{Blocked{0x26, "SID", true}}));
  // Compatibility-format messages are not the watch's business.
  CHECK_FALSE(x86::remap_hazard(m, kIrta, MsiWrite{0xFEE0'0000u, 0x41, 0}, Translation{to(0, 0x41)}));
}
