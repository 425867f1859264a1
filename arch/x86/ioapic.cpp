#include "arch/x86/ioapic.h"

#include "snapshot/state_io.h"

#include <fmt/format.h>

#include "remap/vtd/ioapic_rte_format.h"

namespace irqremap::x86 {

namespace rte = vtd::ioapic_rte;

namespace {
constexpr uint64_t bit(const fields::Field& f) { return uint64_t{1} << f.lo; }
constexpr uint64_t kRoBits = bit(rte::DELIVS) | bit(rte::RIRR);
}  // namespace

IoApic::IoApic(MsiSink& sink, uint32_t source, uint8_t id) : sink_(sink), source_(source), id_(id & 0xF) {
  for (uint64_t& e : rte_) e = bit(rte::MASK);  // reset: every entry masked (82093AA §3.2.4)
}

uint64_t IoApic::mmio_read(uint64_t offset, unsigned size) {
  if (offset == IOREGSEL) return regsel_;
  if (offset == IOWIN && size == 4) return read_register(regsel_);
  return 0;
}

void IoApic::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == IOREGSEL) {
    regsel_ = uint32_t(value) & 0xFF;
  } else if (offset == IOWIN && size == 4) {
    write_register(regsel_, uint32_t(value));
  } else if (offset == EOI) {
    eoi(uint8_t(value));
  } else {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "ioapic",
                   fmt::format("{}-byte write {:#x} at {:#x} ignored (no register)", size, value, offset), {}};
    });
  }
}

uint32_t IoApic::read_register(uint32_t index) const {
  switch (index) {
    case IOAPICID: return uint32_t(id_) << 24;
    case IOAPICVER: return ((kPins - 1) << 16) | kVersion;
    case IOAPICARB: return uint32_t(id_) << 24;
    default:
      if (index >= IOREDTBL && index < IOREDTBL + 2 * kPins) {
        const uint64_t e = rte_[(index - IOREDTBL) / 2];
        return uint32_t((index & 1) ? e >> 32 : e);
      }
      return 0;
  }
}

void IoApic::write_register(uint32_t index, uint32_t value) {
  if (index == IOAPICID) {
    id_ = (value >> 24) & 0xF;
    return;
  }
  if (index < IOREDTBL || index >= IOREDTBL + 2 * kPins) return;  // VER, ARB: read-only
  const unsigned pin = (index - IOREDTBL) / 2;
  const uint64_t old = rte_[pin];
  uint64_t e = (index & 1) ? (old & 0xFFFF'FFFFull) | (uint64_t(value) << 32)
                           : (old & ~0xFFFF'FFFFull) | value;
  e = (e & ~kRoBits) | (old & kRoBits);
  if (fields::get(e, rte::TRIGGER) == 0) e &= ~bit(rte::RIRR);  // edge: no Remote IRR
  rte_[pin] = e;
  trace_.emit_lazy([&] {
    const auto d = fields::decode(*rte::select(std::span<const uint64_t>(&e, 1)), std::span<const uint64_t>(&e, 1));
    std::string s;
    for (const auto& v : d.values)
      if (v.field->access != fields::Access::Rsvd && v.value != 0)
        s += fmt::format(" {}={:#x}", v.field->name, v.value);
    return Event{EventKind::RegWrite, "ioapic",
                 fmt::format("IOREDTBL[{}] = {:#018x} ({}:{})", pin, e, d.format->name, s),
                 {{"pin", pin}, {"value", e}}};
  });
  // A level interrupt held back by the mask goes out once the entry allows it.
  if (fields::get(e, rte::TRIGGER) && level_[pin]) service(pin, "entry written with the line high");
}

void IoApic::set_irq(unsigned pin, bool level) {
  if (pin >= kPins) return;
  const bool rising = level && !level_[pin];
  level_[pin] = level;
  const uint64_t e = rte_[pin];
  if (fields::get(e, rte::TRIGGER)) {
    if (level) service(pin, "level asserted");
  } else if (rising) {
    if (fields::get(e, rte::MASK)) {
      trace_.emit_lazy([&] {
        return Event{EventKind::Note, "ioapic",
                     fmt::format("pin {}: edge while masked, dropped (82093AA §3.2.4)", pin), {{"pin", pin}}};
      });
      return;
    }
    service(pin, "rising edge");
  }
}

void IoApic::service(unsigned pin, const char* why) {
  uint64_t& e = rte_[pin];
  if (fields::get(e, rte::MASK)) return;
  if (fields::get(e, rte::TRIGGER)) {
    if (fields::get(e, rte::RIRR)) return;  // wait for the EOI
    e |= bit(rte::RIRR);
  }
  const MsiWrite m = rte::ioapic_msi(e, source_);
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, "ioapic",
                 fmt::format("pin {} ({}): {} message {:#x}/{:#x}{}", pin, why,
                             fields::get(e, rte::IF_REMAP) ? "remappable" : "compatibility", m.address,
                             m.data, source_ == kNoSourceId ? " (no requester ID)"
                                                            : fmt::format(" from {:#06x}", source_)),
                 {{"pin", pin}, {"address", m.address}, {"data", m.data}}};
  });
  sink_.msi_write(m);
}

void IoApic::eoi(uint8_t vector) {
  for (unsigned pin = 0; pin < kPins; ++pin) {
    uint64_t& e = rte_[pin];
    if (fields::get(e, rte::VECTOR) != vector || !fields::get(e, rte::RIRR)) continue;
    e &= ~bit(rte::RIRR);
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "ioapic", fmt::format("EOI vector {:#x}: pin {} Remote IRR cleared", vector, pin), {}};
    });
    if (level_[pin]) service(pin, "line still high after EOI");
  }
}



void IoApic::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "ioapic");
  io.field("IOREGSEL", regsel_);
  io.field("IOAPICID", id_);
  for (unsigned pin = 0; pin < kPins; ++pin) {
    snapshot::Io::Group p(io, "pin");
    io.field("IOREDTBL", rte_[pin]);  // Remote IRR and Delivery Status are in the entry
    io.field("level", level_[pin]);   // the input's level (a level entry re-sends while it is high)
  }
}

}  // namespace irqremap::x86
