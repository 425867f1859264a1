#pragma once
// What a virtio device type provides to a transport (VIRTIO 1.2 §2 basic facilities, §5
// device types): its identity, its device-type feature bits, its virtqueues, its
// configuration space, and the work it does when the driver notifies a queue. The
// transport (virtio_pci.h) owns feature negotiation, status, the queues' layout, and
// interrupts; the device only takes chains and returns them.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "arch/common/pci/bus_master.h"
#include "arch/common/virtio/split_queue.h"
#include "snapshot/state_io.h"

namespace irqremap::virtio {

// Feature bits reserved for the transport and the queue format (§6).
namespace feature {
inline constexpr unsigned RING_INDIRECT_DESC = 28, RING_EVENT_IDX = 29, VERSION_1 = 32;
}

// Device status bits (§2.1).
namespace status {
inline constexpr uint8_t ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8;
inline constexpr uint8_t DEVICE_NEEDS_RESET = 64, FAILED = 128;
}  // namespace status

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual std::string_view name() const = 0;
  virtual uint16_t device_type() const = 0;     // Virtio Device ID (§5)
  virtual uint64_t device_features() const = 0;  // the device-type bits it offers (0..23)
  virtual unsigned queue_count() const = 0;
  virtual uint16_t queue_max_size(unsigned q) const = 0;
  virtual std::string_view queue_name(unsigned q) const = 0;
  virtual uint32_t config_size() const = 0;
  virtual uint8_t config_byte(uint32_t offset) const = 0;  // offset < config_size()
  virtual void config_write_byte(uint32_t /*offset*/, uint8_t /*value*/) {}
  // Device reset (§2.1: status written 0): back to the initial state.
  virtual void reset() {}
  // The driver notified queue `q` (live): take what it made available and push it back.
  // An error is a format violation (the transport sets DEVICE_NEEDS_RESET).
  virtual std::expected<void, std::string> process(unsigned q, SplitQueue& queue, const pci::BusMaster& bus) = 0;
  // Its part of a snapshot (the transport saves the queues).
  virtual void state(snapshot::Io& io) = 0;
};

}  // namespace irqremap::virtio
