// The PC's 8259A pair and 8254 (arch/x86/pic8259.h, arch/x86/pit8254.h), driven through
// their I/O ports as firmware drives them; each case names the datasheet behaviour.
#include <doctest/doctest.h>

#include <tuple>
#include <vector>

#include "arch/x86/io_port.h"
#include "arch/x86/pic8259.h"
#include "arch/x86/pit8254.h"
#include "snapshot/state_io.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

struct Pics {
  Pic8259Pair pic;
  IoPortBus io;
  Pics() {
    REQUIRE(io.add(Pic8259Pair::kMasterPort, pic.master_ports()));
    REQUIRE(io.add(Pic8259Pair::kSlavePort, pic.slave_ports()));
    REQUIRE(io.add(Pic8259Pair::kElcrPort, pic.elcr_ports()));
    // ICW1-ICW4 as a PC OS writes them: edge, cascade, ICW4; bases 0x20 and 0x28; slave on
    // IR2; 8086 mode. Then everything unmasked.
    for (auto [cmd, data, base, icw3] : {std::tuple{0x20, 0x21, 0x20, 0x04}, std::tuple{0xA0, 0xA1, 0x28, 0x02}}) {
      io.out(uint16_t(cmd), 1, 0x11);
      io.out(uint16_t(data), 1, uint32_t(base));
      io.out(uint16_t(data), 1, uint32_t(icw3));
      io.out(uint16_t(data), 1, 0x01);
      io.out(uint16_t(data), 1, 0x00);
    }
  }
  void edge(unsigned irq) {
    pic.set_irq(irq, true);
    pic.set_irq(irq, false);
  }
};

}  // namespace

TEST_CASE("8259A: a rising edge latches in IRR, INTA returns ICW2's base + IR and moves it to ISR, a non-specific EOI ends it") {
  Pics p;
  CHECK_FALSE(p.pic.intr());
  p.edge(3);
  CHECK(p.pic.irr(0) == 0x08);
  CHECK(p.pic.intr());
  CHECK(p.pic.acknowledge() == 0x23);
  CHECK(p.pic.irr(0) == 0);
  CHECK(p.pic.isr(0) == 0x08);
  CHECK_FALSE(p.pic.intr());
  p.io.out(0x20, 1, 0x20);  // OCW2: non-specific EOI
  CHECK(p.pic.isr(0) == 0);
}

TEST_CASE("8259A: fixed priority, IR0 highest: a lower request waits behind one in service, a higher one nests") {
  Pics p;
  p.edge(3);
  CHECK(p.pic.acknowledge() == 0x23);
  p.edge(5);
  CHECK_FALSE(p.pic.intr());  // IR5 is below IR3, in service
  p.edge(1);
  CHECK(p.pic.intr());
  CHECK(p.pic.acknowledge() == 0x21);
  p.io.out(0x20, 1, 0x20);  // ends IR1, the highest in service
  CHECK(p.pic.isr(0) == 0x08);
  p.io.out(0x20, 1, 0x63);  // specific EOI of IR3
  CHECK(p.pic.acknowledge() == 0x25);
}

TEST_CASE("8259A: IMR (OCW1) holds a request back without losing it; OCW3 selects ISR for reads") {
  Pics p;
  p.io.out(0x21, 1, 0x10);  // mask IR4
  p.edge(4);
  CHECK_FALSE(p.pic.intr());
  CHECK(p.io.in(0x20, 1) == 0x10);  // IRR by default
  CHECK(p.io.in(0x21, 1) == 0x10);  // IMR
  p.io.out(0x21, 1, 0x00);
  CHECK(p.pic.acknowledge() == 0x24);
  p.io.out(0x20, 1, 0x0B);  // OCW3: read ISR
  CHECK(p.io.in(0x20, 1) == 0x10);
}

TEST_CASE("8259A cascade: IRQ 11 reaches the master through IR2 and INTA takes the slave's vector; EOI goes to both") {
  Pics p;
  p.edge(11);
  CHECK(p.pic.irr(1) == 0x08);
  CHECK(p.pic.intr());
  CHECK(p.pic.acknowledge() == 0x2B);
  CHECK(p.pic.isr(1) == 0x08);
  CHECK(p.pic.isr(0) == 0x04);
  p.io.out(0xA0, 1, 0x20);
  p.io.out(0x20, 1, 0x20);
  CHECK(p.pic.isr(0) == 0);
  CHECK(p.pic.isr(1) == 0);
}

TEST_CASE("8259A: a level-triggered line (ELCR) is its request: when it drops before INTA, INTA gives the spurious IR7 vector and nothing goes in service") {
  Pics p;
  p.io.out(0x4D0, 1, 0x08);  // IRQ 3 level-triggered
  CHECK(p.io.in(0x4D0, 1) == 0x08);
  p.pic.set_irq(3, true);
  CHECK(p.pic.intr());
  p.pic.set_irq(3, false);
  CHECK_FALSE(p.pic.intr());
  CHECK(p.pic.acknowledge() == 0x27);  // master's IR7: nothing was there at INTA
  CHECK(p.pic.isr(0) == 0);
  // ELCR1 bits 0-2 are reserved: the timer, keyboard and cascade stay edge-triggered.
  p.io.out(0x4D0, 1, 0xFF);
  CHECK(p.io.in(0x4D0, 1) == 0xF8);
}

