#pragma once
// The common device (device::MsgDevice) as a PCI function, so firmware finds it by a bus
// scan the way an OS does. device/ stays bus-neutral; this wrapper adds the PCI face:
//  - vendor 1234h, device 494Dh ("IM"), class FF00h (unassigned): irqremap's own IDs, in
//    the 1234h space QEMU's edu also uses;
//  - BAR0, 64 KiB memory, holding the device's register window (msg_device_regs.h) at 0;
//    beyond the window reads 0 and ignores writes. Pre-assigned at the machine's fixed
//    IMSDEV address so firmware that never touches PCI keeps working;
//  - an MSI-X capability (PCI 3.0 §6.8.2) at 0x40 describing the message store: its slots
//    are 16-byte {address_lo, address_hi, data, ctrl(bit 0 mask)} entries, the MSI-X table
//    layout, so Table Size = slots - 1 and the table is BAR0 + SLOT_BASE. The device keeps
//    pending events in its own PENDING register; the PBA the capability must name is the
//    read-only page at BAR0 + 0x1000, which reads 0. The device's own mask and one-shot
//    rules govern delivery: MSI-X Enable and Function Mask are recorded, not applied,
//    because the store is also the IMS slot array the rest of the project drives directly.
//  - no INTx (Interrupt Pin 0). Its requester ID is the one the device sends with.
#include "arch/x86/pci/generic.h"
#include "device/msg_device.h"

namespace irqremap::x86::pci {

class MsgDeviceFunction final : public PciFunction {
 public:
  static constexpr uint16_t kVendor = 0x1234, kDevice = 0x494D;
  static constexpr uint64_t kBarSize = 0x1'0000;
  static constexpr uint64_t kPbaOffset = 0x1000;
  static constexpr uint8_t kMsixId = 0x11;

  explicit MsgDeviceFunction(device::MsgDevice& dev);

  std::string_view pci_name() const override { return "msg-device"; }
  ConfigSpace& config() override { return config_; }
  uint64_t bar_read(unsigned bar, uint64_t offset, unsigned size) override;
  void bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) override;
  unsigned msix_offset() const { return msix_; }

 private:
  device::MsgDevice& dev_;
  ConfigSpace config_;
  unsigned msix_;
};

}  // namespace irqremap::x86::pci
