#pragma once
// 16550A UART, transmit side, at the PC's COM1 ports 0x3F8-0x3FF (National Semiconductor
// PC16550D datasheet, "Register Description"). Enough for firmware that prints with a
// polled loop on LSR.THRE, as on QEMU: THR writes go out at once, LSR always says the
// transmitter is empty. Receive and the UART's interrupt are not modelled (LSR.DR=0,
// IIR reads 01h "no interrupt pending"); the divisor latch and the other registers keep
// what software writes.
#include <cstdint>
#include <functional>

#include "arch/x86/io_port.h"

namespace irqremap::x86 {

class Uart16550 final : public IoPortDevice {
 public:
  static constexpr uint16_t kCom1 = 0x3F8;
  // Register offsets (DLAB=0 unless noted).
  static constexpr uint16_t THR = 0, RBR = 0, DLL = 0 /*DLAB=1*/, IER = 1, DLM = 1 /*DLAB=1*/,
                            IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
  static constexpr uint8_t LCR_DLAB = 0x80, LSR_THRE = 0x20, LSR_TEMT = 0x40;

  explicit Uart16550(std::function<void(char)> out) : out_(std::move(out)) {}

  std::string_view io_name() const override { return "UART16550"; }
  uint16_t io_size() const override { return 8; }
  uint32_t io_in(uint16_t offset, unsigned size) override;
  void io_out(uint16_t offset, unsigned size, uint32_t value) override;

 private:
  bool dlab() const { return (lcr_ & LCR_DLAB) != 0; }
  std::function<void(char)> out_;
  uint8_t ier_ = 0, lcr_ = 0, mcr_ = 0, scr_ = 0, fcr_ = 0, dll_ = 0, dlm_ = 0;
};

}  // namespace irqremap::x86
