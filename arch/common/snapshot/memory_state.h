#pragma once
// Guest memory in a snapshot: every region of a GuestMemory (RAM and the flash banks, in
// the order the machine added them) with its name and size, then its pages that hold
// anything but zeros (4 KiB each, by index), so a 128 MiB machine whose guest touched a
// few megabytes makes a file of a few megabytes. Loading checks that the regions are the
// machine's own (same names, bases and sizes) and zero-fills every page the file omits.
#include "snapshot/state_io.h"
#include "remap/guest_memory.h"

namespace irqremap::snapshot {

inline constexpr uint64_t kPageBytes = 4096;

void memory_state(Io& io, GuestMemory& mem);

}  // namespace irqremap::snapshot
