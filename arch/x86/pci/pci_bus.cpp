#include "arch/x86/pci/pci_bus.h"

#include <fmt/format.h>

#include "snapshot/state_io.h"

namespace irqremap::x86::pci {

bool PciBus::add(unsigned dev, unsigned fn, PciFunction& f) {
  const unsigned devfn = ((dev & 0x1F) << 3) | (fn & 7);
  if (functions_[devfn] != nullptr) return false;
  functions_[devfn] = &f;
  return true;
}

uint32_t PciBus::config_read(unsigned devfn, unsigned offset, unsigned size) const {
  const PciFunction* f = functions_.at(devfn & 0xFF);
  if (f == nullptr) return size >= 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1;
  return f->config().read(offset, size);
}

void PciBus::config_write(unsigned devfn, unsigned offset, unsigned size, uint32_t value) {
  PciFunction* f = functions_.at(devfn & 0xFF);
  if (f == nullptr) return;
  f->config().write(offset, size, value);
  f->config_written(offset, size);
  trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, "pci",
                 fmt::format("config write {:02x}.{:x} [{:#04x}] ({} bytes) = {:#x} ({})", devfn >> 3,
                             devfn & 7, offset, size, value, f->pci_name()),
                 {{"devfn", devfn}, {"offset", offset}, {"value", value}}};
  });
}

unsigned PciBus::register_offset(uint16_t port_offset) const {
  // The PCI specification reserves CONFIG_ADDRESS bits 1:0 and takes the byte from the
  // data port (0xCFC + n). QEMU's q35 host bridge (hw/pci/pci_host.c, pci_host_data_read)
  // ORs the latched bits 1:0 into the port's, so `outl(0x80000802, 0xCF8); inw(0xCFC)`
  // reads the Device ID there; kvm-unit-tests' pci_config_readw does exactly that, so the
  // machine behaves as QEMU does (README "PCI").
  return (address_ & 0xFF) | ((port_offset - 4u) & 3u);
}

uint32_t PciBus::io_in(uint16_t offset, unsigned size) {
  const uint32_t none = size >= 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1;
  if (offset < 4) return offset == 0 && size == 4 ? address_ : none;
  // Enable bit clear or a bus other than 0: nothing answers.
  if (!(address_ & 0x8000'0000u) || ((address_ >> 16) & 0xFF) != 0) return none;
  return config_read((address_ >> 8) & 0xFF, register_offset(offset), size);
}

void PciBus::io_out(uint16_t offset, unsigned size, uint32_t value) {
  if (offset < 4) {
    // Only a 32-bit write to 0xCF8 is a CONFIG_ADDRESS write (§3.2.2.3.2). Bits 1:0 are
    // kept, as QEMU keeps them (see register_offset).
    if (offset == 0 && size == 4) address_ = value;
    return;
  }
  if (!(address_ & 0x8000'0000u) || ((address_ >> 16) & 0xFF) != 0) return;
  config_write((address_ >> 8) & 0xFF, register_offset(offset), size, value);
}

PciBus::Hit PciBus::decode(uint64_t pa) const {
  for (PciFunction* f : functions_) {
    if (f == nullptr) continue;
    for (unsigned n = 0; n < 6; ++n) {
      const BarInfo& b = f->config().bar(n);
      if (b.kind == BarKind::Io) continue;
      const auto a = f->config().bar_address(n);
      if (a && pa >= *a && pa - *a < b.size) return Hit{f, n, pa - *a};
    }
  }
  return {};
}

uint64_t PciBus::mmio_read(uint64_t offset, unsigned size) {
  const Hit h = decode(base_ + offset);
  if (h.f == nullptr) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "pci",
                   fmt::format("read at {:#x}: no BAR decodes it (master abort, all-ones)", base_ + offset), {}};
    });
    return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  }
  return h.f->bar_read(h.bar, h.offset, size);
}

void PciBus::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  const Hit h = decode(base_ + offset);
  if (h.f == nullptr) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "pci",
                   fmt::format("write {:#x} at {:#x}: no BAR decodes it (dropped)", value, base_ + offset), {}};
    });
    return;
  }
  h.f->bar_write(h.bar, h.offset, size, value);
}

void PciBus::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pci");
  io.field("CONFIG_ADDRESS", address_);
  for (unsigned devfn = 0; devfn < functions_.size(); ++devfn)
    if (PciFunction* f = functions_[devfn]) {
      snapshot::Io::Group fn(io, fmt::format("{:02x}.{}", devfn >> 3, devfn & 7));
      f->state(io);
    }
}

}  // namespace irqremap::x86::pci
