#include "arch/common/virtio/virtio_pci.h"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

namespace irqremap::virtio {

namespace {

constexpr uint8_t kVendorCap = 0x09;  // PCI vendor-specific capability (§4.1.4)
// virtio_pci_cap cfg_type values (§4.1.4).
constexpr uint8_t COMMON_CFG = 1, NOTIFY_CFG = 2, ISR_CFG = 3, DEVICE_CFG = 4, PCI_CFG = 5;
// virtio_pci_cap layout: +2 cap_len, +3 cfg_type, +4 bar, +8 offset, +12 length; the
// notify capability adds +16 notify_off_multiplier, the PCI configuration access
// capability +16 pci_cfg_data.
constexpr unsigned CAP_BAR = 4, CAP_OFFSET = 8, CAP_LENGTH = 12, CAP_DATA = 16;

// A register file described by its fields (VirtioPci::Field): reads assemble bytes, writes
// merge the written bytes into each field they touch and store the field once.
template <typename Fields, typename Get>
uint64_t read_fields(const Fields& fields, uint64_t offset, unsigned size, Get get) {
  uint64_t v = 0;
  for (const auto& f : fields) {
    for (unsigned i = 0; i < size; ++i) {
      const uint64_t o = offset + i;
      if (o >= f.offset && o < uint64_t(f.offset) + f.width)
        v |= ((get(f) >> (8 * (o - f.offset))) & 0xFF) << (8 * i);
    }
  }
  return v;
}

// Returns false when no field was touched.
template <typename Fields, typename Get, typename Set>
bool write_fields(const Fields& fields, uint64_t offset, unsigned size, uint64_t value, Get get, Set set) {
  bool any = false;
  for (const auto& f : fields) {
    uint64_t merged = 0;
    bool touched = false;
    for (unsigned i = 0; i < size; ++i) {
      const uint64_t o = offset + i;
      if (o < f.offset || o >= uint64_t(f.offset) + f.width) continue;
      if (!touched) merged = get(f);
      touched = true;
      const unsigned shift = unsigned(8 * (o - f.offset));
      merged = (merged & ~(uint64_t{0xFF} << shift)) | (((value >> (8 * i)) & 0xFF) << shift);
    }
    if (touched) set(f, merged);
    any = any || touched;
  }
  return any;
}

constexpr uint64_t kLegacyQueueAlign = 4096;  // QueueAlign of the PCI legacy layout (§2.7.2)

}  // namespace

// The legacy interface's registers (§4.1.4.8); the two MSI-X vector registers exist only
// while MSI-X is enabled, and the device configuration follows them.
const std::array<VirtioPci::Field, 10> VirtioPci::kLegacy = {{{0x00, 4, "HostFeatures"},
                                                             {0x04, 4, "GuestFeatures"},
                                                             {0x08, 4, "QueueAddress"},
                                                             {0x0C, 2, "QueueSize"},
                                                             {0x0E, 2, "QueueSelect"},
                                                             {0x10, 2, "QueueNotify"},
                                                             {0x12, 1, "DeviceStatus"},
                                                             {0x13, 1, "ISR"},
                                                             {0x14, 2, "ConfigMsixVector"},
                                                             {0x16, 2, "QueueMsixVector"}}};

// struct virtio_pci_common_cfg (§4.1.4.3).
const std::array<VirtioPci::Field, 16> VirtioPci::kCommon = {{{0x00, 4, "device_feature_select"},
                                                              {0x04, 4, "device_feature"},
                                                              {0x08, 4, "driver_feature_select"},
                                                              {0x0C, 4, "driver_feature"},
                                                              {0x10, 2, "config_msix_vector"},
                                                              {0x12, 2, "num_queues"},
                                                              {0x14, 1, "device_status"},
                                                              {0x15, 1, "config_generation"},
                                                              {0x16, 2, "queue_select"},
                                                              {0x18, 2, "queue_size"},
                                                              {0x1A, 2, "queue_msix_vector"},
                                                              {0x1C, 2, "queue_enable"},
                                                              {0x1E, 2, "queue_notify_off"},
                                                              {0x20, 8, "queue_desc"},
                                                              {0x28, 8, "queue_driver"},
                                                              {0x30, 8, "queue_device"}}};

VirtioPci::VirtioPci(VirtioDevice& dev, uint16_t transitional_id, uint32_t class_code, GuestMemory& mem,
                     pci::DmaTranslator* translator, MsiSink& msi)
    : dev_(dev), name_(fmt::format("{}-pci", dev.name())), mem_(mem), translator_(translator),
      config_(kVendor, transitional_id, class_code, 0x00), queues_(dev.queue_count()) {
  using namespace pci;
  config_.set16(cfg::SUBSYSTEM_VENDOR_ID, kVendor);
  config_.set16(cfg::SUBSYSTEM_ID, dev.device_type());  // §4.1.2.1
  config_.set8(cfg::INTERRUPT_PIN, 1);                   // INTA#
  // The legacy BAR holds the 24-byte header (MSI-X vectors included) and the device
  // configuration, in a power-of-two I/O range as QEMU sizes it.
  config_.add_bar(kLegacyBar, BarKind::Io, std::bit_ceil<uint64_t>(24 + dev.config_size()));
  config_.add_bar(kMsixBar, BarKind::Mem32, kMsixBarSize);
  config_.add_bar(kModernBar, BarKind::Mem64, kModernBarSize, true);
  auto cap = [&](uint8_t type, unsigned len, uint8_t bar, uint32_t offset, uint32_t length) {
    const unsigned at = config_.add_capability(kVendorCap, len);
    config_.set8(at + 2, uint8_t(len));
    config_.set8(at + 3, type);
    config_.set8(at + CAP_BAR, bar);
    config_.set32(at + CAP_OFFSET, offset);
    config_.set32(at + CAP_LENGTH, length);
    return at;
  };
  cap(COMMON_CFG, 16, kModernBar, kCommonAt, kRegion);
  cap(ISR_CFG, 16, kModernBar, kIsrAt, kRegion);
  cap(DEVICE_CFG, 16, kModernBar, kDeviceAt, kRegion);
  const unsigned notify = cap(NOTIFY_CFG, 20, kModernBar, kNotifyAt, kRegion);
  config_.set32(notify + 16, kNotifyMultiplier);
  // §4.1.4.9: the driver picks bar, offset and length, then reads or writes pci_cfg_data.
  pci_cfg_cap_ = cap(PCI_CFG, 20, 0, 0, 0);
  config_.set_wmask(pci_cfg_cap_ + CAP_BAR, 1, 0xFF);
  config_.set_wmask(pci_cfg_cap_ + CAP_OFFSET, 4, 0xFFFF'FFFF);
  config_.set_wmask(pci_cfg_cap_ + CAP_LENGTH, 4, 0xFFFF'FFFF);
  config_.set_wmask(pci_cfg_cap_ + CAP_DATA, 4, 0xFFFF'FFFF);
  msix_ = std::make_unique<MsixCapability>(config_, kMsixVectors, kMsixBar, 0, kMsixBar, kPbaAt, msi, 0);
  reset();
}

void VirtioPci::set_requester_id(uint16_t rid) {
  rid_ = rid;
  msix_->set_source(rid);
}

uint64_t VirtioPci::device_features() const {
  return dev_.device_features() | (uint64_t{1} << feature::VERSION_1) | (uint64_t{1} << feature::RING_INDIRECT_DESC) |
         (uint64_t{1} << feature::RING_EVENT_IDX);
}

void VirtioPci::note(EventKind kind, std::string text) const {
  trace_.emit_lazy([&] { return Event{kind, name_, std::move(text), {}}; });
}

// --- PCI configuration space -------------------------------------------------------

uint32_t VirtioPci::config_read(unsigned offset, unsigned size) {
  const unsigned data = pci_cfg_cap_ + CAP_DATA;
  // §4.1.4.9: a read of pci_cfg_data reads `length` bytes at `offset` of BAR `bar` into it first.
  if (offset < data + 4 && offset + size > data)
    if (const auto a = pci_cfg_access()) config_.set32(data, uint32_t(bar_read(a->bar, a->offset, a->length)));
  return config_.read(offset, size);
}

std::optional<VirtioPci::PciCfgAccess> VirtioPci::pci_cfg_access() const {
  // §4.1.4.9: 1, 2 or 4 bytes, aligned to their size, in an implemented BAR.
  const unsigned bar = config_.get8(pci_cfg_cap_ + CAP_BAR);
  const uint32_t off = config_.get32(pci_cfg_cap_ + CAP_OFFSET), len = config_.get32(pci_cfg_cap_ + CAP_LENGTH);
  if ((len != 1 && len != 2 && len != 4) || off % len != 0 || bar >= 6 || config_.bar(bar).size == 0)
    return std::nullopt;
  return PciCfgAccess{bar, off, unsigned(len)};
}

void VirtioPci::config_written(unsigned offset, unsigned size) {
  msix_->config_written();
  const unsigned data = pci_cfg_cap_ + CAP_DATA;
  if (offset < data + 4 && offset + size > data) {
    if (const auto a = pci_cfg_access())
      bar_write(a->bar, a->offset, a->length,
                config_.get32(data) & (a->length == 4 ? 0xFFFF'FFFFu : (1u << (8 * a->length)) - 1));
    else
      note(EventKind::Note, fmt::format("pci_cfg_data write with bar {} offset {:#x} length {}: not a valid access "
                                        "(VIRTIO 1.2 §4.1.4.9), dropped",
                                        config_.get8(pci_cfg_cap_ + CAP_BAR), config_.get32(pci_cfg_cap_ + CAP_OFFSET),
                                        config_.get32(pci_cfg_cap_ + CAP_LENGTH)));
  }
}

// --- BARs --------------------------------------------------------------------------------

uint64_t VirtioPci::bar_read(unsigned bar, uint64_t offset, unsigned size) {
  if (bar == kLegacyBar) return legacy_read(offset, size);
  if (bar == kModernBar) return modern_read(offset, size);
  if (bar == kMsixBar) {
    uint64_t v = 0;
    if (msix_->in_table(bar, offset) || msix_->in_pba(bar, offset)) {
      if (msix_->read(bar, offset, size, v)) return v;
      note(EventKind::Note, fmt::format("MSI-X read of {} bytes at {:#x}: not an aligned DWORD or QWORD "
                                        "(PCI 3.0 §6.8.2), all-ones", size, offset));
      return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
    }
    return 0;
  }
  return 0;
}

void VirtioPci::bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
  if (bar == kLegacyBar) return legacy_write(offset, size, value);
  if (bar == kModernBar) return modern_write(offset, size, value);
  if (bar == kMsixBar && msix_->in_table(bar, offset)) {
    if (!msix_->write(bar, offset, size, value))
      note(EventKind::Note, fmt::format("MSI-X write of {} bytes at {:#x}: not an aligned DWORD or QWORD "
                                        "(PCI 3.0 §6.8.2), dropped", size, offset));
    else
      trace_.emit_lazy([&] {
        const unsigned v = unsigned(offset / pci::MsixCapability::kEntrySize);
        const MsiWrite m = msix_->message(v);
        return Event{EventKind::RegWrite, name_,
                     fmt::format("MSI-X table entry {} [{:#x}] = {:#x}: address {:#x} data {:#x} {}", v, offset % 16,
                                 value, m.address, m.data, msix_->vector_masked(v) ? "masked" : "unmasked"),
                     {{"vector", v}, {"address", m.address}, {"data", m.data}}};
      });
    return;
  }
  note(EventKind::Note, fmt::format("write {:#x} to BAR{} offset {:#x}: no register there, dropped", value, bar, offset));
}

// --- common configuration ------------------------------------------------------------------

uint64_t VirtioPci::common_get(const Field& f) const {
  const bool valid_q = queue_select_ < queues_.size();
  const Queue* q = valid_q ? &queues_[queue_select_] : nullptr;
  auto half = [](uint64_t v, uint32_t select) { return select < 2 ? uint32_t(v >> (32 * select)) : 0u; };
  switch (f.offset) {
    case 0x00: return device_feature_select_;
    case 0x04: return half(device_features(), device_feature_select_);
    case 0x08: return driver_feature_select_;
    case 0x0C: return half(driver_features_, driver_feature_select_);
    case 0x10: return config_vector_;
    case 0x12: return queues_.size();
    case 0x14: return status_;
    case 0x15: return 0;  // config_generation: the configuration never changes
    case 0x16: return queue_select_;
    case 0x18: return q ? q->size : 0;  // 0: no such queue (§4.1.4.3.2)
    case 0x1A: return q ? q->vector : kNoVector;
    case 0x1C: return q ? q->enabled : 0;
    case 0x1E: return q ? queue_select_ : 0;
    case 0x20: return q ? q->desc : 0;
    case 0x28: return q ? q->driver : 0;
    case 0x30: return q ? q->device : 0;
  }
  return 0;
}

void VirtioPci::common_set(const Field& f, uint64_t v) {
  Queue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
  const uint16_t vector = uint16_t(v) < msix_->vectors() ? uint16_t(v) : kNoVector;  // §4.1.5.1.2
  trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, name_, fmt::format("common {} = {:#x}", f.name, v), {{"offset", f.offset}, {"value", v}}};
  });
  switch (f.offset) {
    case 0x00: device_feature_select_ = uint32_t(v); return;
    case 0x08: driver_feature_select_ = uint32_t(v); return;
    case 0x0C:
      if (status_ & status::FEATURES_OK) {
        note(EventKind::Note, "driver_feature written after FEATURES_OK: ignored (VIRTIO 1.2 §3.1.1)");
      } else if (driver_feature_select_ < 2) {
        const unsigned shift = 32 * driver_feature_select_;
        driver_features_ = (driver_features_ & ~(uint64_t{0xFFFF'FFFF} << shift)) | ((v & 0xFFFF'FFFF) << shift);
      }
      return;
    case 0x10: config_vector_ = vector; return;
    case 0x14: write_status(uint8_t(v), true); return;
    case 0x16: queue_select_ = uint16_t(v); return;
    case 0x1A:
      if (q) q->vector = vector;
      return;
    case 0x1C:
      if (!q) return;
      if (v == 1 && !q->enabled) {
        enable_queue(queue_select_, SplitQueue::Layout{q->size, q->desc, q->driver, q->device,
                                                       ((driver_features_ >> feature::RING_EVENT_IDX) & 1) != 0,
                                                       ((driver_features_ >> feature::RING_INDIRECT_DESC) & 1) != 0});
      } else if (v != 1) {
        note(EventKind::Note, fmt::format("queue_enable {} for queue {}: only 1 is defined without "
                                          "VIRTIO_F_RING_RESET (§4.1.4.3.2), ignored", v, queue_select_));
      }
      return;
    case 0x18: case 0x20: case 0x28: case 0x30:
      if (!q) return;
      if (q->enabled) {
        note(EventKind::Note, fmt::format("{} of enabled queue {} written: ignored (§4.1.4.3.2)", f.name, queue_select_));
        return;
      }
      if (f.offset == 0x18) q->size = uint16_t(v);
      else if (f.offset == 0x20) q->desc = v;
      else if (f.offset == 0x28) q->driver = v;
      else q->device = v;
      return;
    default:
      note(EventKind::Note, fmt::format("common {} is read-only: write {:#x} ignored", f.name, v));
  }
}

uint64_t VirtioPci::common_read(uint64_t offset, unsigned size) const {
  return read_fields(kCommon, offset, size, [this](const Field& f) { return common_get(f); });
}

void VirtioPci::common_write(uint64_t offset, unsigned size, uint64_t value) {
  if (!write_fields(
          kCommon, offset, size, value, [this](const Field& f) { return common_get(f); },
          [this](const Field& f, uint64_t v) { common_set(f, v); }))
    note(EventKind::Note, fmt::format("common configuration write {:#x} at {:#x}: no field there", value, offset));
}

// --- status, queues, interrupts ----------------------------------------------------------------

void VirtioPci::write_status(uint8_t value, bool modern) {
  if (value == 0) {
    reset();
    note(EventKind::RegWrite, "device status 0: reset");
    return;
  }
  // DEVICE_NEEDS_RESET is the device's to set (§2.1).
  uint8_t v = uint8_t((value & ~status::DEVICE_NEEDS_RESET) | (status_ & status::DEVICE_NEEDS_RESET));
  if ((v & status::FEATURES_OK) && !(status_ & status::FEATURES_OK)) {
    const uint64_t unknown = driver_features_ & ~device_features();
    const bool no_v1 = modern && !((driver_features_ >> feature::VERSION_1) & 1);
    if (unknown != 0 || no_v1) {
      v = uint8_t(v & ~status::FEATURES_OK);
      note(EventKind::Fault,
           unknown ? fmt::format("FEATURES_OK refused: driver features {:#x} include {:#x} never offered (§2.2.2)",
                                 driver_features_, unknown)
                   : std::string("FEATURES_OK refused: VIRTIO_F_VERSION_1 not accepted through the modern interface (§6.1)"));
    }
  }
  const bool driver_ok = (v & status::DRIVER_OK) && !(status_ & status::DRIVER_OK);
  status_ = v;
  if (driver_ok)
    for (unsigned q = 0; q < queues_.size(); ++q) run_queue(q);
}

void VirtioPci::reset() {
  status_ = 0;
  isr_ = 0;
  set_intx(false);
  device_feature_select_ = driver_feature_select_ = 0;
  driver_features_ = 0;
  config_vector_ = kNoVector;
  queue_select_ = 0;
  for (unsigned q = 0; q < queues_.size(); ++q) {
    queues_[q] = Queue{};
    queues_[q].size = dev_.queue_max_size(q);
  }
  dev_.reset();
}

void VirtioPci::enable_queue(unsigned q, const SplitQueue::Layout& layout) {
  Queue& Q = queues_[q];
  if (layout.size > dev_.queue_max_size(q)) {
    needs_reset(fmt::format("queue {} enabled with size {} above its maximum {} (§4.1.4.3.2)", q, layout.size,
                            dev_.queue_max_size(q)));
    return;
  }
  if (auto ok = Q.ring.start(layout); !ok) {
    needs_reset(fmt::format("queue {} enabled: {}", q, ok.error()));
    return;
  }
  Q.enabled = true;
  trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, name_,
                 fmt::format("queue {} ({}) live: size {}, descriptors {:#x}, available {:#x}, used {:#x}{}{}", q,
                             dev_.queue_name(q), layout.size, layout.desc, layout.avail, layout.used,
                             layout.event_idx ? ", EVENT_IDX" : "", layout.indirect ? ", INDIRECT_DESC" : ""),
                 {{"queue", q}, {"size", layout.size}}};
  });
}

