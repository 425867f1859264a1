#pragma once
// Maps every GuestMemory region (RAM read/write/execute, ROM read/execute) into one Unicorn engine with uc_mem_map_ptr, so all
// vCPUs of a machine and the device models read and write the same host bytes (docs/DESIGN.md
// "Machines": one engine per vCPU, one GuestMemory). Unicorn 2.0 does not copy or own the
// buffers; GuestMemory must outlive the engine.
#include <unicorn/unicorn.h>

#include <expected>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::arch {

std::expected<void, std::string> map_guest_memory(uc_engine* uc, const GuestMemory& mem);

}  // namespace irqremap::arch
