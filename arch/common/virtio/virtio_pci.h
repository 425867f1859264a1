#pragma once
// The virtio PCI transport of a transitional device (VIRTIO 1.2 §4.1), laid out as QEMU
// 7.2's virtio-pci lays out `-device virtio-rng-pci` on a root bus (read back from QEMU's
// config space: same IDs, BARs, capability offsets and MSI-X geometry), so Linux's probe
// prints the same lines on both:
//
//   IDs     vendor 1AF4h, device 1000h + type-specific (transitional ID, §4.1.2.1: 1005h
//           for entropy), revision 0, subsystem 1AF4h:<Virtio Device ID>, interrupt pin A
//   BAR0    I/O, 32 bytes      the legacy interface (§4.1.4.8)
//   BAR1    memory, 4 KiB      MSI-X table at 0, PBA at 0x800, 2 vectors
//   BAR4    64-bit prefetchable memory, 16 KiB: common configuration at 0x0000, ISR
//           status at 0x1000, device configuration at 0x2000, notifications at 0x3000
//           (notify_off_multiplier 4, queue_notify_off = queue index)
//   caps    0x40 common, 0x50 ISR, 0x60 device, 0x70 notify, 0x84 PCI configuration
//           access (§4.1.4.9), 0x98 MSI-X
//
// Features offered: VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX and the
// device's own (the legacy HostFeatures register shows bits 0..31). FEATURES_OK sticks only
// when the driver accepted a subset of those, and through the modern interface only with
// VERSION_1 (§2.2.2, §6.1).
//
// Queues are the device's split virtqueues (split_queue.h). A notification makes the
// device take every available chain at once, inside the guest's store: the interrupt it
// raises is pending when that store retires. Interrupts: with MSI-X enabled, the vector the
// driver mapped (NO_VECTOR: none); otherwise ISR bit 0 / bit 1 and INTx (§4.1.4.5, §4.1.5).
// Before DRIVER_OK the device consumes nothing (§3.1.2); available chains are taken when
// DRIVER_OK is set.
//
// Errors (§2.1.2): a queue format violation, a ring the bus master cannot reach, or a
// queue enabled with an invalid layout sets DEVICE_NEEDS_RESET, stops the queues, and
// (after DRIVER_OK) sends a configuration change interrupt, as QEMU's virtio_error does.
// Only a reset (status 0) clears it. Register accesses the layout does not define read 0
// and are dropped, and each is traced.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/common/pci/bus_master.h"
#include "arch/common/pci/msix_capability.h"
#include "arch/common/pci/pci_function.h"
#include "arch/common/virtio/split_queue.h"
#include "arch/common/virtio/virtio_device.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::virtio {

inline constexpr uint16_t kNoVector = 0xFFFF;  // VIRTIO_MSI_NO_VECTOR (§4.1.5.1.2)

class VirtioPci final : public pci::PciFunction {
 public:
  static constexpr uint16_t kVendor = 0x1AF4;
  static constexpr unsigned kLegacyBar = 0, kMsixBar = 1, kModernBar = 4;
  static constexpr uint64_t kMsixBarSize = 0x1000, kModernBarSize = 0x4000;
  static constexpr uint32_t kRegion = 0x1000;  // each modern structure's slice of BAR4
  static constexpr uint32_t kCommonAt = 0x0000, kIsrAt = 0x1000, kDeviceAt = 0x2000, kNotifyAt = 0x3000;
  static constexpr uint32_t kNotifyMultiplier = 4;
  static constexpr unsigned kMsixVectors = 2;
  static constexpr uint32_t kPbaAt = 0x800;

  // `transitional_id`: the PCI device ID of the transitional device (§4.1.2.1, Table 4.1);
  // `class_code`: 24-bit class. DMA goes through `translator` (nullptr: untranslated).
  VirtioPci(VirtioDevice& dev, uint16_t transitional_id, uint32_t class_code, GuestMemory& mem,
            pci::DmaTranslator* translator, MsiSink& msi);

