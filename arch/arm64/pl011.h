#pragma once
// PL011 UART (Arm DDI0183 PrimeCell UART r1p5, §3.3 registers, §2.8 interrupts), as QEMU
// virt has it at 0x0900_0000 with its interrupt on SPI 1 (INTID 33).
//
// Transmit: UARTDR writes go out at once; UARTFR says the FIFO is empty and never busy;
// each write raises TXRIS (the FIFO drained at once), as QEMU's pl011 does.
// Receive: a 32-entry FIFO (LCR_H.FEN = 1) or a one-character holding register; UARTDR
// reads pop it, UARTFR.RXFE / RXFF say empty / full. RXRIS is raised for every character
// received (QEMU's trigger level of one, which Linux's driver expects; DDI0183 would wait
// for the IFLS level or the receive timeout) and drops when the FIFO empties. UARTIMSC
// masks, UARTICR clears, UARTMIS = RIS & IMSC drives the interrupt line.
//
// Input comes from a source the machine is given (the CLI: irqremap's stdin) at two
// defined points, so a run whose input is a file or a pipe is deterministic:
//  - polling: the guest reads UARTFR kPollReads times in a row, transmitting nothing in
//    between, while the FIFO is empty and its receive interrupts (RXIM, RTIM) are masked
//    (kvm-unit-tests' getchar spins so); a guest that only prints reads UARTFR at most
//    twice between two characters (Linux's console: TXFF before each, BUSY after the
//    string). A byte that is there already (always, for a file) is fetched, without
//    waiting;
//  - idle: every CPU waits for an interrupt while receive interrupts are unmasked (Linux
//    waiting on its console): the machine fetches one byte before moving time
//    (Arm64Machine::advance_idle_time), waiting for it if the source is a file or a pipe.
// A terminal is never waited for (typing is not deterministic anyway). Bytes are fetched
// only with room in the FIFO and UARTCR.RXE set (its reset value). UARTCR.UARTEN does not
// gate reception, as on QEMU 7.2 (hw/char/pl011.c, pl011_can_receive looks at the FIFO
// only): kvm-unit-tests never sets it and waits for its migration key on UARTFR.RXFE.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "remap/mmio.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

class Pl011 final : public MmioDevice {
 public:
  static constexpr uint64_t UARTDR = 0x000, UARTRSR = 0x004, UARTFR = 0x018, UARTIBRD = 0x024,
                            UARTFBRD = 0x028, UARTLCR_H = 0x02C, UARTCR = 0x030,
                            UARTIFLS = 0x034, UARTIMSC = 0x038, UARTRIS = 0x03C,
                            UARTMIS = 0x040, UARTICR = 0x044, UARTPeriphID0 = 0xFE0;
  // UARTFR bits (§3.3.3).
  static constexpr uint32_t FR_BUSY = 1u << 3, FR_RXFE = 1u << 4, FR_TXFF = 1u << 5, FR_RXFF = 1u << 6,
                            FR_TXFE = 1u << 7;
  // Interrupt bits of UARTIMSC / RIS / MIS / ICR (§3.3.12-15).
  static constexpr uint32_t INT_RX = 1u << 4, INT_TX = 1u << 5, INT_RT = 1u << 6;
  static constexpr uint32_t CR_UARTEN = 1u << 0, CR_RXE = 1u << 9, LCR_H_FEN = 1u << 4;
  static constexpr unsigned kFifoDepth = 32;
  static constexpr unsigned kPollReads = 8;

  // The next input byte. `at_idle`: the idle point, where a source may wait for its byte
  // (a file or a pipe); at the polling point it answers at once. nullopt: nothing now,
  // or the end of input.
  using Source = std::function<std::optional<uint8_t>(bool at_idle)>;

  // Each transmitted byte goes to `out` (stdout, a capture, ...).
  explicit Pl011(std::function<void(char)> out) : out_(std::move(out)) {}

  std::string_view mmio_name() const override { return "PL011"; }
  uint64_t mmio_size() const override { return 0x1000; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // Where input comes from (none: the receive FIFO stays empty, RXFE reads one).
  void set_source(Source in) { in_ = std::move(in); }
  // The interrupt line (UARTINTR, MIS != 0).
  void set_irq(std::function<void(bool)> line) { irq_ = std::move(line); }
  // The idle point: fetches one byte if the guest waits for input with its receive
  // interrupts unmasked. True when a byte arrived.
  bool feed_at_idle();
  // A byte on the line (tests; the source's bytes come this way).
  void receive(uint8_t byte);
  std::size_t rx_level() const { return rx_.size(); }
  uint32_t raw_interrupts() const { return ris_; }

  // Its part of a snapshot: the registers, the receive FIFO, the UARTFR poll count and
  // the interrupt line's level.
  void state(snapshot::Io& io);
 private:
  bool receiver_on() const { return (cr_ & CR_RXE) != 0; }
  std::size_t depth() const { return (lcr_h_ & LCR_H_FEN) ? kFifoDepth : 1; }
  bool fetch(bool at_idle);  // one byte from the source into the FIFO
  void update();

  std::function<void(char)> out_;
  Source in_;
  std::function<void(bool)> irq_;
  bool line_ = false;
  std::deque<uint8_t> rx_;
  unsigned fr_reads_ = 0;  // UARTFR reads since the last UARTDR write
  uint32_t ibrd_ = 0, fbrd_ = 0, lcr_h_ = 0, cr_ = 0x300, ifls_ = 0x12, imsc_ = 0, ris_ = 0;
};

}  // namespace irqremap::arm64
