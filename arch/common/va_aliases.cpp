#include "arch/common/va_aliases.h"

#include <sys/mman.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

namespace irqremap::arch {

namespace {
// Host mappings held by every VaAliases of the process (the kProcessPieces cap).
std::atomic<std::size_t> process_pieces{0};
}  // namespace

VaAliases::~VaAliases() {
  // The engine's regions go with the engine; the host ranges behind them are ours.
  for (const auto& [va, run] : runs_)
    if (run.window != nullptr) munmap(run.window, run.pages * kPage);
  process_pieces -= pieces_;
}

VaAliases::Runs::const_iterator VaAliases::run_at(uint64_t address) const {
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

std::vector<VaAliases::RunView> VaAliases::list() const {
  std::vector<RunView> out;
  for (const auto& [age, va] : ages_) {
    const Run& run = runs_.at(va);
    for (size_t i = 0; i < run.parts.size(); ++i)
      out.push_back({va + run.parts[i].offset * kPage, run.parts[i].pa, run.parts[i].pages, i != 0});
  }
  return out;
}

void VaAliases::unmap(uc_engine* uc, Runs::const_iterator it) {
  uc_mem_unmap(uc, it->first, it->second.pages * kPage);
  if (it->second.window != nullptr) {
    munmap(it->second.window, it->second.pages * kPage);
    pieces_ -= it->second.parts.size();
    process_pieces -= it->second.parts.size();
  }
  ages_.erase(it->second.age);
  runs_.erase(it);
}

bool VaAliases::replace_oldest(uc_engine* uc, std::optional<uint64_t> keep, Trace& trace, unsigned cpu) {
  for (const auto& [age, first_page] : ages_) {
    const uint64_t va = first_page;  // a copy: unmap() erases the node it is in
    const auto it = runs_.find(va);
    if (keep && run_at(*keep) == it) continue;  // the running code's page stays
    const uint64_t pages = it->second.pages, pa = it->second.parts.front().pa;
    unmap(uc, it);
    ++replaced_;
    trace.emit_lazy([&] {
      return Event{EventKind::Note, fmt::format("cpu{}", cpu),
                   fmt::format("alias of {} page(s) at VA {:#x} (PA {:#x}) replaced: this CPU holds at most {} runs "
                               "and {} host mappings of scattered pages",
                               pages, va, pa, max_runs_, max_pieces_),
                   {{"va", va}, {"pa", pa}, {"pages", pages}}};
    });
    return true;
  }
  return false;
}

void* VaAliases::make_window(const GuestMemory::Region& r, const std::vector<Piece>& parts, uint64_t pages) {
  // A reserved range first, so that the parts land side by side and nothing else of the
  // process can be in between; each part then replaces its slice of it.
  void* base = mmap(nullptr, pages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  for (const Piece& p : parts) {
    void* at = static_cast<std::byte*>(base) + p.offset * kPage;
    if (mmap(at, p.pages * kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, r.fd, off_t(p.pa - r.base)) ==
        MAP_FAILED) {
      munmap(base, pages * kPage);
      return nullptr;
    }
  }
  return base;
}

bool VaAliases::map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
                    const std::function<bool(uint64_t, uint64_t)>& not_ram, Trace& trace, unsigned cpu,
                    const Translate& translate, std::optional<uint64_t> keep) {
  const uint64_t va_page = va & ~(kPage - 1), pa_page = pa & ~(kPage - 1);
  if (contains(va_page) || va_page + kPage < va_page) return false;
  if (full() && !replace_oldest(uc, keep, trace, cpu)) return false;
  Run run{1, next_age_, {{0, pa_page, 1}}, nullptr};
  if (const GuestMemory::Region* r = mem.region_at(pa_page); r != nullptr && mem.host_ptr(pa_page, kPage)) {
    // The run: no further than the VA space, the next alias, kMaxRunPages, and the pages
    // the tables map into this RAM region (scattered ones only where it has a file).
    uint64_t most = kMaxRunPages;
    if (va_page > ~uint64_t{0} - most * kPage) most = (~uint64_t{0} - va_page) / kPage + 1;
    if (auto next = runs_.upper_bound(va_page); next != runs_.end())
      most = std::min<uint64_t>(most, (next->first - va_page) / kPage);
    for (uint64_t n = 1; translate && n < most; ++n) {
      const std::optional<uint64_t> p = translate(va_page + n * kPage);
      if (!p || *p % kPage != 0 || *p < r->base || *p - r->base >= r->size) break;
      Piece& last = run.parts.back();
      if (*p == last.pa + last.pages * kPage) {
        ++last.pages;
      } else {
        if (r->fd < 0) break;
        // Room for one more host mapping (a window of k parts takes k): older runs go.
        while (pieces_ + run.parts.size() + 1 > max_pieces_ && replace_oldest(uc, keep, trace, cpu)) {
        }
        if (pieces_ + run.parts.size() + 1 > max_pieces_ || process_pieces + run.parts.size() + 1 > kProcessPieces)
          break;
        run.parts.push_back({n, *p, 1});
      }
      run.pages = n + 1;
    }
    // Scattered parts in a window; if the host or the engine refuses it, fewer parts.
    for (; run.parts.size() > 1; run.parts.pop_back(), run.pages = run.parts.back().offset + run.parts.back().pages) {
      void* w = make_window(*r, run.parts, run.pages);
      if (w == nullptr) continue;
      if (uc_mem_map_ptr(uc, va_page, run.pages * kPage, UC_PROT_ALL, w) == UC_ERR_OK) {
        run.window = w;
        pieces_ += run.parts.size();
        process_pieces += run.parts.size();
        break;
      }
      munmap(w, run.pages * kPage);
    }
    if (run.window == nullptr) {
      // Physically contiguous: the RAM's own memory. Something of the machine's own may
      // lie inside the run's VAs (Unicorn refuses an overlapping region): shorter runs
      // until one fits, down to the page.
      for (;; run.pages = (run.pages + 1) / 2) {
        if (uc_mem_map_ptr(uc, va_page, run.pages * kPage, UC_PROT_ALL, mem.host_ptr(pa_page, run.pages * kPage)) ==
            UC_ERR_OK)
          break;
        if (run.pages == 1) return false;
      }
      run.parts.front().pages = run.pages;
    }
  } else if (!not_ram || !not_ram(va_page, pa_page)) {
    return false;
  }
  const uint64_t pages = run.pages;
  const size_t parts = run.parts.size();
  runs_.emplace(va_page, std::move(run));
  ages_[next_age_++] = va_page;
  trace.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", cpu),
                 parts == 1 ? fmt::format("alias of {} page(s) mapped at VA {:#x} for PA {:#x} (Unicorn 2.0.1 looks the "
                                          "VA up itself)", pages, va_page, pa_page)
                            : fmt::format("alias of {} page(s) mapped at VA {:#x} for PA {:#x} and {} more physically "
                                          "contiguous part(s) (Unicorn 2.0.1 looks the VA up itself)",
                                          pages, va_page, pa_page, parts - 1),
                 {{"va", va_page}, {"pa", pa_page}, {"pages", pages}}};
  });
  return true;
}

std::size_t VaAliases::drop_all(uc_engine* uc) {
  const std::size_t n = runs_.size();
  while (!runs_.empty()) unmap(uc, runs_.begin());
  return n;
}

std::size_t VaAliases::drop(uc_engine* uc, uint64_t va) {
  const auto it = run_at(va);
  if (it == runs_.end()) return 0;
  unmap(uc, it);
  return 1;
}

}  // namespace irqremap::arch