  // The bus number / devfn the function was placed at: its requester ID for MSIs and DMA.
  void set_requester_id(uint16_t rid);
  uint16_t requester_id() const { return rid_; }

  std::string_view pci_name() const override { return name_; }
  pci::ConfigSpace& config() override { return config_; }
  uint32_t config_read(unsigned offset, unsigned size) override;
  void config_written(unsigned offset, unsigned size) override;
  uint64_t bar_read(unsigned bar, uint64_t offset, unsigned size) override;
  void bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) override;

  uint8_t device_status() const { return status_; }
  uint64_t device_features() const;  // everything offered
  uint64_t driver_features() const { return driver_features_; }
  const SplitQueue& queue(unsigned q) const { return queues_.at(q).ring; }
  uint16_t queue_vector(unsigned q) const { return queues_.at(q).vector; }
  uint16_t config_vector() const { return config_vector_; }
  const pci::MsixCapability& msix() const { return *msix_; }
  uint64_t notifications() const { return notifications_; }
  uint64_t interrupts() const { return interrupts_; }
  // The function's part plus the device status, ISR, feature selects and driver
  // features, the MSI-X table, each queue's registers and ring state, then the device's.
  void state(snapshot::Io& io) override;
  Trace& trace() { return trace_; }

 private:
  struct Queue {
    uint16_t size = 0;
    uint16_t vector = kNoVector;
    bool enabled = false;
    uint64_t desc = 0, driver = 0, device = 0;
    SplitQueue ring;
  };
  // Common configuration (§4.1.4.3): one field table drives reads, byte merges and names.
  struct Field {
    uint16_t offset;
    uint8_t width;
    const char* name;
  };
  static const std::array<Field, 16> kCommon;
  static const std::array<Field, 10> kLegacy;
  uint64_t common_get(const Field& f) const;
  void common_set(const Field& f, uint64_t v);
  uint64_t common_read(uint64_t offset, unsigned size) const;
  void common_write(uint64_t offset, unsigned size, uint64_t value);

  uint64_t legacy_get(const Field& f) const;  // without the ISR read's side effect
  uint64_t legacy_read(uint64_t offset, unsigned size);
  void legacy_write(uint64_t offset, unsigned size, uint64_t value);
  uint32_t legacy_config_at() const { return msix_->enabled() ? 24 : 20; }

  uint64_t modern_read(uint64_t offset, unsigned size);
  void modern_write(uint64_t offset, unsigned size, uint64_t value);

  // The BAR access pci_cfg_cap's bar/offset/length name, if valid (§4.1.4.9).
  struct PciCfgAccess {
    unsigned bar;
    uint32_t offset;
    unsigned length;
  };
  std::optional<PciCfgAccess> pci_cfg_access() const;
  void write_status(uint8_t value, bool modern);
  void reset();
  void enable_queue(unsigned q, const SplitQueue::Layout& layout);
  void notify(unsigned q);
  void run_queue(unsigned q);
  void interrupt(uint16_t vector, uint8_t isr_bit);
  void needs_reset(const std::string& why);
  uint8_t read_isr();
  pci::BusMaster bus() const { return pci::BusMaster(mem_, translator_, rid_); }
  void note(EventKind kind, std::string text) const;

  VirtioDevice& dev_;
  std::string name_;
  GuestMemory& mem_;
  pci::DmaTranslator* translator_;
  uint16_t rid_ = 0;
  pci::ConfigSpace config_;
  std::unique_ptr<pci::MsixCapability> msix_;
  unsigned pci_cfg_cap_ = 0;  // offset of the PCI configuration access capability
  uint8_t status_ = 0, isr_ = 0;
  uint32_t device_feature_select_ = 0, driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t config_vector_ = kNoVector, queue_select_ = 0;
  std::vector<Queue> queues_;
  uint64_t notifications_ = 0, interrupts_ = 0;
  Trace trace_;
};

}  // namespace irqremap::virtio
