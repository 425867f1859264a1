#include "arch/common/engine_memory.h"

#include <fmt/format.h>

namespace irqremap::arch {

std::expected<void, std::string> map_guest_memory(uc_engine* uc, const GuestMemory& mem) {
  for (const GuestMemory::Region& r : mem.regions()) {
    // A read-only region (ROM) is mapped without write permission: CPU fetches and loads
    // work, and a store raises UC_HOOK_MEM_WRITE_PROT (arch/common/rom_writes.h).
    const uint32_t prot = r.read_only ? (UC_PROT_READ | UC_PROT_EXEC) : UC_PROT_ALL;
    if (uc_err e = uc_mem_map_ptr(uc, r.base, r.size, prot, r.host); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: mapping {} at {:#x} ({:#x} bytes): {}", r.name,
                                         r.base, r.size, uc_strerror(e)));
    // uc_mem_map_ptr records the permissions for its own checks only; uc_mem_protect also
    // marks the region read-only in QEMU's memory map, whose TLB then discards stores to it
    // (rom_writes.h relies on it).
    if (r.read_only)
      if (uc_err e = uc_mem_protect(uc, r.base, r.size, prot); e != UC_ERR_OK)
        return std::unexpected(fmt::format("unicorn: protecting {} at {:#x}: {}", r.name, r.base, uc_strerror(e)));
  }
  return {};
}

}  // namespace irqremap::arch
