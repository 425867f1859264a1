#include "device/msg_device.h"

#include <fmt/format.h>

#include "device/ims_slot_format.h"
#include "remap/bits.h"

namespace irqremap::device {

namespace {

// Which 32-bit dword of a slot holds what, per layout (ims_slot_format.h).
struct DwordMap {
  unsigned lo, hi, data, ctrl;
};
constexpr DwordMap kIdxdMap{0, 1, 2, 3};
constexpr DwordMap kReorderedMap{0, 2, 1, 3};

const fields::Field& data_field(SlotLayout l) {
  return l == SlotLayout::Idxd ? slot::DATA : slot::R_DATA;
}
const fields::Field& addr_hi_field(SlotLayout l) {
  return l == SlotLayout::Idxd ? slot::ADDR_HI : slot::R_ADDR_HI;
}

uint32_t dword(const std::array<uint64_t, 2>& w, unsigned i) {
  return uint32_t(w[i / 2] >> (32 * (i % 2)));
}
void set_dword(std::array<uint64_t, 2>& w, unsigned i, uint32_t v) {
  const unsigned sh = 32 * (i % 2);
  w[i / 2] = (w[i / 2] & ~(uint64_t{0xFFFF'FFFF} << sh)) | (uint64_t{v} << sh);
}

std::string msi_text(const MsiWrite& m) {
  return fmt::format("address={:#x} data={:#x}", m.address, m.data);
}

}  // namespace

const char* to_string(DeviceError e) {
  switch (e) {
    case DeviceError::None: return "none";
    case DeviceError::UnknownCommand: return "unknown command";
    case DeviceError::SlotOutOfRange: return "slot out of range";
    case DeviceError::ReservedBits: return "reserved command bits set";
    case DeviceError::QueueMemory: return "command queue entry outside guest RAM";
    case DeviceError::ContextMemory: return "device context outside guest RAM";
    case DeviceError::TailOutOfRange: return "CQ_TAIL beyond CQ_SIZE";
    case DeviceError::BadQueueSize: return "CQ_SIZE not a power of two in 1..4096";
    case DeviceError::TriggerOutOfRange: return "TRIGGER names no slot";
  }
  return "?";
}

MsgDevice::MsgDevice(GuestMemory& mem, MsiSink& bus, DeviceConfig cfg)
    : mem_(mem), bus_(bus), cfg_(std::move(cfg)) {
  if (cfg_.slots == 0) cfg_.slots = 1;
  if (cfg_.slots > reg::kMaxSlots) cfg_.slots = reg::kMaxSlots;
  cfg_.ctx_ro_bytes = uint16_t(cfg_.ctx_ro_bytes & ~7u);
  cfg_.ctx_rw_bytes = uint16_t(std::max<unsigned>(16, cfg_.ctx_rw_bytes & ~7u));
  slots_.resize(cfg_.slots);
  // Reset: every slot masked, as a driver expects before it programs the store.
  for (Slot& s : slots_) fields::set(std::span<uint64_t>(s.words), slot::MASK, 1);
  control_ = (cfg_.eager_mask ? control::EAGER_MASK : 0) |
             (cfg_.unsplit_context ? control::UNSPLIT : 0) | (cfg_.one_shot ? control::ONE_SHOT : 0);
}

// --- inspection -----------------------------------------------------------------------

MsiWrite MsgDevice::message(unsigned n) const {
  const Slot& s = slots_.at(n);
  const uint64_t lo = fields::get(std::span<const uint64_t>(s.words), slot::ADDR_LO);
  const uint64_t hi = fields::get(std::span<const uint64_t>(s.words), addr_hi_field(cfg_.layout));
  const uint64_t data = fields::get(std::span<const uint64_t>(s.words), data_field(cfg_.layout));
  return MsiWrite{(hi << 32) | lo, uint32_t(data), cfg_.source};
}

bool MsgDevice::masked(unsigned n) const {
  return fields::get(std::span<const uint64_t>(slots_.at(n).words), slot::MASK) != 0;
}

uint32_t MsgDevice::status() const {
  return (swapped_in_ ? status::SWAPPED_IN : 0) |
         (error_ != DeviceError::None ? status::CQ_ERROR : 0) |
         (cq_stopped_ ? status::CQ_STOPPED : 0) | (reload_pending_ ? status::RELOAD_RO : 0);
}

bool MsgDevice::deliverable(const Slot& s) const {
  return s.armed && !s.disabled &&
         fields::get(std::span<const uint64_t>(s.words), slot::MASK) == 0;
}

void MsgDevice::record_error(DeviceError e, std::string text) {
  error_ = e;
  trace_.emit_lazy([&] {
    return Event{EventKind::CommandError, cfg_.name,
                 fmt::format("error {} ({}): {}", uint32_t(e), to_string(e), text),
                 {{"error", uint64_t(e)}}};
  });
}

bool MsgDevice::check_slot(unsigned n, const char* what) {
  if (n < slots_.size()) return true;
  record_error(what == std::string_view("TRIGGER") ? DeviceError::TriggerOutOfRange
                                                   : DeviceError::SlotOutOfRange,
               fmt::format("{} names slot {}, the device has {}", what, n, slots_.size()));
  return false;
}

// --- sending --------------------------------------------------------------------------

void MsgDevice::send(unsigned n, const char* why) {
  Slot& s = slots_[n];
  const MsiWrite msg = message(n);
  if (s.window_open && msg != s.before) {
    // H1 (docs/DESIGN.md, "The common device"): part of the message is new, part still
    // old.
    ++s.c.torn;
    trace_.emit_lazy([&] {
      return Event{EventKind::Hazard, cfg_.name,
                   fmt::format("torn message (H1): slot {} sends {} in the middle of a piecewise "
                               "update (was {})",
                               n, msi_text(msg), msi_text(s.before)),
                   {{"slot", n}, {"address", msg.address}, {"data", msg.data}}};
    });
  }
  s.pending = false;
  ++s.c.messages;
  ++messages_;
  if (control_ & control::ONE_SHOT) s.armed = false;
  update_rw_context();
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name,
                 fmt::format("slot {} sends MSI {} source={:#x} ({})", n, msi_text(msg),
                             msg.source, why),
                 {{"slot", n}, {"address", msg.address}, {"data", msg.data}}};
  });
  bus_.msi_write(msg);
}

void MsgDevice::try_replay(unsigned n, const char* why) {
  Slot& s = slots_[n];
  if (!s.pending || !deliverable(s)) return;
  ++s.c.replays;
  send(n, why);
}

void MsgDevice::fire(unsigned n) {
  if (!check_slot(n, "TRIGGER")) return;
  Slot& s = slots_[n];
  ++events_;
  ++s.c.events;
  update_rw_context();
  if (deliverable(s)) {
    send(n, "event");
    return;
  }
  const char* why = !s.armed ? "one-shot slot not re-armed" : s.disabled ? "slot disabled"
                                                                          : "slot masked";
  if (s.disabled && !masked(n)) {
    // Lazy masking (genirq's lazy disable): only now, with an event in hand, mask.
    set_store_mask(s, true);
    s.device_masked = true;
    trace_.emit_lazy([&] {
      return Event{EventKind::Device, cfg_.name,
                   fmt::format("slot {}: event while disabled, device masks the slot (lazy)", n),
                   {{"slot", n}}};
    });
  }
  s.pending = true;
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name,
                 fmt::format("slot {}: event kept pending ({})", n, why), {{"slot", n}}};
  });
}

