#pragma once
// The machine's PCI bus 0: functions by device/function number, configuration
// mechanism #1 on I/O ports 0xCF8/0xCFC (PCI Local Bus Specification 3.0 §3.2.2.3.2), and
// the memory window in which the functions' memory BARs decode.
//
//   0xCF8  CONFIG_ADDRESS (32-bit accesses only): bit 31 enable, 23:16 bus, 15:11 device,
//          10:8 function, 7:2 register
//   0xCFC..0xCFF  CONFIG_DATA: 1, 2 or 4 bytes at register | (port - 0xCFC), register
//          bits 1:0 included as on QEMU (register_offset)
// A function that does not exist reads all-ones (a master abort), so a scan sees vendor
// 0xFFFF; so does an access with the enable bit clear or to another bus.
#include <array>
#include <cstdint>
#include <string_view>

#include "arch/x86/io_port.h"
#include "arch/x86/pci/generic.h"
#include "remap/mmio.h"
#include "remap/trace.h"

namespace irqremap::x86::pci {

class PciBus final : public IoPortDevice, public MmioDevice {
 public:
  static constexpr uint16_t kConfigPort = 0xCF8;

  // The memory window [window_base, window_base + window_size) where BARs may decode.
  PciBus(uint64_t window_base, uint64_t window_size) : base_(window_base), size_(window_size) {}

  // Adds a function at device `dev`, function `fn` (bus 0). False when the slot is taken.
  bool add(unsigned dev, unsigned fn, PciFunction& f);
  PciFunction* function(unsigned devfn) const { return functions_.at(devfn & 0xFF); }

  // Configuration access by devfn (what mechanism #1 resolves to).
  uint32_t config_read(unsigned devfn, unsigned offset, unsigned size) const;
  void config_write(unsigned devfn, unsigned offset, unsigned size, uint32_t value);

  // IoPortDevice: 0xCF8..0xCFF
  std::string_view io_name() const override { return "pci-conf1"; }
  uint16_t io_size() const override { return 8; }
  uint32_t io_in(uint16_t offset, unsigned size) override;
  void io_out(uint16_t offset, unsigned size, uint32_t value) override;

  // MmioDevice: the BAR window. Accesses no BAR decodes read all-ones, writes are dropped.
  std::string_view mmio_name() const override { return "pci-mmio"; }
  uint64_t mmio_size() const override { return size_; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;
  uint64_t window_base() const { return base_; }

  // Snapshot: CONFIG_ADDRESS and every function's state, by devfn.
  void state(snapshot::Io& io);

  Trace& trace() { return trace_; }

 private:
  struct Hit {
    PciFunction* f = nullptr;
    unsigned bar = 0;
    uint64_t offset = 0;
  };
  Hit decode(uint64_t pa) const;

  uint64_t base_, size_;
  uint32_t address_ = 0;  // CONFIG_ADDRESS latch
  unsigned register_offset(uint16_t port_offset) const;
  std::array<PciFunction*, 256> functions_{};
  Trace trace_;
};

}  // namespace irqremap::x86::pci
