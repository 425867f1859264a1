#pragma once
// The MSI capability (PCI Local Bus Specification 3.0 §6.8.1), ID 05h, in its 64-bit form
// without per-vector masking (QEMU's msi_init(dev, 0, 1, true, false), which edu uses):
//   +0 ID, next   +2 Message Control   +4 Message Address   +8 Message Upper Address
//   +C Message Data (16 bits)
// The state lives in the config bytes; the message is derived when it is sent.
#include <cstdint>

#include "arch/common/pci/config_space.h"
#include "remap/msi.h"

namespace irqremap::pci {

class MsiCapability {
 public:
  static constexpr uint8_t kId = 0x05;
  static constexpr uint16_t ENABLE = 1u << 0;      // Message Control: MSI Enable
  static constexpr uint16_t MME = 0x7u << 4;       // Multiple Message Enable
  static constexpr uint16_t ADDR64 = 1u << 7;      // 64 bit address capable

  // Adds the capability with one vector (MMC = 0) and a 64-bit address.
  explicit MsiCapability(ConfigSpace& c) : c_(c), at_(c.add_capability(kId, 0x0E)) {
    c_.set16(at_ + 2, ADDR64);
    c_.set_wmask(at_ + 2, 2, ENABLE | MME);
    c_.set_wmask(at_ + 4, 4, 0xFFFF'FFFCu);  // dword-aligned address
    c_.set_wmask(at_ + 8, 4, 0xFFFF'FFFFu);
    c_.set_wmask(at_ + 12, 2, 0xFFFF);
  }
  unsigned offset() const { return at_; }
  bool enabled() const { return (c_.get16(at_ + 2) & ENABLE) != 0; }
  // The message for vector 0 (§6.8.3.3: with MME = 0 the data is sent as programmed).
  MsiWrite message(uint16_t requester_id) const {
    const uint64_t address = c_.get32(at_ + 4) | (uint64_t(c_.get32(at_ + 8)) << 32);
    return MsiWrite{address, c_.get16(at_ + 12), requester_id};
  }

 private:
  ConfigSpace& c_;
  unsigned at_;
};

}  // namespace irqremap::pci
