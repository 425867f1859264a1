#pragma once
// Firmware phase markers: a call that firmware makes to open or close a named phase on its
// CPU's timeline track (--trace-out, --trace-svg), so a picture of a run shows "setup",
// "migrate", "unplug" where the firmware says they are. The machine emits a Note event
// {"phase", 1} with text "phase begin: NAME", or {"phase", 0} for "phase end"; phases nest
// per CPU and an end closes the innermost one.
//
// Neither conduit touches the UART, and QEMU ignores both, so marked firmware prints and
// behaves the same there:
//  - x86: a 32-bit OUT to port kX86Port with the guest-physical address of the name (a NUL
//    terminated string) begins a phase; OUT of 0 ends it. No device of QEMU's q35 decodes
//    the port, and QEMU's unassigned I/O ignores writes.
//  - AArch64: HVC #0 with x0 = kArmBegin, x1 = the name's guest-physical address, or
//    x0 = kArmEnd. The IDs are SMCCC fast calls (SMC64/HVC64) in the Vendor Specific
//    Hypervisor Service range (owner 6); the call returns 0 in x0 here. QEMU, as SMCCC 1.3
//    §5.2 asks for an unknown function ID, returns NOT_SUPPORTED (-1) and does nothing else.
#include <cstdint>
#include <string>

#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arch::phase_marker {

inline constexpr uint16_t kX86Port = 0x0520;
inline constexpr uint32_t kArmBegin = 0xC600'0001;
inline constexpr uint32_t kArmEnd = 0xC600'0002;
inline constexpr size_t kMaxName = 63;  // longer names are cut

// The name at `address`, up to its NUL or kMaxName characters; "?" when unreadable.
std::string read_name(const GuestMemory& mem, uint64_t address);
Event begin(unsigned cpu, std::string name);
Event end(unsigned cpu);

}  // namespace irqremap::arch::phase_marker
