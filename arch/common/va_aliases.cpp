#include "arch/common/va_aliases.h"

#include <fmt/format.h>

#include <algorithm>

namespace irqremap::arch {

std::map<uint64_t, VaAliases::Run>::const_iterator VaAliases::run_at(uint64_t address) const {
  const uint64_t page = address & ~(kPage - 1);
  auto it = runs_.upper_bound(page);
  if (it == runs_.begin()) return runs_.end();
  --it;
  return page - it->first < it->second.pages * kPage ? it : runs_.end();
}

std::size_t VaAliases::pages() const {
  std::size_t n = 0;
  for (const auto& [va, run] : runs_) n += run.pages;
  return n;
}

bool VaAliases::map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
                    const std::function<bool(uint64_t, uint64_t)>& not_ram, Trace& trace, unsigned cpu,
                    const Extent& extent) {
  const uint64_t va_page = va & ~(kPage - 1), pa_page = pa & ~(kPage - 1);
  if (contains(va_page) || va_page + kPage < va_page || full()) return false;
  uint64_t pages = 1;
  if (const GuestMemory::Region* r = mem.region_at(pa_page); r != nullptr && mem.host_ptr(pa_page, kPage)) {
    // The run: no further than the RAM region, the VA space, the next alias, kMaxRunPages.
    uint64_t most = std::min<uint64_t>(kMaxRunPages, (r->base + r->size - pa_page) / kPage);
    if (va_page > ~uint64_t{0} - most * kPage) most = (~uint64_t{0} - va_page) / kPage + 1;
    if (auto next = runs_.upper_bound(va_page); next != runs_.end())
      most = std::min<uint64_t>(most, (next->first - va_page) / kPage);
    if (extent && most > 1) pages = std::clamp<uint64_t>(extent(va_page, pa_page, most), 1, most);
    // Something of the machine's own may lie inside the run's VAs (Unicorn refuses an
    // overlapping region): shorter runs until one fits, down to the page.
    for (;; pages = (pages + 1) / 2) {
      if (uc_mem_map_ptr(uc, va_page, pages * kPage, UC_PROT_ALL, mem.host_ptr(pa_page, pages * kPage)) ==
          UC_ERR_OK)
        break;
      if (pages == 1) return false;
    }
  } else if (!not_ram || !not_ram(va_page, pa_page)) {
    return false;
  }
  runs_[va_page] = Run{pages, pa_page};
  trace.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", cpu),
                 fmt::format("alias of {} page(s) mapped at VA {:#x} for PA {:#x} (Unicorn 2.0.1 looks the VA up itself)",
                             pages, va_page, pa_page),
                 {{"va", va_page}, {"pa", pa_page}, {"pages", pages}}};
  });
  return true;
}

std::size_t VaAliases::drop_all(uc_engine* uc) {
  const std::size_t n = runs_.size();
  for (const auto& [va, run] : runs_) uc_mem_unmap(uc, va, run.pages * kPage);
  runs_.clear();
  return n;
}

std::size_t VaAliases::drop(uc_engine* uc, uint64_t va) {
  const auto it = run_at(va);
  if (it == runs_.end()) return 0;
  uc_mem_unmap(uc, it->first, it->second.pages * kPage);
  runs_.erase(it);
  return 1;
}

std::string VaAliases::cap_message(uint64_t va, uint64_t pa) const {
  return fmt::format("guest access to VA {:#x} mapped to PA {:#x}: this CPU already has {} alias runs ({} pages) for "
                     "virtual addresses that differ from their physical ones, as many as Unicorn 2.0.1's "
                     "physical map holds (arch/common/va_aliases.h); map this memory VA = PA or physically contiguous",
                     va, pa, runs_.size(), pages());
}

}  // namespace irqremap::arch