// --- driver operations ----------------------------------------------------------------

void MsgDevice::set_store_mask(Slot& s, bool on) {
  fields::set(std::span<uint64_t>(s.words), slot::MASK, on ? 1 : 0);
}

void MsgDevice::disable(unsigned n) {
  if (!check_slot(n, "DISABLE")) return;
  Slot& s = slots_[n];
  s.disabled = true;
  const bool eager = control_ & control::EAGER_MASK;
  if (eager && !masked(n)) {
    set_store_mask(s, true);
    s.device_masked = true;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name,
                 fmt::format("slot {} disabled ({})", n,
                             eager ? "eager: masked at once" : "lazy: marked only"),
                 {{"slot", n}}};
  });
}

void MsgDevice::enable(unsigned n) {
  if (!check_slot(n, "ENABLE")) return;
  Slot& s = slots_[n];
  s.disabled = false;
  if (s.device_masked) {
    set_store_mask(s, false);
    s.device_masked = false;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name, fmt::format("slot {} enabled", n), {{"slot", n}}};
  });
  try_replay(n, "replay on enable");
}

void MsgDevice::rearm(unsigned n) {
  if (!check_slot(n, "REARM")) return;
  slots_[n].armed = true;
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name, fmt::format("slot {} re-armed", n), {{"slot", n}}};
  });
  try_replay(n, "replay on re-arm");
}

