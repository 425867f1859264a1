#pragma once
// QEMU's pc-testdev (hw/misc/pc-testdev.c), the ISA test device kvm-unit-tests' x86 runner
// adds to every test (`-device pc-testdev`). Always present on this machine; none of its
// ports collide with q35's. What a guest can observe of it:
//
//   I/O 0x00E0..0x00E3  a 32-bit scratch register: an access of n bytes at 0xE0 + k reads
//                       or writes bytes k..k+n-1 of it (bytes past 0xE3 are dropped)
//   I/O 0x00E4          "flush page": a 32-bit write of a guest-physical address; on QEMU
//                       it mprotects the host page to exercise KVM's MMU. Nothing a guest
//                       can see: accepted and ignored; reads all ones (no read side)
//   I/O 0x00E8..0x00EB  the same scratch register, performed one byte at a time: byte i of
//                       an access at 0xE8 + k is register byte (k + i) mod 4
//   I/O 0x2000..0x2017  one port per ISA interrupt line: a 1-byte write of v sets line n =
//                       port - 0x2000 to (v != 0); other widths are ignored (QEMU's region
//                       is valid for 1-byte accesses only); reads all ones (no read side)
//   0xFF00_0000 64 KiB  "iomem": plain read/write bytes behind an MMIO region
//
// The lines go to the I/O APIC as on a PC: ISA IRQ n to input n, except IRQ 0 (the PIT's),
// which is wired to input 2 (QEMU hw/intc/ioapic.c ioapic_set_irq; the interrupt source
// override every PC's MADT carries). Lines 16..23, which QEMU's ISA bus would refuse with
// an assertion, reach I/O APIC inputs 16..23. There is no 8259 PIC: kvm-unit-tests masks
// it and nothing here routes to it.
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "arch/x86/io_port.h"
#include "remap/mmio.h"

namespace irqremap::x86 {

class PcTestdev {
 public:
  static constexpr uint16_t kPortBase = 0xE0, kPortSize = 12;  // 0xE0..0xEB
  static constexpr uint16_t kFlushOffset = 4, kByteOffset = 8;
  static constexpr uint16_t kIrqBase = 0x2000, kIrqLines = 24;
  static constexpr uint64_t kIomemBase = 0xFF00'0000, kIomemSize = 0x1'0000;

  // `set_irq(pin, level)` drives an I/O APIC input.
  explicit PcTestdev(std::function<void(unsigned pin, bool level)> set_irq);

  // The I/O APIC input ISA line `line` is wired to (see above).
  static unsigned ioapic_pin(unsigned line) { return line == 0 ? 2 : line; }

  // The same lines as ISA IRQs 0-15, for the 8259s (pic8259.h): on a PC every ISA line
  // reaches both interrupt controllers (QEMU hw/i386/pc.c gsi_handler).
  void set_isa_irq(std::function<void(unsigned line, bool level)> f) { isa_irq_ = std::move(f); }
  IoPortDevice& ports() { return ports_; }        // at kPortBase
  IoPortDevice& irq_ports() { return irq_; }       // at kIrqBase
  MmioDevice& iomem() { return iomem_; }           // at kIomemBase
  uint32_t scratch() const { return scratch_; }

 private:
  struct Ports final : IoPortDevice {
    PcTestdev& d;
    explicit Ports(PcTestdev& dev) : d(dev) {}
    std::string_view io_name() const override { return "pc-testdev"; }
    uint16_t io_size() const override { return kPortSize; }
    uint32_t io_in(uint16_t offset, unsigned size) override;
    void io_out(uint16_t offset, unsigned size, uint32_t value) override;
  };
  struct IrqPorts final : IoPortDevice {
    PcTestdev& d;
    explicit IrqPorts(PcTestdev& dev) : d(dev) {}
    std::string_view io_name() const override { return "pc-testdev-irq-line"; }
    uint16_t io_size() const override { return kIrqLines; }
    uint32_t io_in(uint16_t, unsigned size) override { return size >= 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1; }
    void io_out(uint16_t offset, unsigned size, uint32_t value) override {
      if (size != 1) return;
      d.set_irq_(ioapic_pin(offset), (value & 0xFF) != 0);
      if (offset < 16 && d.isa_irq_) d.isa_irq_(offset, (value & 0xFF) != 0);
    }
  };
  struct Iomem final : MmioDevice {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(kIomemSize);
    std::string_view mmio_name() const override { return "pc-testdev-iomem"; }
    uint64_t mmio_size() const override { return kIomemSize; }
    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;
  };

  std::function<void(unsigned, bool)> set_irq_;
  std::function<void(unsigned, bool)> isa_irq_;
  uint32_t scratch_ = 0;
  Ports ports_{*this};
  IrqPorts irq_{*this};
  Iomem iomem_;
};

}  // namespace irqremap::x86