void VirtioPci::notify(unsigned q) {
  ++notifications_;
  if (q >= queues_.size()) {
    note(EventKind::Note, fmt::format("notification for queue {}: the device has {}", q, queues_.size()));
    return;
  }
  if (!(status_ & status::DRIVER_OK)) {
    note(EventKind::Note, fmt::format("notification for queue {} before DRIVER_OK: nothing consumed (§3.1.2)", q));
    return;
  }
  run_queue(q);
}

void VirtioPci::run_queue(unsigned q) {
  Queue& Q = queues_[q];
  if (!Q.ring.live() || (status_ & status::DEVICE_NEEDS_RESET)) return;
  const uint16_t before = Q.ring.used_idx();
  const pci::BusMaster b = bus();
  auto done = dev_.process(q, Q.ring, b);
  if (Q.ring.used_idx() != before) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Command, name_,
                   fmt::format("queue {} ({}): {} buffers used", q, dev_.queue_name(q), uint16_t(Q.ring.used_idx() - before)),
                   {{"queue", q}, {"used", Q.ring.used_idx()}}};
    });
    auto want = Q.ring.needs_interrupt(b);
    if (!want) done = std::unexpected(want.error());
    else if (*want) interrupt(Q.vector, 1);
  }
  if (!done) needs_reset(fmt::format("queue {} ({}): {}", q, dev_.queue_name(q), done.error()));
}