void MsgDevice::set_mask(unsigned n, bool on) {
  if (!check_slot(n, "mask")) return;
  store_write(n, 12, 4, (dword(slots_[n].words, 3) & ~1u) | (on ? 1u : 0u));
}

void MsgDevice::write_slot(unsigned n, uint64_t address, uint32_t data, bool mask) {
  if (!check_slot(n, "write_slot")) return;
  Slot& s = slots_[n];
  const MsiWrite before = message(n);
  const bool was_masked = masked(n);
  const SlotLayout l = cfg_.layout;
  // One 16-byte store: the whole slot changes at once, so no window can open.
  fields::set(std::span<uint64_t>(s.words), slot::ADDR_LO, address & 0xFFFF'FFFF);
  fields::set(std::span<uint64_t>(s.words), addr_hi_field(l), address >> 32);
  fields::set(std::span<uint64_t>(s.words), data_field(l), data);
  fields::set(std::span<uint64_t>(s.words), slot::MASK, mask ? 1 : 0);
  s.latched_lo.reset();
  note_message_write(n, before, was_masked, true);
  note_ctrl_write(n, was_masked);
}

void MsgDevice::note_message_write(unsigned n, const MsiWrite& before, bool was_masked,
                                   bool commit) {
  Slot& s = slots_[n];
  const MsiWrite after = message(n);
  if (!was_masked && s.committed) {
    ++s.c.rewrites_enabled;
    trace_.emit_lazy([&] {
      return Event{EventKind::Device, cfg_.name,
                   fmt::format("slot {}: message rewritten while enabled ({} -> {})", n,
                               msi_text(before), msi_text(after)),
                   {{"slot", n}, {"rewrites", s.c.rewrites_enabled}}};
    });
  }
  if (commit) {
    ++s.c.commits;
    s.committed = true;
    s.window_open = false;
    trace_.emit_lazy([&] {
      return Event{EventKind::Device, cfg_.name,
                   fmt::format("slot {}: message written {} (commit {})", n, msi_text(after),
                               s.c.commits),
                   {{"slot", n}, {"address", after.address}, {"data", after.data}}};
    });
  } else if (after != before && !s.window_open) {
    s.window_open = true;
    s.before = before;
    trace_.emit_lazy([&] {
      return Event{EventKind::Device, cfg_.name,
                   fmt::format("slot {}: piecewise message update begins ({} -> {} so far)", n,
                               msi_text(before), msi_text(after)),
                   {{"slot", n}}};
    });
  }
}

void MsgDevice::note_ctrl_write(unsigned n, bool was_masked) {
  Slot& s = slots_[n];
  const bool now_masked = masked(n);
  // A store to ctrl is the driver's own mask: enable no longer lifts it for the driver.
  s.device_masked = false;
  if (now_masked == was_masked) return;
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name,
                 fmt::format("slot {} {}", n, now_masked ? "masked" : "unmasked"),
                 {{"slot", n}, {"mask", now_masked}}};
  });
  if (!now_masked) try_replay(n, "replay on unmask");
}

