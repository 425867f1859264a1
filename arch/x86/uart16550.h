#pragma once
// 16550A UART at the PC's COM1 ports 0x3F8-0x3FF (National Semiconductor PC16550D
// datasheet, "Register Description" and Table 4 "Interrupt Control Functions"), its
// interrupt on ISA IRQ 4 (I/O APIC input 4), as on QEMU q35.
//
// Transmit: THR writes go out at once; LSR always says the transmitter is empty. The THR
// empty interrupt (IER.ETBEI) is pending after every transmitted byte and when ETBEI is
// enabled with THR empty; reading IIR while it is the one reported, or writing THR,
// clears it (as QEMU's serial does).
// Receive: a 16-byte FIFO (FCR.0 set) or the one-byte RBR; RBR reads pop it, LSR.DR says
// data is there, LSR.OE that a byte arrived with no room (cleared by reading LSR).
// Interrupts in the datasheet's priority order: receiver line status (OE, IER.ELSI),
// received data available (IER.ERBFI: reported as soon as one byte is there, QEMU's
// behaviour at trigger level 1; the datasheet would wait for the FCR trigger level or a
// character timeout), THR empty. The line is high while IIR names one. MCR.LOOP sends
// transmitted bytes to the receiver instead of the line.
//
// Input comes from a source at the two points the PL011 uses (arch/arm64/pl011.h), so a
// run fed from a file or a pipe is deterministic:
//  - polling: kPollReads LSR reads in a row with nothing transmitted or fetched since,
//    the FIFO empty and ERBFI clear (kvm-unit-tests' serial getchar spins on LSR.DR);
//  - idle: every CPU halted with ERBFI set: the machine fetches one byte before it gives
//    up (X86Machine's scheduler idle hook), waiting for it from a file or a pipe.
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "arch/x86/io_port.h"

namespace irqremap::snapshot {
class Io;
}

namespace irqremap::x86 {

class Uart16550 final : public IoPortDevice {
 public:
  static constexpr uint16_t kCom1 = 0x3F8;
  static constexpr unsigned kIsaIrq = 4;  // COM1
  // Register offsets (DLAB=0 unless noted).
  static constexpr uint16_t THR = 0, RBR = 0, DLL = 0 /*DLAB=1*/, IER = 1, DLM = 1 /*DLAB=1*/,
                            IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
  static constexpr uint8_t LCR_DLAB = 0x80, LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
  static constexpr uint8_t IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_ELSI = 0x04;
  static constexpr uint8_t FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, MCR_LOOP = 0x10;
  // IIR interrupt identification (bits 3:0), highest priority first; bit 0 = none pending.
  static constexpr uint8_t IIR_NONE = 0x01, IIR_LINE_STATUS = 0x06, IIR_RX_DATA = 0x04, IIR_THRE = 0x02;
  static constexpr unsigned kFifoDepth = 16;
  static constexpr unsigned kPollReads = 8;

  // The next input byte; `at_idle` as Pl011::Source. nullopt: nothing now, or the end.
  using Source = std::function<std::optional<uint8_t>(bool at_idle)>;

  explicit Uart16550(std::function<void(char)> out) : out_(std::move(out)) {}

  std::string_view io_name() const override { return "UART16550"; }
  uint16_t io_size() const override { return 8; }
  uint32_t io_in(uint16_t offset, unsigned size) override;
  void io_out(uint16_t offset, unsigned size, uint32_t value) override;

  void set_source(Source in) { in_ = std::move(in); }
  void set_irq(std::function<void(bool)> line) { irq_ = std::move(line); }
  // The idle point: one byte if the guest waits for input with ERBFI set. True if one came.
  bool feed_at_idle();
  // A byte on the line (tests; the source's bytes come this way).
  void receive(uint8_t byte);
  std::size_t rx_level() const { return rx_.size(); }
  // Snapshot: every register, the receive FIFO, the line-status and THRE-interrupt state,
  // the poll counter and the interrupt line (uart16550.cpp). The input source is the
  // host's: the bytes it gave are in the FIFO, the next ones are the restoring host's.
  void state(snapshot::Io& io);
  // The IIR identification now (no side effect).
  uint8_t pending() const;

 private:
  bool dlab() const { return (lcr_ & LCR_DLAB) != 0; }
  std::size_t depth() const { return (fcr_ & FCR_ENABLE) ? kFifoDepth : 1; }
  bool fetch(bool at_idle);
  void update();
  void transmit(uint8_t v);

  std::function<void(char)> out_;
  Source in_;
  std::function<void(bool)> irq_;
  bool line_ = false;
  std::deque<uint8_t> rx_;
  bool overrun_ = false, thr_pending_ = false;
  unsigned lsr_reads_ = 0;  // LSR reads since the last THR write
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, fcr_ = 0, dll_ = 0, dlm_ = 0;
};

}  // namespace irqremap::x86
