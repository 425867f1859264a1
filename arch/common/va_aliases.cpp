#include "arch/common/va_aliases.h"

#include <fmt/format.h>

namespace irqremap::arch {

bool VaAliases::map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
                    const std::function<bool(uint64_t, uint64_t)>& not_ram, Trace& trace, unsigned cpu) {
  const uint64_t va_page = va & ~(kPage - 1), pa_page = pa & ~(kPage - 1);
  if (pages_.contains(va_page) || va_page + kPage < va_page || full()) return false;
  if (std::byte* host = mem.host_ptr(pa_page, kPage)) {
    if (uc_mem_map_ptr(uc, va_page, kPage, UC_PROT_ALL, host) != UC_ERR_OK) return false;
  } else if (!not_ram || !not_ram(va_page, pa_page)) {
    return false;
  }
  pages_.insert(va_page);
  trace.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", cpu),
                 fmt::format("alias page mapped at VA {:#x} for PA {:#x} (Unicorn 2.0.1 looks the VA up itself)",
                             va_page, pa_page),
                 {{"va", va_page}, {"pa", pa_page}}};
  });
  return true;
}

std::string VaAliases::cap_message(uint64_t va, uint64_t pa) const {
  return fmt::format("guest access to VA {:#x} mapped to PA {:#x}: this CPU already has {} alias pages for "
                     "virtual addresses that differ from their physical ones, as many as Unicorn 2.0.1's "
                     "physical map holds (arch/common/va_aliases.h); map this memory VA = PA",
                     va, pa, pages_.size());
}

}  // namespace irqremap::arch