// A store of `size` bytes at byte `offset` of slot n (offset + size <= 16).
void MsgDevice::store_write(unsigned n, unsigned offset, unsigned size, uint64_t value) {
  Slot& s = slots_[n];
  const DwordMap map = cfg_.layout == SlotLayout::Idxd ? kIdxdMap : kReorderedMap;
  const unsigned first = offset / 4, last = (offset + size - 1) / 4;
  auto touches = [&](unsigned d) { return d >= first && d <= last; };

  const MsiWrite before = message(n);
  const bool was_masked = masked(n);
  std::array<uint64_t, 2> w = s.words;
  // Merge the bytes into a copy of the store.
  for (unsigned i = 0; i < size; ++i) {
    const unsigned b = offset + i;
    const uint64_t byte = (value >> (8 * i)) & 0xFF;
    w[b / 8] = bits::deposit(w[b / 8], 8 * (b % 8) + 7, 8 * (b % 8), byte);
  }
  const bool lo = touches(map.lo), hi = touches(map.hi), data = touches(map.data),
             ctrl = touches(map.ctrl);

  if (cfg_.layout == SlotLayout::Reordered && lo && !data) {
    // address_lo waits in a latch for its data dword: {address_lo, data} commit together.
    s.latched_lo = dword(w, map.lo);
    set_dword(w, map.lo, dword(s.words, map.lo));
    trace_.emit_lazy([&] {
      return Event{EventKind::Device, cfg_.name,
                   fmt::format("slot {}: address_lo={:#x} latched until data is written", n,
                               *s.latched_lo),
                   {{"slot", n}}};
    });
  } else if (cfg_.layout == SlotLayout::Reordered && data && !lo && s.latched_lo) {
    set_dword(w, map.lo, *s.latched_lo);
  }
  if (data) s.latched_lo.reset();
  s.words = w;

  // The data dword is the commit point (Linux writes it last, with a flush).
  if (lo || hi || data) note_message_write(n, before, was_masked, data);
  if (ctrl) note_ctrl_write(n, was_masked);
}

// --- context --------------------------------------------------------------------------

void MsgDevice::update_rw_context() {
  if (!swapped_in_) return;
  // The device's own RW state: MSIs sent and events seen, at RW+0 and RW+8.
  const std::size_t rw = cfg_.ctx_ro_bytes;
  for (unsigned i = 0; i < 8; ++i) {
    ctx_[rw + i] = uint8_t(messages_ >> (8 * i));
    ctx_[rw + 8 + i] = uint8_t(events_ >> (8 * i));
  }
}

bool MsgDevice::swap_in() {
  const std::size_t total = std::size_t(cfg_.ctx_ro_bytes) + cfg_.ctx_rw_bytes;
  std::vector<uint8_t> copy(total);
  if (auto r = mem_.read(ctx_base_, std::as_writable_bytes(std::span(copy))); !r) {
    record_error(DeviceError::ContextMemory, "swap-in: " + r.error().describe());
    return false;
  }
  ctx_ = std::move(copy);
  swapped_in_ = true;
  update_rw_context();
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name,
                 fmt::format("context swapped in from {:#x} (RO {} bytes, RW {} bytes)", ctx_base_,
                             cfg_.ctx_ro_bytes, cfg_.ctx_rw_bytes),
                 {{"ctx", ctx_base_}}};
  });
  return true;
}

