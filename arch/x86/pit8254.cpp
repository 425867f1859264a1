#include "arch/x86/pit8254.h"

namespace irqremap::x86 {

uint64_t Pit8254::pit_now() const {
  return uint64_t((unsigned __int128)now_() * kHz / kClockHz);
}

uint16_t Pit8254::count_now(const Counter& c) const {
  if (!c.counting) return uint16_t(c.reload);
  const uint64_t d = pit_now() - c.start;
  const uint64_t n = c.period();
  switch (c.mode) {
    case 2: return uint16_t(n - d % n);
    case 3: return uint16_t((n - (2 * d) % n) & 0xFFFE);  // counts down by two, twice a period
    default: return uint16_t(n - d);                      // modes 0, 1, 4, 5: down, wrapping
  }
}

std::optional<uint64_t> Pit8254::edge_at(uint64_t k) const {
  const Counter& c = counters_[0];
  if (!c.counting) return std::nullopt;
  switch (c.mode) {
    case 0:
    case 4: return k == 1 ? std::optional<uint64_t>(uint64_t(c.period()) + 1) : std::nullopt;
    case 2:
    case 3: return k * c.period();
    default: return std::nullopt;  // modes 1 and 5 wait for a gate edge that never comes
  }
}

void Pit8254::update() {
  Counter& c = counters_[0];
  if (!c.counting) return;
  const uint64_t d = pit_now() - c.start;
  uint64_t due = c.edges;
  if (c.mode == 2 || c.mode == 3) {
    due = d / c.period();
  } else if (const auto e = edge_at(c.edges + 1); e && d >= *e) {
    due = c.edges + 1;
  }
  if (due <= c.edges) return;
  c.edges = due;
  irq0_(true);
  irq0_(false);
}

std::optional<uint64_t> Pit8254::next_edge() const {
  const Counter& c = counters_[0];
  const auto e = edge_at(c.edges + 1);
  if (!e) return std::nullopt;
  // The first clock tick at or after PIT clock start + e.
  const unsigned __int128 pit = (unsigned __int128)c.start + *e;
  return uint64_t((pit * kClockHz + kHz - 1) / kHz);
}

void Pit8254::load(Counter& c, uint32_t value) {
  c.reload = value;
  c.start = pit_now();
  c.counting = true;
  c.edges = 0;
}

void Pit8254::bios_setup() {
  Counter& c = counters_[0];
  c.mode = 2;
  c.access = 3;
  load(c, 0);
}

uint32_t Pit8254::Ports::io_in(uint16_t offset, unsigned) {
  if (offset == 3) return 0xFF;  // the control word register is write-only
  Counter& c = p.counters_[offset];
  const uint16_t v = c.latched.value_or(p.count_now(c));
  uint8_t out = 0;
  switch (c.access) {
    case 1: out = uint8_t(v); c.latched.reset(); break;
    case 2: out = uint8_t(v >> 8); c.latched.reset(); break;
    default:
      out = c.read_msb_next ? uint8_t(v >> 8) : uint8_t(v);
      if (c.read_msb_next) c.latched.reset();
      c.read_msb_next = !c.read_msb_next;
  }
  return out;
}

void Pit8254::Ports::io_out(uint16_t offset, unsigned, uint32_t value) {
  const uint8_t v = uint8_t(value);
  if (offset == 3) {
    const unsigned sc = v >> 6, rw = (v >> 4) & 3;
    if (sc == 3) return;  // read-back command: not modelled
    Counter& c = p.counters_[sc];
    if (rw == 0) {
      // Counter latch: the count now, until it is read (a second latch is ignored).
      if (!c.latched) c.latched = p.count_now(c);
      return;
    }
    c.access = uint8_t(rw);
    c.mode = uint8_t((v >> 1) & 7);
    if (c.mode > 5) c.mode -= 4;  // 6 and 7 are modes 2 and 3 (82C54 control word format)
    c.counting = false;  // a control word stops the counter until its count is written
    c.write_msb_next = c.read_msb_next = false;
    c.latched.reset();
    // Mode 0's output goes low on the control word; the others' goes high.
    if (sc == 0) p.irq0_(false);
    return;
  }
  Counter& c = p.counters_[offset];
  switch (c.access) {
    case 1: p.load(c, v); break;
    case 2: p.load(c, uint32_t(v) << 8); break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = v;
        c.write_msb_next = true;
        if (c.mode == 0) c.counting = false;  // mode 0 stops counting after the LSB
      } else {
        c.write_msb_next = false;
        p.load(c, c.write_lsb | uint32_t(v) << 8);
      }
  }
}

void Pit8254::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pit8254");
  for (unsigned i = 0; i < 3; ++i) {
    Counter& c = counters_[i];
    snapshot::Io::Group cg(io, i == 0 ? "counter0" : i == 1 ? "counter1" : "counter2");
    io.field("mode", c.mode);
    io.check(c.mode <= 5, "a counter mode past 5");
    io.field("access", c.access);
    io.check(c.access >= 1 && c.access <= 3, "a read/write mode that is none of LSB, MSB, LSB then MSB");
    io.field("reload", c.reload);
    io.check(c.reload <= 0xFFFF, "a count past 16 bits");
    io.field("start", c.start);
    io.field("counting", c.counting);
    io.field("write_msb_next", c.write_msb_next);
    io.field("read_msb_next", c.read_msb_next);
    io.field("write_lsb", c.write_lsb);
    bool latched = c.latched.has_value();
    uint16_t value = c.latched.value_or(0);
    io.field("latched", latched);
    io.field("latched_value", value);
    c.latched = latched ? std::optional<uint16_t>(value) : std::nullopt;
    io.field("edges", c.edges);
  }
}

}  // namespace irqremap::x86
