#pragma once
// A PCIe generic ECAM host bridge (QEMU's gpex, hw/pci-host/gpex.c, as the AArch64 `virt`
// machine has it; Linux's binding "pci-host-ecam-generic"): bus 0 with functions by
// device/function number, reached through three guest-physical windows.
//
//   ECAM   configuration space, PCI Express Base Specification 4.0 §7.2.2 (Enhanced
//          Configuration Access Mechanism): offset = bus << 20 | device << 15 |
//          function << 12 | register. Each function has 4 KiB; the functions here are
//          conventional (PCI Local Bus 3.0 header, 256 bytes), so registers 0x100..0xFFF
//          read all-ones and ignore writes, as QEMU's pci_host_config_read_common does
//          past pci_config_size(). A function that does not exist, or any bus but 0 (no
//          bridges here), reads all-ones (the master abort a scan looks for).
//   MMIO   memory BARs: an access at window offset o is PCI memory address mmio_pci_base + o;
//          a second, 64-bit window (virt's VIRT_HIGH_PCIE_MMIO) maps PCI memory addresses
//          1:1 (window offset o is PCI address mmio_high_base + o)
//   PIO    I/O BARs: on AArch64 the I/O space is memory-mapped too (virt's VIRT_PCIE_PIO);
//          window offset o is PCI I/O address o
// The device tree's `ranges` says how the windows translate (fdt_virt.cpp). An address no
// BAR decodes reads all-ones and drops writes. BARs decode only while the function's
// Command register enables memory / I/O decode (ConfigSpace::bar_address), so the guest's
// placement takes effect at the next access: no window is mapped or unmapped.
//
// Accesses of 8 bytes are two 4-byte ones (low half first); config accesses that cross
// the function's 256 bytes read all-ones / are dropped (ConfigSpace::read).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "arch/common/pci/pci_function.h"
#include "remap/mmio.h"
#include "remap/trace.h"

namespace irqremap::pci {

// devfn = device << 3 | function (PCI Local Bus 3.0 §3.2.2.3.2 numbering).
constexpr unsigned devfn(unsigned dev, unsigned fn) { return ((dev & 0x1F) << 3) | (fn & 7); }

class EcamHost {
 public:
  struct Layout {
    uint64_t ecam_size;      // bytes of the ECAM window (1 MiB per bus)
    uint64_t mmio_pci_base;  // PCI memory address of the MMIO window's first byte
    uint64_t mmio_size;
    uint64_t pio_size;       // the PIO window starts at PCI I/O address 0
    uint64_t mmio_high_base = 0;  // CPU and PCI address of the 64-bit window (size 0: none)
    uint64_t mmio_high_size = 0;
  };
  explicit EcamHost(const Layout& l);
  EcamHost(const EcamHost&) = delete;
  EcamHost& operator=(const EcamHost&) = delete;

  // Puts `f` at 00:dev.fn; false when the slot is taken.
  bool add(unsigned dev, unsigned fn, PciFunction& f);
  // Puts `f` at function 0 of the first free device slot (QEMU's placement for a
  // -device without addr=): the device number, or nullopt when bus 0 is full.
  std::optional<unsigned> add_next_free(PciFunction& f);
  PciFunction* function(unsigned devfn) const { return functions_.at(devfn & 0xFF); }

  // Configuration access to bus `bus`, function `devfn`, register `offset` (1, 2 or 4 bytes).
  uint32_t config_read(unsigned bus, unsigned devfn, unsigned offset, unsigned size) const;
  void config_write(unsigned bus, unsigned devfn, unsigned offset, unsigned size, uint32_t value);

  // The three windows, to be mapped where the machine's memory map puts them.
  MmioDevice& ecam() { return ecam_; }
  MmioDevice& mmio() { return mmio_; }
  MmioDevice& pio() { return pio_; }
  MmioDevice& mmio_high() { return mmio_high_; }

  Trace& trace() { return trace_; }

 private:
  class Ecam final : public MmioDevice {
   public:
    Ecam(EcamHost& h, uint64_t size) : h_(h), size_(size) {}
    std::string_view mmio_name() const override { return "pcie-ecam"; }
    uint64_t mmio_size() const override { return size_; }
    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

   private:
    EcamHost& h_;
    uint64_t size_;
  };
  // A BAR window: memory BARs (io = false) or I/O BARs.
  class BarWindow final : public MmioDevice {
   public:
    BarWindow(EcamHost& h, std::string_view name, bool io, uint64_t pci_base, uint64_t size)
        : h_(h), name_(name), io_(io), pci_base_(pci_base), size_(size) {}
    std::string_view mmio_name() const override { return name_; }
    uint64_t mmio_size() const override { return size_; }
    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

   private:
    EcamHost& h_;
    std::string_view name_;
    bool io_;
    uint64_t pci_base_, size_;
  };
  struct Hit {
    PciFunction* f = nullptr;
    unsigned bar = 0;
    uint64_t offset = 0;
  };
  Hit decode(bool io, uint64_t pci_address) const;

  std::array<PciFunction*, 256> functions_{};
  Ecam ecam_;
  BarWindow mmio_, pio_, mmio_high_;
  Trace trace_;
};

}  // namespace irqremap::pci