void VirtioPci::interrupt(uint16_t vector, uint8_t isr_bit) {
  isr_ |= isr_bit;
  ++interrupts_;
  if (msix_->enabled()) {
    // §4.1.5.1.2: with MSI-X enabled an event mapped to NO_VECTOR raises nothing.
    if (vector != kNoVector) msix_->notify(vector);
    return;
  }
  set_intx(true);  // deasserted by an ISR read (§4.1.4.5)
}

void VirtioPci::needs_reset(const std::string& why) {
  trace_.emit_lazy([&] {
    return Event{EventKind::Fault, name_, fmt::format("DEVICE_NEEDS_RESET: {} (VIRTIO 1.2 §2.1.2)", why), {}};
  });
  status_ |= status::DEVICE_NEEDS_RESET;
  for (Queue& q : queues_) q.ring.stop();
  if (status_ & status::DRIVER_OK) interrupt(config_vector_, 2);
}

uint8_t VirtioPci::read_isr() {
  const uint8_t v = isr_;
  isr_ = 0;
  set_intx(false);
  return v;
}

// --- legacy interface (BAR0) -----------------------------------------------------------

uint64_t VirtioPci::legacy_get(const Field& f) const {
  if (f.offset >= legacy_config_at()) return 0;  // the vector registers without MSI-X
  const Queue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
  switch (f.offset) {
    case 0x00: return uint32_t(device_features());
    case 0x04: return uint32_t(driver_features_);
    case 0x08: return q ? q->desc >> 12 : 0;
    case 0x0C: return q ? dev_.queue_max_size(queue_select_) : 0;
    case 0x0E: return queue_select_;
    case 0x12: return status_;
    case 0x13: return isr_;
    case 0x14: return config_vector_;
    case 0x16: return q ? q->vector : kNoVector;
  }
  return 0;  // QueueNotify reads 0
}

