#include "arch/x86/io_port.h"

#include <fmt/format.h>

namespace irqremap::x86 {

bool IoPortBus::add(uint16_t base, IoPortDevice& dev, std::string* error) {
  const uint32_t end = uint32_t(base) + dev.io_size();
  if (dev.io_size() == 0 || end > 0x10000) {
    if (error) *error = fmt::format("{} at port {:#x} does not fit the I/O space", dev.io_name(), base);
    return false;
  }
  for (const auto& [b, d] : devices_) {
    if (base < uint32_t(b) + d->io_size() && b < end) {
      if (error) *error = fmt::format("{} at port {:#x} overlaps {}", dev.io_name(), base, d->io_name());
      return false;
    }
  }
  devices_[base] = &dev;
  return true;
}

IoPortDevice* IoPortBus::find(uint16_t port, uint16_t* base) const {
  auto it = devices_.upper_bound(port);
  if (it == devices_.begin()) return nullptr;
  --it;
  if (port >= uint32_t(it->first) + it->second->io_size()) return nullptr;
  if (base) *base = it->first;
  return it->second;
}

uint32_t IoPortBus::in(uint16_t port, unsigned size) {
  uint16_t base = 0;
  if (IoPortDevice* d = find(port, &base)) return d->io_in(uint16_t(port - base), size);
  return size >= 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1;
}

void IoPortBus::out(uint16_t port, unsigned size, uint32_t value) {
  uint16_t base = 0;
  if (IoPortDevice* d = find(port, &base)) d->io_out(uint16_t(port - base), size, value);
}

}  // namespace irqremap::x86
