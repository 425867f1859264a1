#include "arch/x86/wakeup_mailbox.h"

#include <algorithm>

#include <fmt/format.h>

#include "snapshot/state_io.h"

namespace irqremap::x86 {

uint64_t WakeupMailbox::load(uint64_t offset, unsigned size) const {
  uint64_t v = 0;
  for (unsigned i = 0; i < size && offset + i < bytes_.size(); ++i)
    v |= uint64_t(bytes_[offset + i]) << (8 * i);
  return v;
}

uint64_t WakeupMailbox::mmio_read(uint64_t offset, unsigned size) {
  if (offset >= ReservedForFirmware)
    return offset == CpuCount ? extract_read(cpus_, 0, std::min(size, 4u)) : 0;
  return load(offset, size);
}

void WakeupMailbox::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= ReservedForFirmware || offset + size > ReservedForFirmware) return;
  for (unsigned i = 0; i < size; ++i) bytes_[offset + i] = uint8_t(value >> (8 * i));
  // The command is acted on when a write covers the Command field's low byte.
  if (offset > Command || offset + size <= Command) return;
  const uint16_t cmd = uint16_t(load(Command, 2));
  if (cmd == kNoop) return;
  const uint32_t apic = uint32_t(load(ApicId, 4));
  const uint64_t vector = load(WakeupVector, 8);
  if (cmd != kWakeup) {
    trace_.emit_lazy([&] {
      return Event{EventKind::CommandError, "wakeup",
                   fmt::format("reserved mailbox Command {} ignored", cmd), {{"command", cmd}}};
    });
    return;
  }
  const bool ok = wake_ && wake_(apic, vector);
  trace_.emit_lazy([&] {
    return Event{ok ? EventKind::Command : EventKind::CommandError, "wakeup",
                 ok ? fmt::format("Wakeup APIC {:#x} at {:#x}: acknowledged (Command <- Noop)",
                                  apic, vector)
                    : fmt::format("Wakeup APIC {:#x} at {:#x}: no such AP off, not acknowledged",
                                  apic, vector),
                 {{"apic", apic}, {"vector", vector}}};
  });
  if (ok) bytes_[Command] = bytes_[Command + 1] = 0;  // the AP's acknowledgement
}

void WakeupMailbox::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "wakeup_mailbox");
  io.bytes("mailbox", std::span(bytes_).first(ReservedForFirmware));
}

}  // namespace irqremap::x86
