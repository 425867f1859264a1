#include "arch/arm64/pl011.h"

#include <array>

namespace irqremap::arm64 {

namespace {
// PrimeCell identification registers UARTPeriphID0-3, UARTPCellID0-3 (DDI0183 §3.3.14-15).
constexpr std::array<uint8_t, 8> kIds{0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};
}  // namespace

void Pl011::update() {
  const bool level = (ris_ & imsc_) != 0;
  if (level == line_) return;
  line_ = level;
  if (irq_) irq_(level);
}

void Pl011::receive(uint8_t byte) {
  if (rx_.size() >= depth()) return;  // overrun: the byte is lost (UARTRSR.OE not modelled)
  rx_.push_back(byte);
  ris_ |= INT_RX;
  update();
}

bool Pl011::fetch(bool at_idle) {
  if (!in_ || !receiver_on() || rx_.size() >= depth()) return false;
  auto b = in_(at_idle);
  if (!b) return false;
  receive(*b);
  return true;
}

bool Pl011::feed_at_idle() {
  if (!(imsc_ & (INT_RX | INT_RT)) || !rx_.empty()) return false;
  return fetch(true);
}

uint64_t Pl011::mmio_read(uint64_t offset, unsigned /*size*/) {
  // The polling point: a guest with receive interrupts masked spins on UARTFR for input.
  if (offset == UARTFR && ++fr_reads_ >= kPollReads && rx_.empty() && !(imsc_ & (INT_RX | INT_RT))) fetch(false);
  switch (offset) {
    case UARTDR: {
      if (rx_.empty()) return 0;
      const uint8_t b = rx_.front();
      rx_.pop_front();
      if (rx_.empty()) {
        ris_ &= ~(INT_RX | INT_RT);
        update();
      }
      return b;  // error bits 11:8 zero
    }
    case UARTFR: {
      uint32_t fr = FR_TXFE;
      if (rx_.empty()) fr |= FR_RXFE;
      if (rx_.size() >= depth()) fr |= FR_RXFF;
      return fr;
    }
    case UARTIBRD: return ibrd_;
    case UARTFBRD: return fbrd_;
    case UARTLCR_H: return lcr_h_;
    case UARTCR: return cr_;
    case UARTIFLS: return ifls_;
    case UARTIMSC: return imsc_;
    case UARTRIS: return ris_;
    case UARTMIS: return ris_ & imsc_;
    default: break;
  }
  if (offset >= UARTPeriphID0 && offset < UARTPeriphID0 + 4 * kIds.size() && offset % 4 == 0)
    return kIds[(offset - UARTPeriphID0) / 4];
  return 0;  // UARTRSR, holes: RAZ
}

void Pl011::mmio_write(uint64_t offset, unsigned /*size*/, uint64_t value) {
  switch (offset) {
    case UARTDR:
      out_(char(value & 0xFF));
      fr_reads_ = 0;
      ris_ |= INT_TX;  // the transmit FIFO drained at once (QEMU's pl011 does the same)
      break;
    case UARTIBRD: ibrd_ = uint32_t(value & 0xFFFF); break;
    case UARTFBRD: fbrd_ = uint32_t(value & 0x3F); break;
    case UARTLCR_H:
      // Leaving FIFO mode keeps at most the holding register's one character.
      lcr_h_ = uint32_t(value & 0xFF);
      while (rx_.size() > depth()) rx_.pop_back();
      break;
    case UARTCR: cr_ = uint32_t(value & 0xFFFF); break;
    case UARTIFLS: ifls_ = uint32_t(value & 0x3F); break;
    case UARTIMSC: imsc_ = uint32_t(value & 0x7FF); break;
    case UARTICR: ris_ &= ~uint32_t(value & 0x7FF); break;
    default: return;  // RSR/ECR, holes: WI
  }
  update();
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void Pl011::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pl011");
  io.field("UARTIBRD", ibrd_);
  io.field("UARTFBRD", fbrd_);
  io.field("UARTLCR_H", lcr_h_);
  io.field("UARTCR", cr_);
  io.field("UARTIFLS", ifls_);
  io.field("UARTIMSC", imsc_);
  io.field("UARTRIS", ris_);
  io.field("UARTFR_polls", fr_reads_);  // UARTFR reads since the last UARTDR write (pl011.h)
  io.field("interrupt_line", line_);
  std::vector<uint8_t> fifo(rx_.begin(), rx_.end());
  io.blob("receive_fifo", fifo, kFifoDepth);
  if (io.loading()) rx_.assign(fifo.begin(), fifo.end());
}

}  // namespace irqremap::arm64
