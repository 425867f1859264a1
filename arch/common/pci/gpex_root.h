#pragma once
// The host bridge function of a generic ECAM host at 00:00.0, as QEMU's gpex presents it
// (hw/pci-host/gpex.c, "gpex-root"): Red Hat vendor 1B36h, device 0008h (PCIe host
// bridge), class 0600h host bridge, revision 0, QEMU's default subsystem IDs 1AF4h:1100h.
// Identity only: no BARs, no interrupt, no capabilities.
#include "arch/common/pci/pci_function.h"

namespace irqremap::pci {

class GpexRoot final : public PciFunction {
 public:
  static constexpr uint16_t kVendor = 0x1B36, kDevice = 0x0008;
  GpexRoot() : config_(kVendor, kDevice, 0x060000, 0x00) {
    config_.set16(cfg::SUBSYSTEM_VENDOR_ID, 0x1AF4);
    config_.set16(cfg::SUBSYSTEM_ID, 0x1100);
  }
  std::string_view pci_name() const override { return "gpex-root"; }
  ConfigSpace& config() override { return config_; }

 private:
  ConfigSpace config_;
};

}  // namespace irqremap::pci