uint64_t VirtioPci::legacy_read(uint64_t offset, unsigned size) {
  const uint32_t cfg_at = legacy_config_at();
  uint64_t v = read_fields(kLegacy, offset, size, [&](const Field& f) { return legacy_get(f); });
  // Reading ISR clears it and drops INTx (§4.1.4.5), here as through BAR4.
  if (offset <= 0x13 && offset + size > 0x13 && 0x13 < cfg_at) read_isr();
  for (unsigned i = 0; i < size; ++i)
    if (offset + i >= cfg_at && offset + i - cfg_at < dev_.config_size())
      v |= uint64_t(dev_.config_byte(uint32_t(offset + i - cfg_at))) << (8 * i);
  return v;
}

void VirtioPci::legacy_write(uint64_t offset, unsigned size, uint64_t value) {
  const uint32_t cfg_at = legacy_config_at();
  for (unsigned i = 0; i < size; ++i)
    if (offset + i >= cfg_at && offset + i - cfg_at < dev_.config_size())
      dev_.config_write_byte(uint32_t(offset + i - cfg_at), uint8_t(value >> (8 * i)));
  write_fields(
      kLegacy, offset, size, value,
      [&](const Field& f) { return legacy_get(f); },
      [&](const Field& f, uint64_t v) {
        if (f.offset >= cfg_at) return;
        Queue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
        trace_.emit_lazy([&] {
          return Event{EventKind::RegWrite, name_, fmt::format("legacy {} = {:#x}", f.name, v), {{"value", v}}};
        });
        switch (f.offset) {
          case 0x04:
            if (!(status_ & status::FEATURES_OK)) driver_features_ = uint32_t(v);
            return;
          case 0x08:
            if (!q) return;
            if (v == 0) {  // the legacy way to tear a queue down
              q->ring.stop();
              const uint16_t vector = q->vector;
              *q = Queue{};
              q->size = dev_.queue_max_size(queue_select_);
              q->vector = vector;
              return;
            }
            {
              // §2.7.2 legacy layout: descriptors, then the available ring with used_event,
              // then the used ring at the next QueueAlign boundary.
              const uint16_t n = dev_.queue_max_size(queue_select_);
              q->size = n;
              q->desc = v << 12;
              q->driver = q->desc + 16 * uint64_t(n);
              q->device = (q->driver + 6 + 2 * uint64_t(n) + kLegacyQueueAlign - 1) & ~(kLegacyQueueAlign - 1);
              q->enabled = false;
              enable_queue(queue_select_, SplitQueue::Layout{n, q->desc, q->driver, q->device,
                                                             ((driver_features_ >> feature::RING_EVENT_IDX) & 1) != 0,
                                                             ((driver_features_ >> feature::RING_INDIRECT_DESC) & 1) != 0});
            }
            return;
          case 0x0E: queue_select_ = uint16_t(v); return;
          case 0x10: notify(unsigned(v)); return;
          case 0x12: write_status(uint8_t(v), false); return;
          case 0x14: config_vector_ = uint16_t(v) < msix_->vectors() ? uint16_t(v) : kNoVector; return;
          case 0x16:
            if (q) q->vector = uint16_t(v) < msix_->vectors() ? uint16_t(v) : kNoVector;
            return;
          default:
            note(EventKind::Note, fmt::format("legacy {} is read-only: write {:#x} ignored", f.name, v));
        }
      });
}

