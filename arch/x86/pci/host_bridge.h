#pragma once
// The q35 host bridge at 00:00.0 (Intel 82G33/P35 MCH "DRAM Controller", as QEMU's
// -M q35 presents it: vendor 8086h, device 29C0h, class 0600h host bridge). Only its
// identity is modelled: it has no BARs and no interrupt, and firmware finds it first
// when it scans bus 0.
#include "arch/x86/pci/generic.h"

namespace irqremap::x86::pci {

class Q35HostBridge final : public PciFunction {
 public:
  static constexpr uint16_t kVendor = 0x8086, kDevice = 0x29C0;
  Q35HostBridge() : config_(kVendor, kDevice, 0x060000, 0x00) {
    config_.set16(cfg::SUBSYSTEM_VENDOR_ID, 0x1AF4);  // QEMU's subsystem IDs
    config_.set16(cfg::SUBSYSTEM_ID, 0x1100);
  }
  std::string_view pci_name() const override { return "q35-host-bridge"; }
  ConfigSpace& config() override { return config_; }

 private:
  ConfigSpace config_;
};

}  // namespace irqremap::x86::pci
