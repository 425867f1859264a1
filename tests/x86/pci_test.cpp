// PCI on the x86 machine (PCI Local Bus Specification 3.0): configuration mechanism #1,
// type 0 headers, BAR sizing, the capability list, the q35 host bridge, QEMU's edu device
// (docs/specs/edu.rst) with its DMA and MSI through a real VT-d unit, the common device's
// PCI face, and PCI as SeaBIOS leaves it on q35.
#include <doctest/doctest.h>

#include <vector>

#include "arch/x86/io_port.h"
#include "arch/x86/pci/edu.h"
#include "arch/x86/pci/host_bridge.h"
#include "arch/x86/pci/msg_device_function.h"
#include "arch/x86/pci/pci_bus.h"
#include "arch/x86/pci/seabios_q35.h"
#include "remap/guest_memory.h"
#include "remap/vtd/unit.h"

using namespace irqremap;
using namespace irqremap::x86;
using namespace irqremap::x86::pci;

namespace {

constexpr uint32_t conf1(unsigned devfn, unsigned reg) { return 0x8000'0000u | (devfn << 8) | reg; }

struct Apics final : vtd::ApicBus {
  void deliver(const ApicDelivery& d) override { got.push_back(d); }
  std::vector<ApicDelivery> got;
};

struct MsiRecorder final : MsiSink {
  void msi_write(const MsiWrite& m) override { got.push_back(m); }
  std::vector<MsiWrite> got;
};

// The edu device on bus 0 with its MSIs and DMA through a VT-d unit, as the machine wires it.
struct Rig final : MsiSink, DmaTranslator {
  Rig() : unit(mem, apics, trace, vtd::Config{}), edu(mem, *this, *this, make_rid(0, 1, 0)) {
    REQUIRE(mem.add_ram(0, 0x100'0000, "ram").has_value());
    REQUIRE(io.add(PciBus::kConfigPort, bus));
    bus.add(0, 0, bridge);
    bus.add(1, 0, edu);
    const BarPlacement bars[] = {{0x08, 0, 0xFEA0'0000}};
    seabios_q35_setup(bus, bars);
    edu.connect_intx([this](bool level) { intx.push_back(level); });
  }
  void msi_write(const MsiWrite& m) override {
    msis.push_back(m);
    (void)unit.translate(m);
  }
  std::expected<Mapping, std::string> dma_translate(uint16_t rid, uint64_t iova, uint64_t size,
                                                    bool write) override {
    auto m = unit.translate_dma(rid, iova, size, write);
    if (!m) return std::unexpected(m.error().why);
    return Mapping{m->pa, m->length};
  }
  uint32_t cfg_read(unsigned devfn, unsigned reg, unsigned size) {
    io.out(0xCF8, 4, conf1(devfn, reg & 0xFC));
    return io.in(uint16_t(0xCFC + (reg & 3)), size);
  }
  void cfg_write(unsigned devfn, unsigned reg, unsigned size, uint32_t v) {
    io.out(0xCF8, 4, conf1(devfn, reg & 0xFC));
    io.out(uint16_t(0xCFC + (reg & 3)), size, v);
  }
  uint64_t mmio_read(uint64_t pa, unsigned size) { return bus.mmio_read(pa - bus.window_base(), size); }
  void mmio_write(uint64_t pa, unsigned size, uint64_t v) { bus.mmio_write(pa - bus.window_base(), size, v); }
  // A 64-bit register written as Unicorn delivers it: two 32-bit halves, low first.
  void mmio_write64(uint64_t pa, uint64_t v) {
    mmio_write(pa, 4, uint32_t(v));
    mmio_write(pa + 4, 4, uint32_t(v >> 32));
  }

  GuestMemory mem;
  Trace trace;
  Apics apics;
  vtd::Unit unit;
  IoPortBus io;
  PciBus bus{0xFEA0'0000, 0x20'0000};
  Q35HostBridge bridge;
  EduDevice edu;
  std::vector<MsiWrite> msis;
  std::vector<bool> intx;
};

constexpr uint64_t kBar = 0xFEA0'0000;

}  // namespace

TEST_CASE("pci conf1: CONFIG_ADDRESS latches on 32-bit writes to 0xCF8; data at 0xCFC..0xCFF by byte, word and dword (PCI 3.0 §3.2.2.3.2)") {
  Rig r;
  CHECK(r.cfg_read(0x00, 0x00, 4) == 0x29C0'8086u);
  CHECK(r.cfg_read(0x08, 0x00, 2) == 0x1234u);
  CHECK(r.cfg_read(0x08, 0x02, 2) == 0x11E8u);
  CHECK(r.cfg_read(0x08, 0x03, 1) == 0x11u);
  CHECK(r.io.in(0xCF8, 4) == conf1(0x08, 0));
  r.io.out(0xCF8, 1, 0);  // a byte write is not a CONFIG_ADDRESS write
  CHECK(r.io.in(0xCF8, 4) == conf1(0x08, 0));
  // No function at 00:02.0, bus 1, or with the enable bit clear: all-ones.
  CHECK(r.cfg_read(0x10, 0x00, 4) == 0xFFFF'FFFFu);
  r.io.out(0xCF8, 4, conf1(0x08, 0) | (1u << 16));
  CHECK(r.io.in(0xCFC, 2) == 0xFFFFu);
  r.io.out(0xCF8, 4, 0x0000'0800u);
  CHECK(r.io.in(0xCFC, 4) == 0xFFFF'FFFFu);
}

TEST_CASE("pci conf1: CONFIG_ADDRESS bits 1:0 select the byte with the data port's, as on QEMU (kvm-unit-tests pci_config_readw)") {
  Rig r;
  r.io.out(0xCF8, 4, conf1(0x08, 0x02));  // register 2: the Device ID
  CHECK(r.io.in(0xCF8, 4) == conf1(0x08, 0x02));
  CHECK(r.io.in(0xCFC, 2) == 0x11E8u);
  r.io.out(0xCF8, 4, conf1(0x08, 0x01));
  CHECK(r.io.in(0xCFE, 1) == 0x11u);  // register 1 | port offset 2 = byte 3, the Device ID high byte
}

TEST_CASE("pci: read-only header fields ignore writes; Command keeps only its writable bits; Status error bits are RW1C (PCI 3.0 §6.2)") {
  Rig r;
  r.cfg_write(0x08, 0x00, 4, 0);
  CHECK(r.cfg_read(0x08, 0x00, 4) == 0x11E8'1234u);
  r.cfg_write(0x08, 0x04, 2, 0xFFFF);
  CHECK(r.cfg_read(0x08, 0x04, 2) == 0x0507u);
  CHECK((r.cfg_read(0x08, 0x06, 2) & 0x10) != 0);  // capability list
  r.cfg_write(0x08, 0x06, 2, 0xFFFF);
  CHECK((r.cfg_read(0x08, 0x06, 2) & 0x10) != 0);
}

TEST_CASE("pci: BAR sizing as kvm-unit-tests pci_bar_size does it: write ~0, read the size mask, restore (PCI 3.0 §6.2.5.1)") {
  Rig r;
  const uint32_t bar = r.cfg_read(0x08, 0x10, 4);
  CHECK(bar == kBar);
  r.cfg_write(0x08, 0x10, 4, ~0u);
  const uint32_t mask = r.cfg_read(0x08, 0x10, 4);
  CHECK(mask == 0xFFF0'0000u);  // 1 MiB, 32-bit, non-prefetchable
  CHECK(~(mask & ~0xFu) + 1 == 0x10'0000u);
  r.cfg_write(0x08, 0x10, 4, bar);
  CHECK(r.cfg_read(0x08, 0x10, 4) == kBar);
  // An unimplemented BAR reads 0 and sizes to 0.
  r.cfg_write(0x08, 0x14, 4, ~0u);
  CHECK(r.cfg_read(0x08, 0x14, 4) == 0u);
  // A 64-bit BAR sizes through both halves.
  ConfigSpace c(0x1234, 0x5678, 0, 0);
  c.add_bar(2, BarKind::Mem64, uint64_t{1} << 33);
  c.write(0x18, 4, ~0u);
  c.write(0x1C, 4, ~0u);
  CHECK(c.read(0x18, 4) == 0x0000'0004u);
  CHECK(c.read(0x1C, 4) == 0xFFFF'FFFEu);
}

TEST_CASE("pci: the BAR decodes only with Command.MEMORY set; a moved BAR decodes at its new address") {
  Rig r;
  CHECK(r.mmio_read(kBar + EduDevice::ID, 4) == 0x0100'00EDu);
  r.cfg_write(0x08, 0x04, 2, 0x0004);  // memory space off
  CHECK(r.mmio_read(kBar + EduDevice::ID, 4) == 0xFFFF'FFFFu);
  r.cfg_write(0x08, 0x04, 2, 0x0006);
  r.cfg_write(0x08, 0x10, 4, 0xFEB0'0000u);
  CHECK(r.mmio_read(0xFEB0'0000 + EduDevice::ID, 4) == 0x0100'00EDu);
  CHECK(r.mmio_read(kBar + EduDevice::ID, 4) == 0xFFFF'FFFFu);
}

TEST_CASE("pci: the capability list of edu holds one 64-bit MSI capability at 0x40 (PCI 3.0 §6.7, §6.8.1)") {
  Rig r;
  CHECK(r.cfg_read(0x08, 0x34, 1) == 0x40u);
  CHECK(r.cfg_read(0x08, 0x40, 1) == 0x05u);
  CHECK(r.cfg_read(0x08, 0x41, 1) == 0x00u);  // end of list
  CHECK((r.cfg_read(0x08, 0x42, 2) & 0x80) != 0);  // 64 bit address capable
  CHECK(r.cfg_read(0x08, 0x0E, 1) == 0x00u);      // header type 0
  CHECK(r.cfg_read(0x08, 0x0A, 2) == 0x00FFu);    // class 00h, subclass FFh, as QEMU prints
}

TEST_CASE("pci seabios-q35: BARs placed, memory space and bus master on, Interrupt Line = SeaBIOS's rotation (slot 1 INTA -> IRQ 10)") {
  Rig r;
  CHECK(q35_intx_irq(1, 1) == 10);
  CHECK(q35_intx_irq(2, 1) == 11);
  CHECK(q35_intx_irq(3, 2) == 10);
  CHECK(q35_intx_irq(25, 1) == 10);
  CHECK(q35_intx_irq(4, 0) == 0);
  CHECK((r.cfg_read(0x08, 0x04, 2) & 0x6) == 0x6);
  CHECK(r.cfg_read(0x08, 0x3D, 1) == 1u);
  CHECK(r.cfg_read(0x08, 0x3C, 1) == 10u);
}

TEST_CASE("edu: identification, inverted liveness, factorial and the status bits (edu.rst)") {
  Rig r;
  CHECK(r.mmio_read(kBar + EduDevice::ID, 4) == 0x010000EDu);
  r.mmio_write(kBar + EduDevice::ALIVE, 4, 0x1234'5678);
  CHECK(r.mmio_read(kBar + EduDevice::ALIVE, 4) == 0xEDCB'A987u);
  r.mmio_write(kBar + EduDevice::FACTORIAL, 4, 10);
  CHECK((r.mmio_read(kBar + EduDevice::STATUS, 4) & 1) == 0);  // done at once: deterministic
  CHECK(r.mmio_read(kBar + EduDevice::FACTORIAL, 4) == 3628800u);
  // Only 4-byte accesses below 0x80.
  CHECK(r.mmio_read(kBar + EduDevice::ID, 2) == 0xFFFFu);
  r.mmio_write(kBar + EduDevice::ALIVE, 2, 0);
  CHECK(r.mmio_read(kBar + EduDevice::ALIVE, 4) == 0xEDCB'A987u);
  // Status bit 7: interrupt 0x1 when a factorial completes.
  r.mmio_write(kBar + EduDevice::STATUS, 4, 0x80);
  r.mmio_write(kBar + EduDevice::FACTORIAL, 4, 3);
  CHECK(r.mmio_read(kBar + EduDevice::INTR_STATUS, 4) == 0x1u);
}

TEST_CASE("edu: interrupt raise/ack drive INTA# (level while status != 0); Command.INTX_DISABLE masks the pin") {
  Rig r;
  r.mmio_write(kBar + EduDevice::INTR_RAISE, 4, 0x5);
  CHECK(r.mmio_read(kBar + EduDevice::INTR_STATUS, 4) == 0x5u);
  REQUIRE(r.intx == std::vector<bool>{true});
  CHECK((r.cfg_read(0x08, 0x06, 2) & 0x8) != 0);  // Status.INTERRUPT
  r.mmio_write(kBar + EduDevice::INTR_ACK, 4, 0x4);
  CHECK(r.intx.size() == 1);  // still 0x1 pending
  r.mmio_write(kBar + EduDevice::INTR_ACK, 4, 0x1);
  CHECK(r.intx == std::vector<bool>{true, false});
  r.cfg_write(0x08, 0x04, 2, 0x0406);  // INTx disable
  r.mmio_write(kBar + EduDevice::INTR_RAISE, 4, 0x1);
  CHECK(r.intx.size() == 2);
  CHECK(r.msis.empty());
}

TEST_CASE("edu: with MSI enabled a raise sends the programmed message with requester ID 00:01.0, remapped by VT-d") {
  Rig r;
  // A remapped IRTE 2 for vector 0xEE at APIC 0, SID = edu, as kvm-unit-tests vtd_setup_msi.
  constexpr uint64_t kIrt = 0x10'0000;
  REQUIRE(r.mem.write64(kIrt + 32, 1 | (0xEEull << 16)).has_value());
  REQUIRE(r.mem.write64(kIrt + 40, 0x0008 | (1ull << 18)).has_value());
  r.unit.mmio_write(vtd::reg::IRTA, 4, kIrt | 0xF);
  r.unit.mmio_write(vtd::reg::GCMD, 4, 1u << 24);
  r.unit.mmio_write(vtd::reg::GCMD, 4, 1u << 25);
  r.cfg_write(0x08, 0x44, 4, 0xFEE0'0050u);  // remappable: IF=1, handle 2
  r.cfg_write(0x08, 0x48, 4, 0);
  r.cfg_write(0x08, 0x4C, 2, 0);
  r.cfg_write(0x08, 0x42, 2, r.cfg_read(0x08, 0x42, 2) | 1);
  r.mmio_write(kBar + EduDevice::INTR_RAISE, 4, 1);
  REQUIRE(r.msis.size() == 1);
  CHECK(r.msis[0] == MsiWrite{0xFEE0'0050, 0, 0x0008});
  REQUIRE(r.apics.got.size() == 1);
  CHECK(r.apics.got[0].vector == 0xEE);
  CHECK(r.intx.empty());
}

TEST_CASE("edu: DMA RAM -> buffer -> RAM through VT-d second-level tables under requester ID 0x0008 (kvm-unit-tests DMAR 4B memcpy)") {
  Rig r;
  // Root at 0x200000, context table at 0x201000, 3-level table at 0x202000.., IOVA 0 -> 0x300000.
  REQUIRE(r.mem.write64(0x200000, 0x201000 | 1).has_value());
  REQUIRE(r.mem.write64(0x201000 + 16 * 0x08, 0x202000 | 2 | 1).has_value());  // FPD, P
  REQUIRE(r.mem.write64(0x201000 + 16 * 0x08 + 8, 1 | (8 << 8)).has_value());
  REQUIRE(r.mem.write64(0x202000, 0x203000 | 3).has_value());
  REQUIRE(r.mem.write64(0x203000, 0x204000 | 3).has_value());
  REQUIRE(r.mem.write64(0x204000, 0x300000 | 3).has_value());
  REQUIRE(r.mem.write32(0x300000, 0x1234'5678).has_value());
  r.unit.mmio_write(vtd::reg::RTADDR, 4, 0x200000);
  r.unit.mmio_write(vtd::reg::GCMD, 4, 1u << 30);
  r.unit.mmio_write(vtd::reg::GCMD, 4, 1u << 31);
  // RAM (IOVA 0) -> buffer offset 0, then buffer offset 0 -> RAM (IOVA 4).
  r.mmio_write64(kBar + EduDevice::DMA_SRC, 0);
  r.mmio_write64(kBar + EduDevice::DMA_DST, 0x40000);
  r.mmio_write64(kBar + EduDevice::DMA_COUNT, 4);
  r.mmio_write(kBar + EduDevice::DMA_CMD, 4, 1);
  CHECK((r.mmio_read(kBar + EduDevice::DMA_CMD, 4) & 1) == 0);
  CHECK(r.mmio_read(kBar + 0x40000, 4) == 0x1234'5678u);
  r.mmio_write64(kBar + EduDevice::DMA_SRC, 0x40000);
  r.mmio_write64(kBar + EduDevice::DMA_DST, 4);
  r.mmio_write(kBar + EduDevice::DMA_CMD, 4, 1 | 2 | 4);
  CHECK(r.mem.read32(0x300004).value() == 0x1234'5678u);
  CHECK(r.mmio_read(kBar + EduDevice::INTR_STATUS, 4) == EduDevice::DMA_IRQ);
  CHECK(r.edu.dma_transfers() == 2);
  // IOVA 0x1000 is not mapped: the transfer stops with a VT-d fault; FPD=1 keeps it unrecorded.
  r.mmio_write64(kBar + EduDevice::DMA_DST, 0x1000);
  r.mmio_write(kBar + EduDevice::DMA_CMD, 4, 1 | 2);
  CHECK(r.edu.dma_transfers() == 2);
  CHECK(r.unit.fsts() == 0);
}

TEST_CASE("edu: DMA needs bus master enable and stays inside the 4 KiB buffer") {
  Rig r;
  REQUIRE(r.mem.write32(0x1000, 0xCAFE'F00D).has_value());
  r.mmio_write64(kBar + EduDevice::DMA_SRC, 0x1000);
  r.mmio_write64(kBar + EduDevice::DMA_DST, 0x40FFE);
  r.mmio_write64(kBar + EduDevice::DMA_COUNT, 4);  // would run past the buffer
  r.mmio_write(kBar + EduDevice::DMA_CMD, 4, 1);
  CHECK(r.edu.dma_transfers() == 0);
  r.mmio_write64(kBar + EduDevice::DMA_DST, 0x40000);
  r.cfg_write(0x08, 0x04, 2, 0x0002);  // bus master off
  r.mmio_write(kBar + EduDevice::DMA_CMD, 4, 1);
  CHECK(r.edu.dma_transfers() == 0);
  r.cfg_write(0x08, 0x04, 2, 0x0006);
  r.mmio_write(kBar + EduDevice::DMA_CMD, 4, 1);  // TES=0: untranslated
  CHECK(r.edu.dma_transfers() == 1);
  CHECK(r.mmio_read(kBar + 0x40000, 4) == 0xCAFE'F00Du);
}

TEST_CASE("pci: the common device's function has its requester ID, BAR0 over its register window and an MSI-X capability describing the message store") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  MsiRecorder sink;
  device::DeviceConfig dc;
  dc.slots = 8;
  dc.source = make_rid(0, 3, 0);
  device::MsgDevice dev(mem, sink, dc);
  MsgDeviceFunction f(dev);
  PciBus bus(0xFEA0'0000, 0x20'0000);
  bus.add(3, 0, f);
  const BarPlacement bars[] = {{0x18, 0, 0xFEB0'0000}};
  seabios_q35_setup(bus, bars);
  CHECK(bus.config_read(0x18, 0, 4) == 0x494D'1234u);
  const unsigned cap = bus.config_read(0x18, 0x34, 1);
  CHECK(bus.config_read(0x18, cap, 1) == 0x11u);
  CHECK((bus.config_read(0x18, cap + 2, 2) & 0x7FF) == 7u);  // Table Size = slots - 1
  CHECK(bus.config_read(0x18, cap + 4, 4) == device::reg::SLOT_BASE);  // BIR 0
  CHECK(bus.mmio_read(0xFEB0'0000 - 0xFEA0'0000 + device::reg::ID, 4) == device::reg::kIdValue);
  CHECK(bus.config_read(0x18, 0x3D, 1) == 0u);  // no INTx
  // A slot written through the BAR fires with the device's requester ID.
  bus.mmio_write(0x10'0000 + device::reg::SLOT_BASE, 4, 0xFEE0'1000);
  bus.mmio_write(0x10'0000 + device::reg::SLOT_BASE + 8, 4, 0x41);
  bus.mmio_write(0x10'0000 + device::reg::SLOT_BASE + 12, 4, 0);  // ctrl: unmask
  bus.mmio_write(0x10'0000 + device::reg::TRIGGER, 4, 0);
  REQUIRE(sink.got.size() == 1);
  CHECK(sink.got[0].source == make_rid(0, 3, 0));
}