// --- modern structures (BAR4) ---------------------------------------------------------------

uint64_t VirtioPci::modern_read(uint64_t offset, unsigned size) {
  const uint64_t region = offset / kRegion * kRegion, off = offset % kRegion;
  if (region == kCommonAt) return common_read(off, size);
  if (region == kIsrAt) return off == 0 ? read_isr() : 0;  // §4.1.4.5: reading ISR clears it
  if (region == kDeviceAt) {
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i)
      if (off + i < dev_.config_size()) v |= uint64_t(dev_.config_byte(uint32_t(off + i))) << (8 * i);
    return v;
  }
  return 0;  // notifications are write-only
}

void VirtioPci::modern_write(uint64_t offset, unsigned size, uint64_t value) {
  const uint64_t region = offset / kRegion * kRegion, off = offset % kRegion;
  if (region == kCommonAt) return common_write(off, size, value);
  if (region == kDeviceAt) {
    for (unsigned i = 0; i < size; ++i)
      if (off + i < dev_.config_size()) dev_.config_write_byte(uint32_t(off + i), uint8_t(value >> (8 * i)));
    return;
  }
  if (region == kNotifyAt && off % kNotifyMultiplier == 0) {
    // §4.1.4.4: queue q's notification address is queue_notify_off(q) * multiplier; the
    // address names the queue (the value the driver writes is the same index).
    const unsigned q = unsigned(off / kNotifyMultiplier);
    if (value != q)
      note(EventKind::Note, fmt::format("notification for queue {} carries {:#x}, not the queue index", q, value));
    notify(q);
    return;
  }
  note(EventKind::Note, fmt::format("write {:#x} at BAR4 offset {:#x}: no register there, dropped", value, offset));
}

}  // namespace irqremap::virtio

