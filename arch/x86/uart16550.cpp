#include "arch/x86/uart16550.h"

namespace irqremap::x86 {

uint32_t Uart16550::io_in(uint16_t offset, unsigned /*size*/) {
  switch (offset) {
    case RBR: return dlab() ? dll_ : 0;  // nothing is ever received
    case IER: return dlab() ? dlm_ : ier_;
    case IIR: return (fcr_ & 1) ? 0xC1 : 0x01;  // FIFOs enabled bits 7:6; 01 = none pending
    case LCR: return lcr_;
    case MCR: return mcr_;
    case LSR: return LSR_THRE | LSR_TEMT;  // transmitter always empty
    case MSR: return 0xB0;                 // DCD, DSR, CTS asserted: a null modem
    case SCR: return scr_;
    default: return 0xFF;
  }
}

void Uart16550::io_out(uint16_t offset, unsigned /*size*/, uint32_t value) {
  const uint8_t v = uint8_t(value);
  switch (offset) {
    case THR:
      if (dlab()) dll_ = v; else out_(char(v));
      break;
    case IER:
      if (dlab()) dlm_ = v; else ier_ = v & 0x0F;
      break;
    case FCR: fcr_ = v & 0xC9; break;
    case LCR: lcr_ = v; break;
    case MCR: mcr_ = v & 0x1F; break;
    case SCR: scr_ = v; break;
    default: break;  // LSR, MSR: read-only
  }
}

}  // namespace irqremap::x86