bool MsgDevice::swap_out() {
  if (!swapped_in_) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, cfg_.name, "swap-out with no context swapped in: nothing to do", {}};
    });
    return false;
  }
  const bool unsplit = control_ & control::UNSPLIT;
  const std::size_t ro = cfg_.ctx_ro_bytes;
  std::vector<uint8_t> host_ro(ro);
  const bool ro_readable = mem_.read(ctx_base_, std::as_writable_bytes(std::span(host_ro))).has_value();
  const bool host_changed_ro =
      ro_readable && !std::equal(host_ro.begin(), host_ro.end(), ctx_.begin());
  const uint64_t from = unsplit ? 0 : ro;
  std::span<const uint8_t> out(ctx_.data() + from, ctx_.size() - from);
  if (auto r = mem_.write(ctx_base_ + from, std::as_bytes(out)); !r) {
    record_error(DeviceError::ContextMemory, "swap-out: " + r.error().describe());
    return false;
  }
  swapped_in_ = false;
  if (host_changed_ro) {
    trace_.emit_lazy([&] {
      return unsplit
                 ? Event{EventKind::Hazard, cfg_.name,
                         "write-back clobber (H2): unsplit swap-out overwrote a host change to "
                         "the RO context made while the device held it",
                         {{"ctx", ctx_base_}}}
                 : Event{EventKind::Device, cfg_.name,
                         "swap-out wrote the RW part only: the host's RO change stays",
                         {{"ctx", ctx_base_}}};
    });
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name,
                 fmt::format("context swapped out to {:#x} ({})", ctx_base_,
                             unsplit ? "whole context written back" : "RW part written back"),
                 {{"ctx", ctx_base_}}};
  });
  return true;
}

void MsgDevice::request_ro_reload() {
  reload_pending_ = true;
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name, "RO context reload requested (next queue operation)", {}};
  });
}

bool MsgDevice::reload_ro() {
  reload_pending_ = false;
  if (!swapped_in_) return true;  // the next swap-in reads RO anyway
  const std::size_t ro = cfg_.ctx_ro_bytes;
  if (auto r = mem_.read(ctx_base_, std::as_writable_bytes(std::span(ctx_.data(), ro))); !r) {
    record_error(DeviceError::ContextMemory, "RO reload: " + r.error().describe());
    return false;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, cfg_.name, "RO context reloaded from host RAM", {}};
  });
  return true;
}

// --- command queue --------------------------------------------------------------------

void MsgDevice::process_queue() {
  if (cq_size_ == 0) return;
  while (cq_head_ != cq_tail_) {
    const uint64_t at = cq_base_ + uint64_t{cq_head_} * 16;
    auto w0 = mem_.read64(at);
    auto w1 = mem_.read64(at + 8);
    if (!w0 || !w1) {
      cq_stopped_ = true;
      record_error(DeviceError::QueueMemory,
                   fmt::format("entry {} at {:#x}: {}", cq_head_, at,
                               (!w0 ? w0.error() : w1.error()).describe()));
      return;
    }
    cq_stopped_ = false;
    if (reload_pending_) reload_ro();
    run_command(at, *w0, *w1);
    cq_head_ = (cq_head_ + 1) & (cq_size_ - 1);
  }
}

void MsgDevice::run_command(uint64_t at, uint64_t w0, uint64_t w1) {
  const std::array<uint64_t, 2> words{w0, w1};
  const auto op = fields::get(std::span<const uint64_t>(words), cmd::OPCODE);
  const auto n = unsigned(fields::get(std::span<const uint64_t>(words), cmd::SLOT));
  trace_.emit_lazy([&] {
    return Event{EventKind::Command, cfg_.name,
                 fmt::format("command at {:#x}: opcode={:#x} slot={}", at, op, n),
                 {{"opcode", op}, {"slot", n}}};
  });
  if ((w0 & fields::reserved_mask(cmd::kFields, 0)) || (w1 & fields::reserved_mask(cmd::kFields, 1))) {
    record_error(DeviceError::ReservedBits, fmt::format("command at {:#x}", at));
    return;
  }
  const bool slot_op = op == uint64_t(CmdOp::Rearm) || op == uint64_t(CmdOp::Mask) ||
                       op == uint64_t(CmdOp::Unmask) || op == uint64_t(CmdOp::Disable) ||
                       op == uint64_t(CmdOp::Enable);
  if (slot_op && n >= slots_.size()) {
    record_error(DeviceError::SlotOutOfRange,
                 fmt::format("command at {:#x} names slot {}, the device has {}", at, n, slots_.size()));
    return;
  }
  switch (CmdOp(op)) {
    case CmdOp::Nop: return;
    case CmdOp::Rearm: rearm(n); return;
    case CmdOp::Mask: set_mask(n, true); return;
    case CmdOp::Unmask: set_mask(n, false); return;
    case CmdOp::Disable: disable(n); return;
    case CmdOp::Enable: enable(n); return;
    case CmdOp::ReloadRo: request_ro_reload(); return;
    case CmdOp::SwapIn: swap_in(); return;
    case CmdOp::SwapOut: swap_out(); return;
  }
  record_error(DeviceError::UnknownCommand, fmt::format("opcode {:#x} at {:#x}", op, at));
}