namespace irqremap::virtio {

void VirtioPci::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, name_);
  PciFunction::state(io);
  msix_->state(io);
  io.field("device_status", status_);
  io.field("ISR", isr_);
  io.field("device_feature_select", device_feature_select_);
  io.field("driver_feature_select", driver_feature_select_);
  io.field("driver_features", driver_features_);
  io.field("config_msix_vector", config_vector_);
  io.field("queue_select", queue_select_);
  io.field("notifications", notifications_);
  io.field("interrupts", interrupts_);
  const size_t n = io.count("queues", queues_.size(), queues_.size());
  if (!io.check(n == queues_.size(), "another number of virtqueues")) return;
  for (unsigned q = 0; q < queues_.size(); ++q) {
    snapshot::Io::Group one(io, fmt::format("queue{}", q));
    Queue& Q = queues_[q];
    io.field("queue_size", Q.size);
    io.field("queue_msix_vector", Q.vector);
    io.field("queue_enable", Q.enabled);
    io.field("queue_desc", Q.desc);
    io.field("queue_driver", Q.driver);
    io.field("queue_device", Q.device);
    Q.ring.state(io);
    io.check(!Q.ring.live() || Q.ring.layout().size <= dev_.queue_max_size(q), "a live queue above its maximum size");
  }
  dev_.state(io);
}

}  // namespace irqremap::virtio
