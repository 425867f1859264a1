#include "arch/x86/pic8259.h"

#include <fmt/format.h>

namespace irqremap::x86 {

namespace {

constexpr uint8_t bit(unsigned ir) { return uint8_t(1u << ir); }

}  // namespace

// --- one 8259A -------------------------------------------------------------------------

std::optional<unsigned> Pic8259Pair::Chip::highest(uint8_t bits) const {
  // Priority runs from the IR after the lowest-priority one, round the eight inputs.
  for (unsigned k = 1; k <= 8; ++k) {
    const unsigned ir = (lowest + k) & 7;
    if (bits & bit(ir)) return ir;
  }
  return std::nullopt;
}

std::optional<unsigned> Pic8259Pair::Chip::pending() const {
  const std::optional<unsigned> req = highest(irr & ~imr);
  if (!req) return std::nullopt;
  // Special mask mode: an in-service level inhibits only itself (datasheet, OCW3 SMM),
  // and a masked in-service level inhibits nothing.
  if (special_mask) return req;
  const std::optional<unsigned> serving = highest(isr);
  if (!serving) return req;
  // Higher priority means fewer steps from the top of the order.
  auto rank = [&](unsigned ir) { return (ir - lowest - 1) & 7; };
  return rank(*req) < rank(*serving) ? req : std::nullopt;
}

void Pic8259Pair::Chip::input(unsigned ir, bool level) {
  const bool was = lines & bit(ir);
  lines = level ? (lines | bit(ir)) : (lines & ~bit(ir));
  if (level_mode || (elcr & bit(ir))) {
    // Level: the request is the line.
    irr = level ? (irr | bit(ir)) : (irr & ~bit(ir));
  } else if (level && !was) {
    irr |= bit(ir);  // a rising edge latches
  }
}

void Pic8259Pair::Chip::eoi(unsigned ir, bool rotate) {
  isr &= ~bit(ir);
  if (rotate) lowest = uint8_t(ir);
}

void Pic8259Pair::Chip::ack(unsigned ir) {
  if (!(level_mode || (elcr & bit(ir)))) irr &= ~bit(ir);
  if (auto_eoi) {
    if (rotate_on_aeoi) lowest = uint8_t(ir);
  } else {
    isr |= bit(ir);
  }
}

uint8_t Pic8259Pair::Chip::in(unsigned a0) {
  if (poll) {
    // Poll (OCW3 P): the read is the acknowledge; bit 7 says whether there was a request.
    poll = false;
    if (const auto ir = pending()) {
      ack(*ir);
      return uint8_t(0x80 | *ir);
    }
    return 0;
  }
  if (a0 == 1) return imr;
  return read_isr ? isr : irr;
}

void Pic8259Pair::Chip::out(unsigned a0, uint8_t v) {
  if (a0 == 0) {
    if (v & 0x10) {
      // ICW1: the initialisation sequence starts (datasheet "Initialization Command Words").
      icw4_needed = v & 0x01;
      single = v & 0x02;
      level_mode = v & 0x08;
      imr = 0;
      isr = 0;
      irr = 0;
      lowest = 7;
      special_mask = false;
      read_isr = false;
      poll = false;
      auto_eoi = false;
      rotate_on_aeoi = false;
      init_step = 2;
      return;
    }
    if ((v & 0x18) == 0x00) {
      // OCW2: R, SL, EOI in bits 7:5, the level in bits 2:0.
      const unsigned level = v & 7;
      switch (v >> 5) {
        case 1:  // non-specific EOI: the highest-priority level in service
          if (const auto ir = highest(isr)) eoi(*ir, false);
          break;
        case 5:  // rotate on non-specific EOI
          if (const auto ir = highest(isr)) eoi(*ir, true);
          break;
        case 3: eoi(level, false); break;   // specific EOI
        case 7: eoi(level, true); break;    // rotate on specific EOI
        case 6: lowest = uint8_t(level); break;  // set priority: `level` lowest
        case 4: rotate_on_aeoi = true; break;
        case 0: rotate_on_aeoi = false; break;
        default: break;  // 2: no operation
      }
      return;
    }
    if ((v & 0x18) == 0x08) {
      // OCW3: ESMM/SMM in bits 6:5, P in bit 2, RR/RIS in bits 1:0.
      if (v & 0x40) special_mask = v & 0x20;
      if (v & 0x04) poll = true;
      if (v & 0x02) read_isr = v & 0x01;
    }
    return;
  }
  switch (init_step) {
    case 2:
      vector_base = v & 0xF8;  // ICW2, 8086 mode: T7-T3
      init_step = single ? (icw4_needed ? 4 : 0) : 3;
      return;
    case 3:  // ICW3: the cascade wiring, fixed on a PC (slave on IR2, ID 2)
      init_step = icw4_needed ? 4 : 0;
      return;
    case 4:  // ICW4
      auto_eoi = v & 0x02;
      init_step = 0;
      return;
    default:
      imr = v;  // OCW1
  }
}

void Pic8259Pair::Chip::state(snapshot::Io& io) {
  io.field("IRR", irr);
  io.field("ISR", isr);
  io.field("IMR", imr);
  io.field("lines", lines);
  io.field("ELCR", elcr);
  io.field("vector_base", vector_base);
  io.field("lowest_priority", lowest);
  io.check(lowest < 8, "a lowest-priority level past IR7");
  io.field("init_step", init_step);
  io.check(init_step == 0 || (init_step >= 2 && init_step <= 4), "an initialisation step that is no ICW");
  io.field("icw4_needed", icw4_needed);
  io.field("single", single);
  io.field("level_mode", level_mode);
  io.field("auto_eoi", auto_eoi);
  io.field("rotate_on_aeoi", rotate_on_aeoi);
  io.field("special_mask", special_mask);
  io.field("read_isr", read_isr);
  io.field("poll", poll);
}

// --- the pair ---------------------------------------------------------------------------

Pic8259Pair::Pic8259Pair() {
  // Before any ICW the chips are in an undefined state; QEMU resets them to this.
  for (Chip& c : chips_) c.imr = 0;
}

void Pic8259Pair::cascade() {
  // While the slave requests, the master's edge-triggered IR2 sees a fresh edge, so a
  // second slave request behind an acknowledged one is not lost (as QEMU's i8259 pulses it).
  const bool slave = chips_[1].pending().has_value();
  chips_[0].input(kCascadeIr, false);
  if (slave) chips_[0].input(kCascadeIr, true);
}

void Pic8259Pair::set_irq(unsigned irq, bool level) {
  if (irq > 15) return;
  chips_[irq / 8].input(irq & 7, level);
  changed();
}

bool Pic8259Pair::intr() const { return chips_[0].pending().has_value(); }

uint8_t Pic8259Pair::acknowledge() {
  Chip& m = chips_[0];
  uint8_t vector = 0;
  if (const auto ir = m.pending()) {
    m.ack(*ir);
    if (*ir == kCascadeIr) {
      // The slave puts its vector on the bus; its request may have gone meanwhile.
      Chip& s = chips_[1];
      if (const auto sir = s.pending()) {
        s.ack(*sir);
        vector = uint8_t(s.vector_base | *sir);
      } else {
        vector = uint8_t(s.vector_base | 7);
      }
    } else {
      vector = uint8_t(m.vector_base | *ir);
    }
  } else {
    vector = uint8_t(m.vector_base | 7);  // spurious: the request went away before INTA
  }
  changed();
  return vector;
}

void Pic8259Pair::bios_setup(uint16_t unmasked) {
  // ICW1 (edge, cascade, ICW4), ICW2 (vector base), ICW3 (wiring), ICW4 (8086 mode).
  const uint8_t base[2] = {0x08, 0x70};
  for (unsigned c = 0; c < 2; ++c) {
    Chip& chip = chips_[c];
    chip.out(0, 0x11);
    chip.out(1, base[c]);
    chip.out(1, c == 0 ? 0x04 : 0x02);
    chip.out(1, 0x01);
    chip.out(1, uint8_t(~(unmasked >> (8 * c))));
  }
  changed();
}

uint32_t Pic8259Pair::Ports::io_in(uint16_t offset, unsigned size) {
  const uint32_t v = p.chips_[chip].in(offset & 1);
  p.changed();  // a poll read acknowledges
  return size == 1 ? v : v | (size == 2 ? 0xFF00u : 0xFFFF'FF00u);
}

void Pic8259Pair::Ports::io_out(uint16_t offset, unsigned, uint32_t value) {
  p.chips_[chip].out(offset & 1, uint8_t(value));
  p.changed();
}

uint32_t Pic8259Pair::ElcrPorts::io_in(uint16_t offset, unsigned) { return p.chips_[offset & 1].elcr; }

void Pic8259Pair::ElcrPorts::io_out(uint16_t offset, unsigned, uint32_t value) {
  // ICH9 ELCR1 bits 0-2 (IRQ 0, 1, 2) and ELCR2 bits 0 and 5 (IRQ 8, 13) are reserved:
  // those lines are always edge-triggered (Intel I/O Controller Hub 9 datasheet, the 8259 registers ELCR1 and ELCR2).
  const uint8_t writable = (offset & 1) == 0 ? 0xF8 : 0xDE;
  Chip& c = p.chips_[offset & 1];
  c.elcr = uint8_t(value) & writable;
  // A line that became level-triggered is its request now.
  for (unsigned ir = 0; ir < 8; ++ir)
    if (c.elcr & bit(ir)) c.irr = (c.lines & bit(ir)) ? (c.irr | bit(ir)) : (c.irr & ~bit(ir));
  p.changed();
}

void Pic8259Pair::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pic8259");
  for (unsigned c = 0; c < 2; ++c) {
    snapshot::Io::Group cg(io, c == 0 ? "master" : "slave");
    chips_[c].state(io);
  }
}

}  // namespace irqremap::x86
