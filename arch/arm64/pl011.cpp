#include "arch/arm64/pl011.h"

#include <array>

namespace irqremap::arm64 {

namespace {
// PrimeCell identification registers UARTPeriphID0-3, UARTPCellID0-3 (DDI0183 §3.3.14-15).
constexpr std::array<uint8_t, 8> kIds{0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1};
}  // namespace

uint64_t Pl011::mmio_read(uint64_t offset, unsigned /*size*/) {
  switch (offset) {
    case UARTFR: return FR_TXFE | FR_RXFE;
    case UARTIBRD: return ibrd_;
    case UARTFBRD: return fbrd_;
    case UARTLCR_H: return lcr_h_;
    case UARTCR: return cr_;
    case UARTIFLS: return ifls_;
    case UARTIMSC: return imsc_;
    default: break;
  }
  if (offset >= UARTPeriphID0 && offset < UARTPeriphID0 + 4 * kIds.size() && offset % 4 == 0)
    return kIds[(offset - UARTPeriphID0) / 4];
  return 0;  // UARTDR (no receive), UARTRSR, RIS/MIS, holes: RAZ
}

void Pl011::mmio_write(uint64_t offset, unsigned /*size*/, uint64_t value) {
  switch (offset) {
    case UARTDR: out_(char(value & 0xFF)); break;
    case UARTIBRD: ibrd_ = uint32_t(value & 0xFFFF); break;
    case UARTFBRD: fbrd_ = uint32_t(value & 0x3F); break;
    case UARTLCR_H: lcr_h_ = uint32_t(value & 0xFF); break;
    case UARTCR: cr_ = uint32_t(value & 0xFFFF); break;
    case UARTIFLS: ifls_ = uint32_t(value & 0x3F); break;
    case UARTIMSC: imsc_ = uint32_t(value & 0x7FF); break;
    default: break;  // UARTICR (nothing pending), RSR/ECR, holes: WI
  }
}

}  // namespace irqremap::arm64
