#include "arch/common/mmio_binding.h"

#include <fmt/format.h>

#include "arch/common/unicorn_abort.h"

namespace irqremap::arch {

uint64_t MmioBindings::read_cb(uc_engine*, uint64_t off, unsigned size, void* user) {
  HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* b = static_cast<Binding*>(user);
  MmioBindings& o = *b->owner;
  if (o.before_) o.before_(b->cpu, b->base + off, false);
  const uint64_t v = b->dev->mmio_read(b->offset + off, size);
  ++o.reads_;
  o.trace_.emit_lazy([&] {
    return Event{EventKind::RegRead, fmt::format("cpu{}", b->cpu),
                 fmt::format("MMIO read {} {:#x} ({}+{:#x}, {} bytes) -> {:#x}", b->dev->mmio_name(),
                             b->base + off, b->dev->mmio_name(), b->offset + off, size, v),
                 {{"address", b->base + off}, {"value", v}, {"size", size}}};
  });
  return v;
}

void MmioBindings::write_cb(uc_engine*, uint64_t off, unsigned size, uint64_t value, void* user) {
  HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* b = static_cast<Binding*>(user);
  MmioBindings& o = *b->owner;
  if (o.before_) o.before_(b->cpu, b->base + off, true);
  ++o.writes_;
  o.trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, fmt::format("cpu{}", b->cpu),
                 fmt::format("MMIO write {} {:#x} ({}+{:#x}, {} bytes) <- {:#x}", b->dev->mmio_name(),
                             b->base + off, b->dev->mmio_name(), b->offset + off, size, value),
                 {{"address", b->base + off}, {"value", value}, {"size", size}}};
  });
  b->dev->mmio_write(b->offset + off, size, value);
}

std::expected<void, std::string> MmioBindings::bind(uc_engine* uc, unsigned cpu, uint64_t base,
                                                    MmioDevice& dev) {
  const uint64_t size = (dev.mmio_size() + 0xFFF) & ~uint64_t{0xFFF};
  if (size == 0) return std::unexpected(fmt::format("{}: empty MMIO window", dev.mmio_name()));
  bindings_.push_back(Binding{this, &dev, cpu, base, uc, 0, size});
  Binding* b = &bindings_.back();
  if (uc_err e = uc_mmio_map(uc, base, size, &MmioBindings::read_cb, b, &MmioBindings::write_cb, b);
      e != UC_ERR_OK) {
    bindings_.pop_back();
    return std::unexpected(fmt::format("mapping {} at {:#x} ({:#x} bytes): {}", dev.mmio_name(), base,
                                       size, uc_strerror(e)));
  }
  return {};
}

std::expected<void, std::string> MmioBindings::bind_alias(uc_engine* uc, uint64_t alias, uint64_t target) {
  constexpr uint64_t kPage = 0x1000;
  alias &= ~(kPage - 1);
  target &= ~(kPage - 1);
  Binding* found = nullptr;
  for (Binding& b : bindings_)
    if (b.uc == uc && target >= b.base && target - b.base < b.size) found = &b;
  if (found == nullptr) return std::unexpected(fmt::format("no device at {:#x}", target));
  // A page aliased before (and unmapped since: the vCPU drops its aliases at TLB
  // invalidations) reuses its binding, which depends on the target page only.
  const bool again = found->size == kPage && found->base == target;
  if (!again)
    bindings_.push_back(Binding{this, found->dev, found->cpu, target, uc, found->offset + (target - found->base), kPage});
  Binding* b = again ? found : &bindings_.back();
  if (uc_err e = uc_mmio_map(uc, alias, kPage, &MmioBindings::read_cb, b, &MmioBindings::write_cb, b);
      e != UC_ERR_OK) {
    if (!again) bindings_.pop_back();
    return std::unexpected(fmt::format("mapping an alias of {} at {:#x}: {}", found->dev->mmio_name(), alias,
                                       uc_strerror(e)));
  }
  return {};
}

}  // namespace irqremap::arch
