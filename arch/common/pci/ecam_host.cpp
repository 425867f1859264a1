#include "arch/common/pci/ecam_host.h"

#include <fmt/format.h>

namespace irqremap::pci {

namespace {

constexpr uint64_t all_ones(unsigned size) { return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1; }

// An ECAM offset's fields (PCIe Base 4.0 §7.2.2, Table 7-1): bus 27:20, device 19:15,
// function 14:12, register 11:0.
struct EcamAddress {
  unsigned bus, devfn, reg;
};
constexpr EcamAddress ecam_decode(uint64_t offset) {
  return {unsigned(offset >> 20) & 0xFF, unsigned(offset >> 12) & 0xFF, unsigned(offset) & 0xFFF};
}

}  // namespace

EcamHost::EcamHost(const Layout& l)
    : ecam_(*this, l.ecam_size), mmio_(*this, "pcie-mmio", false, l.mmio_pci_base, l.mmio_size),
      pio_(*this, "pcie-pio", true, 0, l.pio_size),
      mmio_high_(*this, "pcie-mmio-high", false, l.mmio_high_base, l.mmio_high_size) {}

bool EcamHost::add(unsigned dev, unsigned fn, PciFunction& f) {
  PciFunction*& slot = functions_[devfn(dev, fn)];
  if (slot != nullptr) return false;
  slot = &f;
  return true;
}

std::optional<unsigned> EcamHost::add_next_free(PciFunction& f) {
  for (unsigned dev = 0; dev < 32; ++dev)
    if (add(dev, 0, f)) return dev;
  return std::nullopt;
}

uint32_t EcamHost::config_read(unsigned bus, unsigned devfn, unsigned offset, unsigned size) const {
  PciFunction* f = bus == 0 ? functions_.at(devfn & 0xFF) : nullptr;
  if (f == nullptr || size == 0 || size > 4) return uint32_t(all_ones(size > 4 ? 4 : size));
  return f->config_read(offset, size) & uint32_t(all_ones(size));
}

void EcamHost::config_write(unsigned bus, unsigned devfn, unsigned offset, unsigned size, uint32_t value) {
  PciFunction* f = bus == 0 ? functions_.at(devfn & 0xFF) : nullptr;
  if (f == nullptr || size == 0 || size > 4 || offset + size > ConfigSpace::kSize) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "pci",
                   fmt::format("config write {:02x}:{:02x}.{:x} [{:#x}] ({} bytes) = {:#x}: nothing there (dropped)",
                               bus, devfn >> 3, devfn & 7, offset, size, value),
                   {}};
    });
    return;
  }
  f->config().write(offset, size, value);
  f->config_written(offset, size);
  if (offset < cfg::COMMAND + 2 && offset + size > cfg::COMMAND) f->refresh_intx();
  trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, "pci",
                 fmt::format("config write {:02x}.{:x} [{:#04x}] ({} bytes) = {:#x} ({})", devfn >> 3, devfn & 7,
                             offset, size, value, f->pci_name()),
                 {{"devfn", devfn}, {"offset", offset}, {"value", value}}};
  });
}

uint64_t EcamHost::Ecam::mmio_read(uint64_t offset, unsigned size) {
  if (size == 8) return mmio_read(offset, 4) | (mmio_read(offset + 4, 4) << 32);
  const EcamAddress a = ecam_decode(offset);
  return h_.config_read(a.bus, a.devfn, a.reg, size);
}

void EcamHost::Ecam::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (size == 8) {
    mmio_write(offset, 4, uint32_t(value));
    mmio_write(offset + 4, 4, value >> 32);
    return;
  }
  const EcamAddress a = ecam_decode(offset);
  h_.config_write(a.bus, a.devfn, a.reg, size, uint32_t(value));
}

EcamHost::Hit EcamHost::decode(bool io, uint64_t pa) const {
  for (PciFunction* f : functions_) {
    if (f == nullptr) continue;
    for (unsigned n = 0; n < 6; ++n) {
      const BarInfo& b = f->config().bar(n);
      if (b.size == 0 || (b.kind == BarKind::Io) != io) continue;
      const auto a = f->config().bar_address(n);
      if (a && pa >= *a && pa - *a < b.size) return Hit{f, n, pa - *a};
    }
  }
  return {};
}

uint64_t EcamHost::BarWindow::mmio_read(uint64_t offset, unsigned size) {
  const Hit h = h_.decode(io_, pci_base_ + offset);
  if (h.f == nullptr) {
    h_.trace_.emit_lazy([&] {
      return Event{EventKind::Note, "pci",
                   fmt::format("{} read at PCI {:#x}: no BAR decodes it (all-ones)", io_ ? "I/O" : "memory",
                               pci_base_ + offset),
                   {}};
    });
    return all_ones(size);
  }
  return h.f->bar_read(h.bar, h.offset, size);
}

void EcamHost::BarWindow::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  const Hit h = h_.decode(io_, pci_base_ + offset);
  if (h.f == nullptr) {
    h_.trace_.emit_lazy([&] {
      return Event{EventKind::Note, "pci",
                   fmt::format("{} write {:#x} at PCI {:#x}: no BAR decodes it (dropped)", io_ ? "I/O" : "memory",
                               value, pci_base_ + offset),
                   {}};
    });
    return;
  }
  h.f->bar_write(h.bar, h.offset, size, value);
}

}  // namespace irqremap::pci
