#pragma once
// PL011 UART, transmit side (Arm DDI0183 PrimeCell UART, §3.3). Enough for firmware that
// prints with a polled TX loop, as on QEMU virt: UARTDR writes go out at once, UARTFR says
// the FIFO is empty and never busy. Receive is not modelled (UARTFR.RXFE reads as one).
#include <cstdint>
#include <functional>
#include <string>

#include "remap/mmio.h"

namespace irqremap::arm64 {

class Pl011 final : public MmioDevice {
 public:
  static constexpr uint64_t UARTDR = 0x000, UARTRSR = 0x004, UARTFR = 0x018, UARTIBRD = 0x024,
                            UARTFBRD = 0x028, UARTLCR_H = 0x02C, UARTCR = 0x030,
                            UARTIFLS = 0x034, UARTIMSC = 0x038, UARTRIS = 0x03C,
                            UARTMIS = 0x040, UARTICR = 0x044, UARTPeriphID0 = 0xFE0;
  // UARTFR bits (§3.3.3).
  static constexpr uint32_t FR_BUSY = 1u << 3, FR_RXFE = 1u << 4, FR_TXFF = 1u << 5,
                            FR_TXFE = 1u << 7;

  // Each transmitted byte goes to `out` (stdout, a capture, ...).
  explicit Pl011(std::function<void(char)> out) : out_(std::move(out)) {}

  std::string_view mmio_name() const override { return "PL011"; }
  uint64_t mmio_size() const override { return 0x1000; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

 private:
  std::function<void(char)> out_;
  uint32_t ibrd_ = 0, fbrd_ = 0, lcr_h_ = 0, cr_ = 0x300, ifls_ = 0x12, imsc_ = 0;
};

}  // namespace irqremap::arm64
