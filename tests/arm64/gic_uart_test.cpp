// The GICv3 distributor and PL011 as firmware probes them on QEMU virt.
#include <doctest/doctest.h>
#include <string>

#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/pl011.h"

using namespace irqremap::arm64;

TEST_CASE("gicd: TYPER advertises LPIs and 16 INTID bits; PIDR2 says GICv3 (IHI0069 §12.9.38)") {
  Gicv3Distributor d(4);
  const uint64_t typer = d.mmio_read(gicd::TYPER, 4);
  CHECK((typer >> 17 & 1) == 1);          // LPIS
  CHECK((typer >> 19 & 0x1F) == 15);      // IDbits = 16 - 1
  CHECK((d.mmio_read(gicd::PIDR2, 4) >> 4 & 0xF) == 3);
}

TEST_CASE("gicd: ITLinesNumber = 7, INTIDs up to 255: 224 SPIs, as QEMU 7.2 virt advertises (§12.9.38)") {
  Gicv3Distributor d(4);
  const uint64_t typer = d.mmio_read(gicd::TYPER, 4);
  CHECK((typer & 0x1F) == 7);
  // Linux 6.1 (irq-gic-v3.c): GICD_TYPER_SPIS = 32 * (ITLinesNumber + 1), less the 32
  // private INTIDs: "GICv3: 224 SPIs implemented", as on QEMU 7.2.
  CHECK(32 * ((typer & 0x1F) + 1) - 32 == 224);
}

TEST_CASE("gicd: the last SPI (255) keeps its state; the registers of INTIDs past it are RAZ/WI") {
  Gicv3Distributor d(1);
  d.mmio_write(gicd::ISENABLER + 4 * 7, 4, 0x8000'0001);  // INTIDs 224 and 255
  CHECK(d.mmio_read(gicd::ISENABLER + 4 * 7, 4) == 0x8000'0001);
  d.mmio_write(gicd::ISENABLER + 4 * 8, 4, 0xFFFF'FFFF);  // INTIDs 256..287 (QEMU 7.2 keeps these)
  CHECK(d.mmio_read(gicd::ISENABLER + 4 * 8, 4) == 0);
  d.mmio_write(gicd::IPRIORITYR + 252, 4, 0xa0b0'c0d0);   // 252..255
  CHECK(d.mmio_read(gicd::IPRIORITYR + 252, 4) == 0xa0b0'c0d0);
  d.mmio_write(gicd::IPRIORITYR + 254, 4, 0x1122'3344);   // 254, 255 kept; 256, 257 dropped
  CHECK(d.mmio_read(gicd::IPRIORITYR + 254, 4) == 0x3344);
  d.mmio_write(gicd::IROUTER + 8 * 255, 8, 0x3);
  d.mmio_write(gicd::IROUTER + 8 * 256, 8, 0x3);
  CHECK(d.mmio_read(gicd::IROUTER + 8 * 255, 8) == 0x3);
  CHECK(d.mmio_read(gicd::IROUTER + 8 * 256, 8) == 0);
  d.mmio_write(gicd::ICFGR + 4 * 15, 4, 0x8000'0000);      // INTIDs 240..255
  d.mmio_write(gicd::ICFGR + 4 * 16, 4, 0x8000'0000);      // INTIDs 256..271
  CHECK(d.mmio_read(gicd::ICFGR + 4 * 15, 4) == 0x8000'0000);
  CHECK(d.mmio_read(gicd::ICFGR + 4 * 16, 4) == 0);
  d.mmio_write(gicd::IGROUPR + 4 * 8, 4, 0xFFFF'FFFF);
  CHECK(d.mmio_read(gicd::IGROUPR + 4 * 8, 4) == 0);
}

TEST_CASE("gicd: CTLR keeps ARE and group enables, DS reads as one, RWP as zero (§12.9.4)") {
  Gicv3Distributor d(1);
  CHECK(d.mmio_read(gicd::CTLR, 4) == 0x40);
  d.mmio_write(gicd::CTLR, 4, 0x8000'0000u | 0x10 | 0x2 | 0x1);
  CHECK(d.mmio_read(gicd::CTLR, 4) == (0x40 | 0x10 | 0x2 | 0x1));
  CHECK(d.affinity_routing());
  CHECK(d.group1_enabled());
}

TEST_CASE("gicd: ISENABLER/ICENABLER set and clear SPI enables; SGI/PPI word is RAZ/WI with ARE") {
  Gicv3Distributor d(1);
  d.mmio_write(gicd::ISENABLER + 4, 4, 0x0000'00F0);
  d.mmio_write(gicd::ICENABLER + 4, 4, 0x0000'0030);
  CHECK(d.mmio_read(gicd::ISENABLER + 4, 4) == 0xC0);
  CHECK(d.mmio_read(gicd::ICENABLER + 4, 4) == 0xC0);
  d.mmio_write(gicd::ISENABLER, 4, 0xFFFF'FFFF);
  CHECK(d.mmio_read(gicd::ISENABLER, 4) == 0);
  d.mmio_write(gicd::IROUTER + 8 * 40, 4, 0x3);
  d.mmio_write(gicd::IROUTER + 8 * 40 + 4, 4, 0x1);
  CHECK(d.mmio_read(gicd::IROUTER + 8 * 40, 8) == 0x1'0000'0003ull);
}

TEST_CASE("pl011: UARTDR bytes go out; UARTFR reports TX empty and never busy (DDI0183 §3.3.3)") {
  std::string out;
  Pl011 u([&](char c) { out += c; });
  for (char c : std::string("hi\n")) u.mmio_write(Pl011::UARTDR, 4, uint8_t(c));
  CHECK(out == "hi\n");
  const uint64_t fr = u.mmio_read(Pl011::UARTFR, 4);
  CHECK((fr & Pl011::FR_TXFE) != 0);
  CHECK((fr & (Pl011::FR_TXFF | Pl011::FR_BUSY)) == 0);
  CHECK(u.mmio_read(Pl011::UARTPeriphID0, 4) == 0x11);
}
