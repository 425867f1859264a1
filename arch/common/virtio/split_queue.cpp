#include "arch/common/virtio/split_queue.h"

#include <fmt/format.h>

namespace irqremap::virtio {

namespace {
constexpr uint64_t kDescSize = 16;
// Offsets inside the rings (§2.7.6, §2.7.8).
constexpr uint64_t avail_ring(uint16_t i) { return 4 + 2 * uint64_t(i); }
constexpr uint64_t used_ring(uint16_t i) { return 4 + 8 * uint64_t(i); }
}  // namespace

std::expected<void, std::string> SplitQueue::fail(std::string why) {
  live_ = false;
  return std::unexpected(std::move(why));
}

std::expected<void, std::string> SplitQueue::start(const Layout& l) {
  live_ = false;
  if (l.size == 0 || (l.size & (l.size - 1)) != 0 || l.size > 32768)
    return std::unexpected(fmt::format("queue size {} is not a power of two up to 32768 (VIRTIO 1.2 §2.7)", l.size));
  if (l.desc % 16 || l.avail % 2 || l.used % 4)
    return std::unexpected(fmt::format("rings misaligned: descriptors {:#x} (16), available {:#x} (2), used {:#x} (4) "
                                       "(VIRTIO 1.2 §2.7, Table 2.3)", l.desc, l.avail, l.used));
  layout_ = l;
  last_avail_ = used_idx_ = signalled_used_ = 0;
  signalled_valid_ = false;
  live_ = true;
  return {};
}

std::expected<void, std::string> SplitQueue::walk(const pci::BusMaster& bus, uint16_t head, Chain& chain) const {
  const uint16_t size = layout_.size;
  uint64_t table = layout_.desc;
  uint32_t entries = size;  // descriptors in the table being walked
  bool in_indirect = false;
  uint16_t i = head;
  unsigned seen = 0;
  for (;;) {
    if (i >= entries)
      return std::unexpected(fmt::format("descriptor index {} past the {} {}", i, entries,
                                         in_indirect ? "entries of the indirect table" : "queue entries"));
    if (++seen > entries)
      return std::unexpected(fmt::format("descriptor chain from head {} is longer than {} entries (a loop)", head,
                                         entries));
    const uint64_t d = table + kDescSize * i;
    auto addr = bus.load<uint64_t>(d);
    auto len = bus.load<uint32_t>(d + 8);
    auto flags = bus.load<uint16_t>(d + 12);
    auto next = bus.load<uint16_t>(d + 14);
    if (!addr || !len || !flags || !next)
      return std::unexpected(fmt::format("descriptor {} at {:#x}: {}", i, d,
                                         !addr ? addr.error() : !len ? len.error() : !flags ? flags.error() : next.error()));
    if (*flags & DESC_F_INDIRECT) {
      // §2.7.5.3.1: the driver MUST NOT set INDIRECT without the feature, together with
      // NEXT, or inside an indirect table; the table holds len / 16 descriptors.
      if (!layout_.indirect) return std::unexpected(fmt::format("descriptor {}: INDIRECT without VIRTIO_F_INDIRECT_DESC", i));
      if (in_indirect) return std::unexpected(fmt::format("descriptor {}: INDIRECT inside an indirect table", i));
      if (*flags & DESC_F_NEXT) return std::unexpected(fmt::format("descriptor {}: INDIRECT together with NEXT", i));
      if (*len == 0 || *len % kDescSize != 0 || *len / kDescSize > 65536)
        return std::unexpected(fmt::format("descriptor {}: indirect table of {} bytes (a multiple of 16 expected)", i, *len));
      table = *addr;
      entries = *len / uint32_t(kDescSize);
      in_indirect = true;
      seen = 0;
      i = 0;
      continue;
    }
    const bool writable = (*flags & DESC_F_WRITE) != 0;
    if (!writable && !chain.buffers.empty() && chain.buffers.back().device_writable)
      return std::unexpected(fmt::format("descriptor {}: device-readable after device-writable (VIRTIO 1.2 §2.7.4.2)", i));
    chain.buffers.push_back(Buffer{*addr, *len, writable});
    if (!(*flags & DESC_F_NEXT)) return {};
    i = *next;
  }
}

std::expected<std::optional<SplitQueue::Chain>, std::string> SplitQueue::pop(const pci::BusMaster& bus) {
  if (!live_) return std::nullopt;
  auto idx = bus.load<uint16_t>(layout_.avail + 2);
  if (!idx) return std::unexpected(fail(fmt::format("available ring idx: {}", idx.error())).error());
  const uint16_t avail = *idx;
  if (avail == last_avail_) return std::nullopt;
  if (uint16_t(avail - last_avail_) > layout_.size)
    return std::unexpected(
        fail(fmt::format("available idx moved from {} to {}: more than the queue size {}", last_avail_, avail,
                         layout_.size))
            .error());
  const uint64_t slot = layout_.avail + avail_ring(uint16_t(last_avail_ % layout_.size));
  auto head = bus.load<uint16_t>(slot);
  if (!head) return std::unexpected(fail(fmt::format("available ring entry: {}", head.error())).error());
  Chain chain{*head, {}};
  if (auto ok = walk(bus, *head, chain); !ok) return std::unexpected(fail(ok.error()).error());
  ++last_avail_;
  return chain;
}

std::expected<void, std::string> SplitQueue::push(const pci::BusMaster& bus, uint16_t head, uint32_t written) {
  if (!live_) return std::unexpected("queue stopped");
  const uint64_t elem = layout_.used + used_ring(uint16_t(used_idx_ % layout_.size));
  if (auto ok = bus.store<uint32_t>(elem, head); !ok) return fail(fmt::format("used ring entry: {}", ok.error()));
  if (auto ok = bus.store<uint32_t>(elem + 4, written); !ok) return fail(fmt::format("used ring entry: {}", ok.error()));
  ++used_idx_;
  // The element is written before idx (§2.7.8.2: the device MUST NOT make an element
  // visible before it is written).
  if (auto ok = bus.store<uint16_t>(layout_.used + 2, used_idx_); !ok)
    return fail(fmt::format("used ring idx: {}", ok.error()));
  return {};
}

std::expected<bool, std::string> SplitQueue::needs_interrupt(const pci::BusMaster& bus) {
  if (!live_) return false;
  if (layout_.event_idx) {
    // avail_event (§2.7.10): ask for a notification as soon as the driver adds a buffer.
    if (auto ok = bus.store<uint16_t>(layout_.used + used_ring(layout_.size), last_avail_); !ok)
      return std::unexpected(fail(fmt::format("used ring avail_event: {}", ok.error())).error());
    auto event = bus.load<uint16_t>(layout_.avail + avail_ring(layout_.size));
    if (!event) return std::unexpected(fail(fmt::format("available ring used_event: {}", event.error())).error());
    // §2.7.10: interrupt when used idx passes used_event since the last interrupt
    // (vring_need_event: new - event - 1 < new - old, in 16-bit arithmetic).
    const bool first = !signalled_valid_;
    const uint16_t old = signalled_used_;
    signalled_valid_ = true;
    signalled_used_ = used_idx_;
    return first || uint16_t(used_idx_ - *event - 1) < uint16_t(used_idx_ - old);
  }
  auto flags = bus.load<uint16_t>(layout_.avail);
  if (!flags) return std::unexpected(fail(fmt::format("available ring flags: {}", flags.error())).error());
  return (*flags & AVAIL_F_NO_INTERRUPT) == 0;
}

}  // namespace irqremap::virtio

namespace irqremap::virtio {

void SplitQueue::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "ring");
  io.field("size", layout_.size);
  io.field("desc", layout_.desc);
  io.field("avail", layout_.avail);
  io.field("used", layout_.used);
  io.field("event_idx", layout_.event_idx);
  io.field("indirect", layout_.indirect);
  io.field("live", live_);
  io.field("last_avail_idx", last_avail_);
  io.field("used_idx", used_idx_);
  io.field("signalled_used", signalled_used_);
  io.field("signalled_valid", signalled_valid_);
  // A live ring's size indexes its descriptors: the sizes start() accepts only.
  if (live_) io.check(layout_.size != 0 && (layout_.size & (layout_.size - 1)) == 0 && layout_.size <= 32768,
                      "a live queue's size is a power of two up to 32768");
}

}  // namespace irqremap::virtio