// --- registers ------------------------------------------------------------------------

uint64_t MsgDevice::mmio_read(uint64_t off, unsigned size) {
  if (off >= reg::SLOT_BASE && off + size <= reg::SLOT_BASE + 16 * slots_.size()) {
    const unsigned n = unsigned((off - reg::SLOT_BASE) / 16), in = unsigned((off - reg::SLOT_BASE) % 16);
    if (in % 8 + size > 8) return 0;
    return extract_read(slots_[n].words[in / 8], in % 8, size);
  }
  auto bitmap = [&](auto pred) {
    uint64_t m = 0;
    for (unsigned i = 0; i < slots_.size(); ++i)
      if (pred(slots_[i])) m |= uint64_t{1} << i;
    return m;
  };
  const uint64_t base = off & ~uint64_t{7};
  const unsigned byte = unsigned(off & 7);
  if (byte + size > 8) return 0;
  uint64_t v = 0;
  switch (base) {
    case reg::ID: v = reg::kIdValue | (uint64_t(slots_.size() |
                  (cfg_.layout == SlotLayout::Reordered ? 1u << 16 : 0)) << 32); break;
    case reg::STATUS: v = status() | (uint64_t(error_) << 32); break;
    case reg::TRIGGER: v = uint64_t(control_) << 32; break;
    case reg::CTX_BASE: v = ctx_base_; break;
    case reg::CTX_SIZES: v = cfg_.ctx_ro_bytes | (uint64_t(cfg_.ctx_rw_bytes) << 16); break;
    case reg::CQ_BASE: v = cq_base_; break;
    case reg::CQ_SIZE: v = cq_size_ | (uint64_t(cq_head_) << 32); break;
    case reg::CQ_TAIL: v = cq_tail_; break;
    case reg::EVENTS: v = events_; break;
    case reg::MESSAGES: v = messages_; break;
    case reg::PENDING: v = bitmap([](const Slot& s) { return s.pending; }); break;
    case reg::ARMED: v = bitmap([](const Slot& s) { return s.armed; }); break;
    case reg::DISABLED: v = bitmap([](const Slot& s) { return s.disabled; }); break;
    default: return 0;  // RAZ
  }
  return extract_read(v, byte, size);
}

void MsgDevice::mmio_write(uint64_t off, unsigned size, uint64_t value) {
  if (off >= reg::SLOT_BASE && off + size <= reg::SLOT_BASE + 16 * slots_.size()) {
    const unsigned n = unsigned((off - reg::SLOT_BASE) / 16), in = unsigned((off - reg::SLOT_BASE) % 16);
    if (in + size <= 16) store_write(n, in, size, value);
    return;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, cfg_.name,
                 fmt::format("write {:#x} to offset {:#x} ({} bytes)", value, off, size),
                 {{"offset", off}, {"value", value}}};
  });
  const uint64_t base = off & ~uint64_t{7};
  const unsigned byte = unsigned(off & 7);
  if (byte + size > 8) return;
  switch (base) {
    case reg::STATUS:
      if (byte == 4 && value == 0) error_ = DeviceError::None;  // ERROR: write 0 clears
      return;
    case reg::TRIGGER:
      if (byte == 0) fire(unsigned(value & 0xFFFF'FFFF));
      if (byte == 4 || size == 8) control_ = uint32_t(byte == 4 ? value : value >> 32) & 7u;
      return;
    case reg::CTX_BASE:
      ctx_base_ = merge_write(ctx_base_, byte, size, value) & ~uint64_t{7};
      return;
    case reg::CQ_BASE:
      // Reprogramming the queue restarts it at entry 0.
      cq_base_ = merge_write(cq_base_, byte, size, value) & ~uint64_t{15};
      cq_head_ = cq_tail_ = 0;
      cq_stopped_ = false;
      return;
    case reg::CQ_SIZE:
      if (byte == 0) {
        const uint64_t n = value & 0xFFFF'FFFF;
        if (n == 0 || n > 4096 || (n & (n - 1))) {
          record_error(DeviceError::BadQueueSize, fmt::format("CQ_SIZE={}", n));
          return;
        }
        cq_size_ = uint32_t(n);
        cq_head_ = cq_tail_ = 0;
      }
      return;
    case reg::CQ_TAIL:
      if (byte == 0) {
        if (value >= cq_size_) {
          record_error(DeviceError::TailOutOfRange,
                       fmt::format("CQ_TAIL={} with CQ_SIZE={}", value, cq_size_));
          return;
        }
        cq_tail_ = uint32_t(value);
        process_queue();
      }
      return;
    default:
      return;  // RO registers and holes: WI
  }
}

}  // namespace irqremap::device