TEST_CASE("8259A: a slave request gone before INTA is the slave's spurious IR7 (IRQ 15) with the master's IR2 in service") {
  Pics p;
  p.io.out(0x4D1, 1, 0x08);  // IRQ 11 level-triggered
  p.pic.set_irq(11, true);
  p.pic.set_irq(11, false);  // the master's edge-triggered IR2 has latched it already
  CHECK(p.pic.intr());
  CHECK(p.pic.acknowledge() == 0x2F);
  CHECK(p.pic.isr(0) == 0x04);  // the handler ends the master's IR2 only
  CHECK(p.pic.isr(1) == 0);
}

TEST_CASE("8259A: rotate on non-specific EOI makes the ended level the lowest priority") {
  Pics p;
  p.edge(2 + 4);  // IR6
  CHECK(p.pic.acknowledge() == 0x26);
  p.io.out(0x20, 1, 0xA0);  // OCW2: rotate on non-specific EOI
  p.edge(6);
  p.edge(7);
  CHECK(p.pic.acknowledge() == 0x27);  // IR7 is now the highest
}

TEST_CASE("8259A snapshot: a restored pair holds the saved requests, in-service levels and programming") {
  Pics a;
  a.edge(11);
  a.edge(1);
  CHECK(a.pic.acknowledge() == 0x21);
  snapshot::Io out = snapshot::Io::saver();
  a.pic.state(out);
  const std::vector<uint8_t> bytes = out.take();
  Pic8259Pair b;
  snapshot::Io in = snapshot::Io::loader(bytes);
  b.state(in);
  REQUIRE(in.ok());
  CHECK(b.isr(0) == 0x02);
  CHECK(b.irr(1) == 0x08);
  CHECK_FALSE(b.intr());  // IR2 (the slave) waits behind IR1 in service, as in `a`
  a.pic.set_irq(15, true);
  b.set_irq(15, true);
  CHECK(b.irr(1) == a.pic.irr(1));
}

namespace {

struct Timer {
  uint64_t clock = 0;  // nanoseconds (the machine's TSC clock)
  std::vector<bool> levels;
  Pit8254 pit{[this] { return clock; }, [this](bool l) { levels.push_back(l); }};
  IoPortBus io;
  Timer() { REQUIRE(io.add(Pit8254::kPort, pit.ports())); }
  unsigned pulses() const {
    unsigned n = 0;
    for (size_t i = 1; i < levels.size(); ++i) n += levels[i - 1] && !levels[i];
    return n;
  }
};

}  // namespace

TEST_CASE("8254 mode 2 (rate generator): counter 0 raises IRQ 0 every N clocks of 1.193182 MHz, the count read through a latch") {
  // The first nanosecond at or after PIT clock k (the machine's clock is in nanoseconds).
  auto at = [](uint64_t k) { return (k * 1'000'000'000 + 1'193'181) / 1'193'182; };
  Timer t;
  t.io.out(0x43, 1, 0x34);  // counter 0, LSB then MSB, mode 2
  t.io.out(0x40, 1, 0x9C);  // N = 11932: 100 Hz
  t.io.out(0x40, 1, 0x2E);
  REQUIRE(t.pit.next_edge().has_value());
  CHECK(*t.pit.next_edge() == at(11932));
  t.clock = at(11932) - 1;
  t.pit.update();
  CHECK(t.pulses() == 0);
  t.clock = at(11932);
  t.pit.update();
  CHECK(t.pulses() == 1);
  // Half a period on: the latch holds the count until it is read, LSB first.
  t.clock = at(11932 + 5000);
  t.io.out(0x43, 1, 0x00);
  t.clock = at(11932 + 9000);
  const uint32_t lsb = t.io.in(0x40, 1), msb = t.io.in(0x40, 1);
  CHECK((lsb | msb << 8) == 11932 - 5000);
  CHECK(t.io.in(0x40, 1) + (t.io.in(0x40, 1) << 8) == 11932 - 9000);  // unlatched: the count now
  // Three periods later the missed edges coalesce into one pulse (IRQ 0 is an edge).
  t.clock = at(4 * 11932);
  t.pit.update();
  CHECK(t.pulses() == 2);
  CHECK(*t.pit.next_edge() == at(5 * 11932));
}

TEST_CASE("8254 mode 0 (interrupt on terminal count): one edge N + 1 clocks after the count, none after; a control word stops it") {
  Timer t;
  t.io.out(0x43, 1, 0x30);  // counter 0, LSB then MSB, mode 0
  t.io.out(0x40, 1, 99);
  t.io.out(0x40, 1, 0);
  const auto edge = t.pit.next_edge();
  REQUIRE(edge.has_value());
  CHECK(*edge == (uint64_t(100) * 1'000'000'000 + 1'193'181) / 1'193'182);
  t.clock = *edge;
  t.pit.update();
  CHECK(t.pulses() == 1);
  CHECK_FALSE(t.pit.next_edge().has_value());
  t.io.out(0x43, 1, 0x30);
  CHECK_FALSE(t.pit.next_edge().has_value());  // no count written yet
}

TEST_CASE("8254 as the BIOS leaves it: mode 2 with the full count, 18.2 Hz") {
  Timer t;
  t.pit.bios_setup();
  REQUIRE(t.pit.next_edge().has_value());
  CHECK(*t.pit.next_edge() == (uint64_t(65536) * 1'000'000'000 + 1'193'181) / 1'193'182);  // 54.9 ms
}
