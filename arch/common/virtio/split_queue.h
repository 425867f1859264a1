#pragma once
// A split virtqueue as the device sees it (Virtual I/O Device (VIRTIO) Version 1.2, §2.7):
//
//   Descriptor Table  16 bytes each: le64 addr, le32 len, le16 flags (NEXT 1, WRITE 2,
//                     INDIRECT 4), le16 next                                  (§2.7.5)
//   Available Ring    le16 flags (NO_INTERRUPT 1), le16 idx, le16 ring[size],
//                     le16 used_event (with VIRTIO_F_EVENT_IDX)              (§2.7.6)
//   Used Ring         le16 flags (NO_NOTIFY 1), le16 idx, {le32 id, le32 len}[size],
//                     le16 avail_event (with VIRTIO_F_EVENT_IDX)             (§2.7.8)
//
// The device takes chains in available-ring order (pop), hands them back through the used
// ring (push) and then asks whether the driver wants an interrupt (§2.7.7, §2.7.10).
// Every field is read through the function's bus master when it is used, as a device
// would: the driver may rewrite the rings at any time.
//
// A driver that breaks the format gets an error string naming the rule, and the queue
// takes nothing more until it is reset (the transport then sets DEVICE_NEEDS_RESET,
// §2.1.2): an available index that moved by more than the queue size, a head or next index
// past the table, a chain longer than the queue (a loop), an indirect table without
// VIRTIO_F_INDIRECT_DESC, with NEXT also set, of a length that is not a multiple of 16,
// or nested in another (§2.7.5.3.1), a device-readable buffer after a device-writable one
// (§2.7.4.2), and any ring or buffer address the bus master cannot reach.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "arch/common/pci/bus_master.h"
#include "snapshot/state_io.h"

namespace irqremap::virtio {

class SplitQueue {
 public:
  static constexpr uint16_t DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4;
  static constexpr uint16_t AVAIL_F_NO_INTERRUPT = 1;

  struct Buffer {
    uint64_t addr = 0;
    uint32_t len = 0;
    bool device_writable = false;
  };
  struct Chain {
    uint16_t head = 0;
    std::vector<Buffer> buffers;
  };
  struct Layout {
    uint16_t size = 0;  // a power of two, 1..32768 (§2.7)
    uint64_t desc = 0, avail = 0, used = 0;
    bool event_idx = false;  // VIRTIO_F_EVENT_IDX negotiated
    bool indirect = false;   // VIRTIO_F_INDIRECT_DESC negotiated
  };

  // Starts the queue on `layout` with both indices at 0 (a queue is reset by starting it
  // again). An invalid layout (size not a power of two, misaligned rings: 16 / 2 / 4
  // bytes, §2.7) is an error and the queue stays stopped.
  std::expected<void, std::string> start(const Layout& layout);
  void stop() { live_ = false; }
  bool live() const { return live_; }
  const Layout& layout() const { return layout_; }
  uint16_t last_avail() const { return last_avail_; }
  uint16_t used_idx() const { return used_idx_; }

  // The next available chain, nullopt when the driver has made none available.
  std::expected<std::optional<Chain>, std::string> pop(const pci::BusMaster& bus);
  // Returns the chain with head `head` to the driver, `written` bytes written into it.
  std::expected<void, std::string> push(const pci::BusMaster& bus, uint16_t head, uint32_t written);
  // After pushes: whether the driver asked for an interrupt (used_event with EVENT_IDX,
  // else available ring flag NO_INTERRUPT clear). Also publishes avail_event so the
  // driver notifies for every new buffer (the device processes them at once).
  std::expected<bool, std::string> needs_interrupt(const pci::BusMaster& bus);
  // Its part of a snapshot: the layout, whether it is live, last_avail_idx, the used
  // index and the last used index an interrupt was signalled for (VIRTIO 1.2 §2.7).
  void state(snapshot::Io& io);

 private:
  std::expected<void, std::string> walk(const pci::BusMaster& bus, uint16_t head, Chain& chain) const;
  std::expected<void, std::string> fail(std::string why);

  Layout layout_{};
  bool live_ = false;
  uint16_t last_avail_ = 0, used_idx_ = 0;
  uint16_t signalled_used_ = 0;
  bool signalled_valid_ = false;
};

}  // namespace irqremap::virtio
