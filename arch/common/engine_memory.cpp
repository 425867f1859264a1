#include "arch/common/engine_memory.h"

#include <fmt/format.h>

namespace irqremap::arch {

std::expected<void, std::string> map_guest_memory(uc_engine* uc, const GuestMemory& mem) {
  for (const GuestMemory::Region& r : mem.regions()) {
    if (uc_err e = uc_mem_map_ptr(uc, r.base, r.size, UC_PROT_ALL, r.host); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: mapping {} at {:#x} ({:#x} bytes): {}", r.name,
                                         r.base, r.size, uc_strerror(e)));
  }
  return {};
}

}  // namespace irqremap::arch
