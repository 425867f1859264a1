// SPIs through the distributor (arch/arm64/gicv3_distributor.h; Arm IHI0069 §4.1 the
// interrupt life cycle, §12.9 GICD_* registers): level-sensitive and edge-triggered inputs,
// GICD_IROUTER<n> routing to one PE or one of N, priority against a PPI, and PCI INTx of
// virtio-rng-pci arriving as the SPI the device tree's interrupt-map names.
#include <doctest/doctest.h>

#include <memory>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "arch/arm64/virt_map.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

constexpr uint32_t kSpi = 36;

// Two PEs with Group 1 on and PMR letting everything through; the distributor with
// affinity routing and Group 1 enabled, SPI 36 enabled, Group 1, priority 0x80.
struct Rig {
  GuestMemory mem;
  Trace trace;
  Gicv3Distributor gicd{2};
  std::unique_ptr<Redistributors> rds;
  std::unique_ptr<GicCpuInterface> cpu[2];
  Rig() {
    REQUIRE(mem.add_ram(0x4000'0000, 0x10'0000, "ram"));
    rds = std::make_unique<Redistributors>(mem, 2, 0x080A'0000, [](unsigned n) { return virt::mpidr_affinity(n); });
    gicd.mmio_write(gicd::CTLR, 4, (1u << 4) | (1u << 1));  // ARE, EnableGrp1
    for (unsigned c = 0; c < 2; ++c) {
      cpu[c] = std::make_unique<GicCpuInterface>(c, *rds, gicd, trace);
      cpu[c]->write(icc::PMR_EL1, 0xf8);
      cpu[c]->write(icc::IGRPEN1_EL1, 1);
    }
    gicd.mmio_write(gicd::IGROUPR + 4, 4, 1u << (kSpi - 32));
    gicd.mmio_write(gicd::ISENABLER + 4, 4, 1u << (kSpi - 32));
    gicd.mmio_write(gicd::IPRIORITYR + kSpi, 1, 0x80);
    route(1, false);
  }
  void route(uint64_t affinity, bool one_of_n) {
    gicd.mmio_write(gicd::IROUTER + 8 * kSpi, 4, uint32_t(affinity) | (one_of_n ? 1u << 31 : 0));
  }
  void edge() { gicd.mmio_write(gicd::ICFGR + 4 * (kSpi / 16), 4, 2u << (2 * (kSpi % 16))); }
  uint32_t ack(unsigned c) { return uint32_t(*cpu[c]->read(icc::IAR1_EL1)); }
  void eoi(unsigned c, uint32_t intid) { cpu[c]->write(icc::EOIR1_EL1, intid); }
  bool signalled(unsigned c) { return cpu[c]->signalled().has_value(); }
  uint32_t ispendr() { return uint32_t(gicd.mmio_read(gicd::ISPENDR + 4, 4)); }
};

}  // namespace

TEST_CASE("GICv3 SPI: a level-sensitive SPI is pending while its line is high, goes to the PE its IROUTER names, and comes back after EOI while still high") {
  Rig r;
  CHECK_FALSE(r.signalled(1));
  r.gicd.set_spi_level(kSpi, true);
  CHECK(((r.ispendr() >> (kSpi - 32)) & 1) == 1);
  CHECK_FALSE(r.signalled(0));  // routed to affinity 0.0.0.1: CPU 1 only
  REQUIRE(r.signalled(1));
  CHECK(r.ack(1) == kSpi);
  CHECK(r.gicd.spi_active(kSpi));
  CHECK_FALSE(r.signalled(1));  // active: not offered again
  r.eoi(1, kSpi);               // EOImode 0: priority drop and deactivation
  CHECK_FALSE(r.gicd.spi_active(kSpi));
  CHECK(r.signalled(1));        // the line is still high (§4.1.1)
  // GICD_ICPENDR clears the latch, not a high line.
  r.gicd.mmio_write(gicd::ICPENDR + 4, 4, 1u << (kSpi - 32));
  CHECK(r.signalled(1));
  r.gicd.set_spi_level(kSpi, false);
  CHECK_FALSE(r.signalled(1));
  CHECK(r.cpu[1]->read(icc::IAR1_EL1) == icc::kSpurious);
}

TEST_CASE("GICv3 SPI: an edge-triggered SPI latches a rising edge, acknowledging clears it, and an edge while active makes it active and pending") {
  Rig r;
  r.edge();
  r.gicd.set_spi_level(kSpi, true);
  r.gicd.set_spi_level(kSpi, false);
  REQUIRE(r.signalled(1));  // latched though the line fell
  CHECK(r.ack(1) == kSpi);
  CHECK_FALSE(r.gicd.spi_pending(kSpi));
  r.gicd.set_spi_level(kSpi, true);  // a new edge while active
  CHECK(r.gicd.spi_pending(kSpi));
  CHECK(r.gicd.spi_active(kSpi));
  CHECK_FALSE(r.signalled(1));
  r.eoi(1, kSpi);
  CHECK(r.ack(1) == kSpi);
  // A GICD_ISPENDR write pends it too.
  r.eoi(1, kSpi);
  r.gicd.mmio_write(gicd::ISPENDR + 4, 4, 1u << (kSpi - 32));
  CHECK(r.ack(1) == kSpi);
}

