#include "arch/x86/pci/msg_device_function.h"

namespace irqremap::x86::pci {

MsgDeviceFunction::MsgDeviceFunction(device::MsgDevice& dev)
    : dev_(dev), config_(kVendor, kDevice, 0xFF0000, 0x01) {
  config_.add_bar(0, BarKind::Mem32, kBarSize);
  // MSI-X (§6.8.2): +2 Message Control (Table Size 10:0 RO, Function Mask 14, Enable 15),
  // +4 Table Offset/BIR, +8 PBA Offset/BIR; BIR 0 = BAR0.
  msix_ = config_.add_capability(kMsixId, 12);
  config_.set16(msix_ + 2, uint16_t(dev.config().slots - 1));
  config_.set_wmask(msix_ + 2, 2, 0xC000);
  config_.set32(msix_ + 4, uint32_t(device::reg::SLOT_BASE));
  config_.set32(msix_ + 8, uint32_t(kPbaOffset));
}

uint64_t MsgDeviceFunction::bar_read(unsigned /*bar*/, uint64_t offset, unsigned size) {
  if (offset + size <= dev_.mmio_size()) return dev_.mmio_read(offset, size);
  return 0;
}

void MsgDeviceFunction::bar_write(unsigned /*bar*/, uint64_t offset, unsigned size, uint64_t value) {
  if (offset + size <= dev_.mmio_size()) dev_.mmio_write(offset, size, value);
}

}  // namespace irqremap::x86::pci