// --- snapshot ---------------------------------------------------------------------------

namespace irqremap::device {

void MsgDevice::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, cfg_.name);
  const size_t n = io.count("slots", slots_.size(), slots_.size());
  io.check(n == slots_.size(), fmt::format("{} slots in the file, the device has {}", n, slots_.size()));
  for (unsigned i = 0; i < slots_.size() && io.ok(); ++i) {
    Slot& s = slots_[i];
    snapshot::Io::Group sg(io, fmt::format("slot{}", i));
    io.field("address", s.words[0]);
    io.field("data_ctrl", s.words[1]);
    bool latched = s.latched_lo.has_value();
    uint32_t lo = s.latched_lo.value_or(0);
    io.field("latched", latched);
    io.field("latched_address_lo", lo);
    s.latched_lo = latched ? std::optional<uint32_t>(lo) : std::nullopt;
    io.field("window_open", s.window_open);
    io.field("before_address", s.before.address);
    io.field("before_data", s.before.data);
    io.field("before_source", s.before.source);
    io.field("committed", s.committed);
    io.field("disabled", s.disabled);
    io.field("device_masked", s.device_masked);
    io.field("pending", s.pending);
    io.field("armed", s.armed);
    io.field("commits", s.c.commits);
    io.field("rewrites_enabled", s.c.rewrites_enabled);
    io.field("events", s.c.events);
    io.field("messages", s.c.messages);
    io.field("replays", s.c.replays);
    io.field("torn", s.c.torn);
  }
  io.field("CONTROL", control_);
  io.field("ERROR", error_);
  io.check(uint32_t(error_) <= uint32_t(DeviceError::TriggerOutOfRange), "ERROR holds no defined error code");
  io.field("cq_stopped", cq_stopped_);
  io.field("reload_pending", reload_pending_);
  io.field("CTX_BASE", ctx_base_);
  io.field("swapped_in", swapped_in_);
  const size_t total = size_t(cfg_.ctx_ro_bytes) + cfg_.ctx_rw_bytes;
  io.blob("context", ctx_, total);
  io.check(!swapped_in_ || ctx_.size() == total, "a swapped-in context of another size than the device's");
  io.field("CQ_BASE", cq_base_);
  io.field("CQ_SIZE", cq_size_);
  io.field("CQ_HEAD", cq_head_);
  io.field("CQ_TAIL", cq_tail_);
  // The queue code indexes with head and tail modulo the size (a power of two up to 4096).
  io.check(cq_size_ == 0 ? cq_head_ == 0 && cq_tail_ == 0
                         : cq_size_ <= 4096 && (cq_size_ & (cq_size_ - 1)) == 0 && cq_head_ < cq_size_ &&
                               cq_tail_ < cq_size_,
           "CQ_SIZE, CQ_HEAD or CQ_TAIL out of range");
  io.field("events", events_);
  io.field("messages", messages_);
}

}  // namespace irqremap::device