TEST_CASE("GICv3 SPI: IRM=1 offers it to every PE and the first to acknowledge takes it; disabled, Group 0 or without ARE it reaches none") {
  Rig r;
  r.route(0, true);
  r.gicd.set_spi_level(kSpi, true);
  CHECK(r.signalled(0));
  CHECK(r.signalled(1));
  CHECK(r.ack(0) == kSpi);
  CHECK_FALSE(r.signalled(1));
  r.eoi(0, kSpi);
  r.gicd.mmio_write(gicd::ICENABLER + 4, 4, 1u << (kSpi - 32));
  CHECK_FALSE(r.signalled(0));
  r.gicd.mmio_write(gicd::ISENABLER + 4, 4, 1u << (kSpi - 32));
  r.gicd.mmio_write(gicd::IGROUPR + 4, 4, 0);  // Group 0: never signalled as Group 1
  CHECK_FALSE(r.signalled(0));
  r.gicd.mmio_write(gicd::IGROUPR + 4, 4, 1u << (kSpi - 32));
  r.gicd.mmio_write(gicd::CTLR, 4, 1u << 1);  // ARE = 0
  CHECK_FALSE(r.signalled(0));
}

TEST_CASE("GICv3 SPI: a higher-priority SPI beats a pending PPI, a lower one waits behind it") {
  Rig r;
  r.route(0, false);
  (*r.rds)[0].mmio_write(gicr::ISENABLER0, 4, 1u << 27);
  (*r.rds)[0].mmio_write(gicr::IPRIORITYR + 27, 1, 0xa0);
  (*r.rds)[0].set_ppi_level(27, true);
  r.gicd.set_spi_level(kSpi, true);
  CHECK(r.ack(0) == kSpi);  // 0x80 beats 0xa0
  r.eoi(0, kSpi);
  r.gicd.mmio_write(gicd::IPRIORITYR + kSpi, 1, 0xc0);
  CHECK(r.ack(0) == 27);
}

TEST_CASE("virtio-rng-pci INTx on the arm64 machine: with MSI-X off, a used buffer asserts SPI 3 + (slot + pin - 1) % 4 and an ISR read drops it") {
  arm64::Arm64MachineConfig cfg;
  cfg.pci_devices = {"virtio-rng-pci"};
  cfg.device = false;
  auto made = arm64::Arm64Machine::create(cfg);
  REQUIRE(made);
  arm64::Arm64Machine& m = **made;
  pci::EcamHost& host = m.pcie();
  const unsigned df = pci::devfn(1, 0);
  const uint32_t intid = 32 + virt::kPcieIrqBase + (1 + 1 - 1) % 4;  // slot 1, INTA: SPI 4
  host.config_write(0, df, pci::cfg::BAR0 + 16, 4, 0);
  host.config_write(0, df, pci::cfg::BAR0 + 20, 4, 0x80);
  host.config_write(0, df, pci::cfg::COMMAND, 2, 0x0406);  // memory, bus master, INTx disabled
  auto common = [&](uint64_t off, unsigned size, uint64_t v) { host.mmio_high().mmio_write(off, size, v); };
  constexpr uint64_t kDesc = 0x4010'0000, kAvail = 0x4010'1000, kUsed = 0x4010'2000, kBuf = 0x4010'3000;
  common(0x14, 1, 3);
  common(0x08, 4, 1);
  common(0x0C, 4, 1);  // VERSION_1
  common(0x14, 1, 11);
  for (auto [off, a] : {std::pair<uint64_t, uint64_t>{0x20, kDesc}, {0x28, kAvail}, {0x30, kUsed}}) common(off, 4, a);
  common(0x1C, 2, 1);
  common(0x14, 1, 15);
  REQUIRE(m.memory().write64(kDesc, kBuf));
  REQUIRE(m.memory().write32(kDesc + 8, 8));
  REQUIRE(m.memory().write16(kDesc + 12, 2));
  REQUIRE(m.memory().write16(kAvail + 2, 1));
  common(0x3000, 2, 0);  // notify queue 0
  CHECK(m.memory().read16(kUsed + 2).value() == 1);
  CHECK_FALSE(m.distributor().spi_pending(intid));  // Command.INTX_DISABLE holds it
  host.config_write(0, df, pci::cfg::COMMAND, 2, 0x0006);
  CHECK(m.distributor().spi_pending(intid));  // released at once (PCI 3.0 §6.2.2)
  CHECK(host.mmio_high().mmio_read(0x1000, 1) == 1);  // ISR: queue interrupt; the read clears
  CHECK_FALSE(m.distributor().spi_pending(intid));
}
