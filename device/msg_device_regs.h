#pragma once
// The register window of the common message-store device (device/README.md has the same
// map for firmware authors). One 4 KiB MMIO window: control and status registers, then
// the message store itself, 16 bytes per slot (device/ims_slot_format.h).
#include <cstdint>

#include "remap/fields.h"

namespace irqremap::device {

namespace reg {
inline constexpr uint64_t kWindowSize = 0x1000;
inline constexpr uint32_t kIdValue = 0x494D5344;  // "IMSD"

inline constexpr uint64_t ID = 0x000;         // RO 32
inline constexpr uint64_t SLOTS = 0x004;      // RO 32: [15:0] slot count, [16] reordered layout
inline constexpr uint64_t STATUS = 0x008;     // RO 32: see status::
inline constexpr uint64_t ERROR = 0x00C;      // RO 32: last error (see DeviceError); write 0 clears
inline constexpr uint64_t TRIGGER = 0x010;    // WO 32: raise the event of slot n
inline constexpr uint64_t CONTROL = 0x014;    // RW 32: see control::
inline constexpr uint64_t CTX_BASE = 0x018;   // RW 64: device context in host RAM (RO part, then RW part)
inline constexpr uint64_t CTX_SIZES = 0x020;  // RO 32: [15:0] RO part bytes, [31:16] RW part bytes
inline constexpr uint64_t CQ_BASE = 0x028;    // RW 64: command queue (16-byte entries)
inline constexpr uint64_t CQ_SIZE = 0x030;    // RW 32: entries, a power of two 1..4096
inline constexpr uint64_t CQ_HEAD = 0x034;    // RO 32: next entry the device reads
inline constexpr uint64_t CQ_TAIL = 0x038;    // RW 32: doorbell, the driver's next free entry
inline constexpr uint64_t EVENTS = 0x040;     // RO 64: events raised
inline constexpr uint64_t MESSAGES = 0x048;   // RO 64: MSIs sent
inline constexpr uint64_t PENDING = 0x050;    // RO 64: bitmap, slot n has an undelivered event
inline constexpr uint64_t ARMED = 0x058;      // RO 64: bitmap, slot n may fire (one-shot)
inline constexpr uint64_t DISABLED = 0x060;   // RO 64: bitmap, slot n disabled by the driver
inline constexpr uint64_t SLOT_BASE = 0x100;  // slot n at SLOT_BASE + 16 n
inline constexpr unsigned kMaxSlots = 64;
}  // namespace reg

namespace status {
inline constexpr uint32_t SWAPPED_IN = 1u << 0;  // the context is held by the device
inline constexpr uint32_t CQ_ERROR = 1u << 1;    // ERROR holds a command queue error
inline constexpr uint32_t CQ_STOPPED = 1u << 2;  // a memory fault stopped the queue at CQ_HEAD
inline constexpr uint32_t RELOAD_RO = 1u << 3;   // an RO reload waits for the next command
}  // namespace status

namespace control {
inline constexpr uint32_t EAGER_MASK = 1u << 0;  // disable masks at once (else lazily)
inline constexpr uint32_t UNSPLIT = 1u << 1;     // swap-out writes the whole context back
inline constexpr uint32_t ONE_SHOT = 1u << 2;    // a slot fires once until re-armed
}  // namespace control

enum class DeviceError : uint32_t {
  None = 0,
  UnknownCommand = 1,    // opcode not in CmdOp: skipped, CQ_HEAD moves on
  SlotOutOfRange = 2,    // slot >= SLOTS: skipped
  ReservedBits = 3,      // a reserved command bit set: skipped
  QueueMemory = 4,       // an entry outside guest RAM: the queue stops at CQ_HEAD
  ContextMemory = 5,     // the context outside guest RAM: the swap does not happen
  TailOutOfRange = 6,    // CQ_TAIL written >= CQ_SIZE: ignored
  BadQueueSize = 7,      // CQ_SIZE not a power of two in 1..4096: ignored
  TriggerOutOfRange = 8, // TRIGGER slot >= SLOTS: ignored
};
const char* to_string(DeviceError e);

// Command queue entry (16 bytes).
enum class CmdOp : uint8_t {
  Nop = 0,
  Rearm = 1,     // one-shot: the slot may fire again (a pending event fires now)
  Mask = 2,      // set the slot's ctrl.mask
  Unmask = 3,    // clear it (a pending event fires now)
  Disable = 4,   // lazy: mark only; eager: mask at once
  Enable = 5,    // clear the disable and any mask the device set for it; replay pending
  ReloadRo = 6,  // the RO context part is read again before the next command
  SwapIn = 7,    // DMA the whole context into the device
  SwapOut = 8,   // write the RW part back (the whole context when CONTROL.UNSPLIT)
};

namespace cmd {
using fields::Access;
using fields::Field;
inline constexpr fields::EnumLabel kOpLabels[] = {
    {0, "NOP"},    {1, "REARM"},  {2, "MASK"},     {3, "UNMASK"},   {4, "DISABLE"},
    {5, "ENABLE"}, {6, "RELOAD_RO"}, {7, "SWAP_IN"}, {8, "SWAP_OUT"}};
inline constexpr Field OPCODE{"opcode", 7, 0, Access::RW, "Command", kOpLabels};
inline constexpr Field SLOT{"slot", 31, 16, Access::RW, "Message slot the command acts on"};
inline constexpr Field kFields[] = {
    OPCODE,
    {"Rsvd", 15, 8, Access::Rsvd, "reserved, zero"},
    SLOT,
    {"Rsvd", 63, 32, Access::Rsvd, "reserved, zero"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved, zero"},
};
static_assert(fields::well_formed(kFields, 128, true));
inline constexpr fields::Format kFormat{"dev-cmd", "Message-store device command queue entry",
                                        "device/README.md", 128, kFields};
}  // namespace cmd

}  // namespace irqremap::device
