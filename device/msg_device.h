#pragma once
// MsgDevice: the common device both machines share (docs/DESIGN.md, "The common device";
// device/README.md). A queue-based device that keeps its MSI messages in its
// own message store: the driver writes each slot once at startup and, with remapping on,
// never again — affinity lives in the IRTE or the ITS tables.
//
// It models, and traces, the behaviours the 2020 IMS discussion was about:
//  - torn messages (H1): in the IDXD layout address_lo/address_hi take effect as they are
//    written and the data dword is the commit point (Linux writes it last); a message sent
//    between the pieces mixes old and new fields and is flagged as a Hazard. The reordered
//    layout {address_lo, data, address_hi, ctrl} latches address_lo until data arrives, so
//    one 8-byte store (or its two 32-bit halves, as Unicorn delivers it) commits atomically.
//    A write to a masked slot never tears: nothing is sent from it.
//  - context write-back (H2): the context in host RAM has an RO part (host-written, read on
//    swap-in, never written back) and an RW part (written back on swap-out). CONTROL.UNSPLIT
//    writes the whole context back and so clobbers a host change made while swapped in.
//  - one-shot slots re-armed through the command queue, lazy or eager masking on disable,
//    and pending events that are replayed, never lost (H3).
// Host API for tests without CPUs; MMIO registers (msg_device_regs.h) for guest firmware.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "device/msg_device_regs.h"
#include "remap/guest_memory.h"
#include "remap/mmio.h"
#include "remap/msi.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::device {

enum class SlotLayout : uint8_t { Idxd, Reordered };

struct DeviceConfig {
  std::string name = "dev0";         // trace unit
  unsigned slots = 8;                // 1..reg::kMaxSlots
  SlotLayout layout = SlotLayout::Idxd;
  uint32_t source = 0;               // requester ID (x86) or DeviceID (AArch64)
  bool eager_mask = false;           // CONTROL.EAGER_MASK at reset
  bool unsplit_context = false;      // CONTROL.UNSPLIT at reset
  bool one_shot = false;             // CONTROL.ONE_SHOT at reset
  uint16_t ctx_ro_bytes = 64;        // RO part of the context (multiple of 8)
  uint16_t ctx_rw_bytes = 64;        // RW part; the device keeps its counters at RW+0/+8
};

// Per-slot counters tests assert on.
struct SlotCounters {
  uint64_t commits = 0;           // complete message writes (the data dword, or atomic)
  uint64_t rewrites_enabled = 0;  // message writes while the slot was unmasked and committed
  uint64_t events = 0;            // events raised
  uint64_t messages = 0;          // MSIs sent
  uint64_t replays = 0;           // pending events sent on enable/unmask/re-arm
  uint64_t torn = 0;              // messages sent in the middle of a piecewise update
};

class MsgDevice final : public MmioDevice {
 public:
  MsgDevice(GuestMemory& mem, MsiSink& bus, DeviceConfig cfg);

  Trace& trace() { return trace_; }
  const DeviceConfig& config() const { return cfg_; }

  // --- MmioDevice: the firmware's view (msg_device_regs.h) ---
  std::string_view mmio_name() const override { return cfg_.name; }
  uint64_t mmio_size() const override { return reg::kWindowSize; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // --- host API: the driver's view without a CPU ---
  // One atomic 16-byte store of the whole slot (message + ctrl).
  void write_slot(unsigned slot, uint64_t address, uint32_t data, bool masked);
  void set_mask(unsigned slot, bool masked);   // a store to ctrl.mask
  void fire(unsigned slot);                    // the device raises slot's event
  void disable(unsigned slot);
  void enable(unsigned slot);
  void rearm(unsigned slot);
  bool swap_in();                              // false (and ERROR) on a context fault
  bool swap_out();
  void request_ro_reload();                    // RO is read again at the next queue operation
  // Runs the command queue from CQ_HEAD to CQ_TAIL (what a CQ_TAIL write does).
  void process_queue();

  // Its part of a machine snapshot (snapshot/state_io.h): the message store,
  // every slot's state and counters, the control and error registers, the command queue
  // and the swapped-in context. The configuration (slots, layout, context sizes) is the
  // machine's and is checked, not restored.
  void state(snapshot::Io& io);

  // --- inspection ---
  MsiWrite message(unsigned slot) const;  // what the slot would send now
  bool masked(unsigned slot) const;
  bool pending(unsigned slot) const { return slots_.at(slot).pending; }
  bool armed(unsigned slot) const { return slots_.at(slot).armed; }
  bool disabled(unsigned slot) const { return slots_.at(slot).disabled; }
  const SlotCounters& counters(unsigned slot) const { return slots_.at(slot).c; }
  uint32_t status() const;
  DeviceError error() const { return error_; }
  bool swapped_in() const { return swapped_in_; }
  uint32_t cq_head() const { return cq_head_; }
  uint64_t events() const { return events_; }
  uint64_t messages() const { return messages_; }

 private:
  struct Slot {
    std::array<uint64_t, 2> words{};  // the store as the device sees it
    std::optional<uint32_t> latched_lo;  // reordered layout: address_lo waiting for data
    bool window_open = false;         // a piecewise message update is under way
    MsiWrite before;                  // the message when the window opened
    bool committed = false;           // a complete message was written at least once
    bool disabled = false;
    bool device_masked = false;       // the device set ctrl.mask for a disabled slot
    bool pending = false;
    bool armed = true;
    SlotCounters c;
  };

  bool deliverable(const Slot& s) const;
  void send(unsigned slot, const char* why);
  void try_replay(unsigned slot, const char* why);
  void store_write(unsigned slot, unsigned offset, unsigned size, uint64_t value);
  void set_store_mask(Slot& s, bool on);
  void note_message_write(unsigned slot, const MsiWrite& before, bool was_masked, bool commit);
  void note_ctrl_write(unsigned slot, bool was_masked);
  void record_error(DeviceError e, std::string text);
  void run_command(uint64_t entry_addr, uint64_t w0, uint64_t w1);
  void update_rw_context();
  bool reload_ro();
  bool check_slot(unsigned slot, const char* what);

  GuestMemory& mem_;
  MsiSink& bus_;
  DeviceConfig cfg_;
  Trace trace_;
  std::vector<Slot> slots_;
  uint32_t control_ = 0;
  DeviceError error_ = DeviceError::None;
  bool cq_stopped_ = false;
  bool reload_pending_ = false;
  uint64_t ctx_base_ = 0;
  bool swapped_in_ = false;
  std::vector<uint8_t> ctx_;  // the device's copy of the context while swapped in
  uint64_t cq_base_ = 0;
  uint32_t cq_size_ = 0, cq_head_ = 0, cq_tail_ = 0;
  uint64_t events_ = 0, messages_ = 0;
};

}  // namespace irqremap::device
