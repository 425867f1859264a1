#pragma once
// The entropy device (VIRTIO 1.2 §5.4): Device ID 4, one queue "requestq" (Linux names it
// "input"), no feature bits, no configuration space. The driver makes device-writable
// buffers available; the device fills each with random bytes and returns it with the
// count written (§5.4.6.2: the device MUST place random bytes into the buffer; readable
// buffers in a chain get nothing).
//
// The bytes come from std::mt19937_64 seeded with `seed` (the --rng-seed flag), so two runs
// with the same seed see the same bytes: irqremap runs are deterministic, QEMU's default
// backend (/dev/urandom) is not. The queue holds at most 8 entries, as QEMU's virtio-rng.
#include <cstdint>
#include <random>

#include "arch/common/virtio/virtio_device.h"
#include "snapshot/state_io.h"

namespace irqremap::virtio {

class VirtioRng final : public VirtioDevice {
 public:
  static constexpr uint16_t kDeviceType = 4;
  static constexpr uint16_t kQueueSize = 8;

  explicit VirtioRng(uint64_t seed) : gen_(seed) {}
  std::string_view name() const override { return "virtio-rng"; }
  uint16_t device_type() const override { return kDeviceType; }
  uint64_t device_features() const override { return 0; }
  unsigned queue_count() const override { return 1; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  std::string_view queue_name(unsigned) const override { return "requestq"; }
  uint32_t config_size() const override { return 0; }
  uint8_t config_byte(uint32_t) const override { return 0; }
  std::expected<void, std::string> process(unsigned q, SplitQueue& queue, const pci::BusMaster& bus) override;

  uint64_t bytes_given() const { return bytes_; }
  uint64_t requests() const { return requests_; }
  // The generator's whole state (std::mt19937_64's textual form), the word being handed
  // out and the counts.
  void state(snapshot::Io& io) override;

 private:
  uint8_t next_byte();

  std::mt19937_64 gen_;
  uint64_t word_ = 0;
  unsigned left_ = 0;  // bytes of word_ not handed out yet
  uint64_t bytes_ = 0, requests_ = 0;
};

}  // namespace irqremap::virtio
