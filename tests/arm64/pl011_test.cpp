// The PL011's receive path (arch/arm64/pl011.h; Arm DDI0183 §3.3 UARTDR, UARTFR, the
// interrupt registers): the FIFO and the holding register, RXRIS and the interrupt line,
// and the two points where input is fetched from the machine's source.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "arch/arm64/pl011.h"

using irqremap::arm64::Pl011;

namespace {

struct Rig {
  std::string out;
  std::string input;
  std::vector<bool> at_idle;  // how each fetch was made
  std::vector<bool> line;
  Pl011 uart{[this](char c) { out += c; }};
  Rig() {
    uart.set_source([this](bool idle) -> std::optional<uint8_t> {
      at_idle.push_back(idle);
      if (input.empty()) return std::nullopt;
      const uint8_t b = uint8_t(input.front());
      input.erase(0, 1);
      return b;
    });
    uart.set_irq([this](bool l) { line.push_back(l); });
    uart.mmio_write(Pl011::UARTCR, 4, Pl011::CR_UARTEN | Pl011::CR_RXE | (1u << 8));
  }
  uint32_t fr() { return uint32_t(uart.mmio_read(Pl011::UARTFR, 4)); }
};

}  // namespace

TEST_CASE("PL011: a received byte clears RXFE, raises RXRIS and, unmasked, the interrupt line; reading UARTDR empties it") {
  Rig r;
  CHECK((r.fr() & Pl011::FR_RXFE) != 0);
  r.uart.receive('a');
  CHECK((r.fr() & Pl011::FR_RXFE) == 0);
  CHECK((r.fr() & Pl011::FR_RXFF) != 0);  // FIFOs off: a one-character holding register
  CHECK(r.uart.mmio_read(Pl011::UARTRIS, 4) == Pl011::INT_RX);
  CHECK(r.uart.mmio_read(Pl011::UARTMIS, 4) == 0);
  CHECK(r.line.empty());
  r.uart.mmio_write(Pl011::UARTIMSC, 4, Pl011::INT_RX);
  CHECK(r.line == std::vector<bool>{true});
  r.uart.receive('b');  // overrun: the holding register keeps 'a'
  CHECK(r.uart.mmio_read(Pl011::UARTDR, 4) == 'a');
  CHECK(r.line == std::vector<bool>{true, false});
  CHECK(r.uart.mmio_read(Pl011::UARTRIS, 4) == 0);
  // With the FIFO on (LCR_H.FEN) it holds 32.
  r.uart.mmio_write(Pl011::UARTLCR_H, 4, Pl011::LCR_H_FEN);
  for (int i = 0; i < 40; ++i) r.uart.receive(uint8_t('0' + i % 10));
  CHECK(r.uart.rx_level() == Pl011::kFifoDepth);
  // Transmit raises TXRIS (the FIFO drains at once); UARTICR clears it.
  r.uart.mmio_write(Pl011::UARTDR, 4, 'x');
  CHECK(r.out == "x");
  CHECK((r.uart.mmio_read(Pl011::UARTRIS, 4) & Pl011::INT_TX) != 0);
  r.uart.mmio_write(Pl011::UARTICR, 4, Pl011::INT_TX);
  CHECK((r.uart.mmio_read(Pl011::UARTRIS, 4) & Pl011::INT_TX) == 0);
}

TEST_CASE("PL011: input is fetched at the polling point (eight UARTFR reads without a transmit, receive interrupts masked), never waiting") {
  Rig r;
  r.input = "hi";
  for (unsigned i = 1; i < Pl011::kPollReads; ++i) CHECK((r.fr() & Pl011::FR_RXFE) != 0);
  CHECK(r.at_idle.empty());
  r.uart.mmio_write(Pl011::UARTDR, 4, '.');  // a guest that prints is not polling for input
  for (unsigned i = 1; i < Pl011::kPollReads; ++i) (void)r.fr();
  CHECK(r.at_idle.empty());
  CHECK((r.fr() & Pl011::FR_RXFE) == 0);  // the eighth read in a row fetched 'h'
  CHECK(r.at_idle == std::vector<bool>{false});
  CHECK(r.uart.mmio_read(Pl011::UARTDR, 4) == 'h');
  CHECK((r.fr() & Pl011::FR_RXFE) == 0);  // still polling: 'i' at once
  CHECK(r.uart.mmio_read(Pl011::UARTDR, 4) == 'i');
  // Receiver off (UARTCR.RXE clear): nothing is fetched.
  r.input = "z";
  r.uart.mmio_write(Pl011::UARTCR, 4, Pl011::CR_UARTEN);
  for (unsigned i = 0; i < 2 * Pl011::kPollReads; ++i) CHECK((r.fr() & Pl011::FR_RXFE) != 0);
  CHECK(r.input == "z");
}

TEST_CASE("PL011: at the idle point a byte is fetched only when receive interrupts are unmasked and the FIFO is empty") {
  Rig r;
  r.input = "ok";
  CHECK_FALSE(r.uart.feed_at_idle());  // masked: the guest does not wait on an interrupt
  r.uart.mmio_write(Pl011::UARTIMSC, 4, Pl011::INT_RX | Pl011::INT_RT);
  CHECK(r.uart.feed_at_idle());
  CHECK(r.at_idle == std::vector<bool>{true});
  CHECK(r.line == std::vector<bool>{true});
  CHECK_FALSE(r.uart.feed_at_idle());  // not empty yet
  CHECK(r.uart.mmio_read(Pl011::UARTDR, 4) == 'o');
  CHECK(r.uart.feed_at_idle());
  CHECK(r.uart.mmio_read(Pl011::UARTDR, 4) == 'k');
  CHECK_FALSE(r.uart.feed_at_idle());  // the source has nothing more
}
