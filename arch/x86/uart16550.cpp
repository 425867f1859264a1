#include "arch/x86/uart16550.h"

#include "snapshot/state_io.h"

namespace irqremap::x86 {

uint8_t Uart16550::pending() const {
  if ((ier_ & IER_ELSI) && overrun_) return IIR_LINE_STATUS;
  if ((ier_ & IER_ERBFI) && !rx_.empty()) return IIR_RX_DATA;
  if ((ier_ & IER_ETBEI) && thr_pending_) return IIR_THRE;
  return IIR_NONE;
}

void Uart16550::update() {
  const bool level = pending() != IIR_NONE;
  if (level == line_) return;
  line_ = level;
  if (irq_) irq_(level);
}

void Uart16550::receive(uint8_t byte) {
  if (rx_.size() >= depth()) {
    overrun_ = true;  // the byte is lost (datasheet: LSR bit 1)
  } else {
    rx_.push_back(byte);
  }
  update();
}

bool Uart16550::fetch(bool at_idle) {
  if (!in_ || rx_.size() >= depth() || (mcr_ & MCR_LOOP)) return false;
  auto b = in_(at_idle);
  if (!b) return false;
  receive(*b);
  return true;
}

bool Uart16550::feed_at_idle() {
  if (!(ier_ & IER_ERBFI) || !rx_.empty()) return false;
  return fetch(true);
}

void Uart16550::transmit(uint8_t v) {
  if (mcr_ & MCR_LOOP) receive(v);  // loopback: to the receiver, not the line
  else out_(char(v));
  lsr_reads_ = 0;
  thr_pending_ = true;  // the byte left at once: THR is empty again
}

uint32_t Uart16550::io_in(uint16_t offset, unsigned /*size*/) {
  switch (offset) {
    case RBR: {
      if (dlab()) return dll_;
      if (rx_.empty()) return 0;
      const uint8_t b = rx_.front();
      rx_.pop_front();
      update();
      return b;
    }
    case IER: return dlab() ? dlm_ : ier_;
    case IIR: {
      const uint8_t id = pending();
      if (id == IIR_THRE) {  // reading IIR reports and clears the THR empty interrupt
        thr_pending_ = false;
        update();
      }
      return uint32_t((fcr_ & FCR_ENABLE) ? 0xC0 : 0x00) | id;  // FIFOs enabled: bits 7:6
    }
    case LCR: return lcr_;
    case MCR: return mcr_;
    case LSR: {
      // The polling point: a guest with ERBFI clear spins on LSR.DR for input.
      // Counting starts again after a fetch, so firmware that reads LSR once before each
      // byte it sends never takes input it is not waiting for.
      if (++lsr_reads_ >= kPollReads && rx_.empty() && !(ier_ & IER_ERBFI) && fetch(false)) lsr_reads_ = 0;
      uint8_t lsr = LSR_THRE | LSR_TEMT;  // the transmitter is always empty
      if (!rx_.empty()) lsr |= LSR_DR;
      if (overrun_) lsr |= LSR_OE;
      overrun_ = false;  // reading LSR clears the error bits
      update();
      return lsr;
    }
    case MSR: return 0xB0;  // DCD, DSR, CTS asserted: a null modem
    case SCR: return scr_;
    default: return 0xFF;
  }
}

void Uart16550::io_out(uint16_t offset, unsigned /*size*/, uint32_t value) {
  const uint8_t v = uint8_t(value);
  switch (offset) {
    case THR:
      if (dlab()) dll_ = v;
      else transmit(v);
      break;
    case IER:
      if (dlab()) {
        dlm_ = v;
      } else {
        // Enabling ETBEI with THR empty makes the THR empty interrupt pending.
        if ((v & IER_ETBEI) && !(ier_ & IER_ETBEI)) thr_pending_ = true;
        ier_ = v & 0x0F;
      }
      break;
    case FCR:
      if ((v & FCR_ENABLE) != (fcr_ & FCR_ENABLE) || (v & FCR_CLEAR_RX)) {
        rx_.clear();  // changing FIFO mode or FCR bit 1 resets the receive FIFO
        overrun_ = false;
      }
      fcr_ = v & 0xC9;  // bits 1 and 2 clear themselves
      break;
    case LCR: lcr_ = v; break;
    case MCR: mcr_ = v & 0x1F; break;
    case SCR: scr_ = v; break;
    default: break;  // LSR, MSR: read-only
  }
  update();
}


void Uart16550::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "com1");
  io.field("IER", ier_);
  io.field("LCR", lcr_);
  io.field("MCR", mcr_);
  io.field("SCR", scr_);
  io.field("FCR", fcr_);
  io.field("DLL", dll_);
  io.field("DLM", dlm_);
  io.field("LSR_OE", overrun_);
  io.field("THRE_interrupt", thr_pending_);  // the THRE interrupt not yet cleared (IIR read / THR write)
  io.field("LSR_polls", lsr_reads_);
  io.field("INTR", line_);  // the level the I/O APIC input sees
  std::vector<uint8_t> rx(rx_.begin(), rx_.end());
  io.blob("RX_FIFO", rx, kFifoDepth);
  if (io.loading() && io.ok()) rx_.assign(rx.begin(), rx.end());
}

}  // namespace irqremap::x86
