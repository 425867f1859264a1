#pragma once
// Alias pages at virtual addresses, one engine's worth (the x86 vCPU). Unicorn 2.0.1 looks a
// guest's virtual address up in its own memory map, and on x86 uses what it finds instead
// of the translation (the access goes to the page mapped at the VA). So when the guest's
// tables map a VA onto something the machine has, the vCPU maps an alias page at the VA
// and runs the refused instruction again (x86_vcpu.h says what it needs behind the alias).
// An alias holds the translation it was made with, as a TLB entry does: the vCPU drops
// them where the architecture makes software invalidate the TLB (SDM vol. 3A §4.10.4:
// MOV to CR3, INVLPG, INVPCID), and the next access maps the new translation.
// On AArch64 QEMU translates after the look-up, so the unbacked space
// (unbacked_space.h) answers every VA there instead.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>
#include <string>

#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arch {

class VaAliases {
 public:
  static constexpr uint64_t kPage = 0x1000;  // Unicorn's mapping granule

  // Unicorn 2.0.1 gives each mapped region a section of its own in the engine's physical
  // map, and its QEMU asserts (aborting the host process) when a map holds
  // TARGET_PAGE_SIZE sections: 4,096 on x86 (measured: the abort comes at about 4,090
  // single pages). Each region also rebuilds that map, so N regions cost O(N^2): 3,584
  // take about 55 s. So a RAM alias is a run: as many pages as the guest's tables map
  // onto consecutive physical pages of one RAM region from the faulting page on (at most
  // kMaxRunPages), one region for the lot. An engine's runs are capped below the abort
  // with room for the machine's own RAM, ROM and device windows, at what costs seconds
  // rather than a minute; the pages in them are not.
  static constexpr std::size_t kX86MaxRuns = 2'048;
  static constexpr uint64_t kMaxRunPages = 4'096;  // 16 MiB
  explicit VaAliases(std::size_t max_runs) : max_runs_(max_runs) {}

  // How many pages from `va_page` on the guest's tables map onto consecutive physical
  // pages from `pa_page` on (at least 1, at most `max_pages`), as the vCPU's walk finds.
  using Extent = std::function<uint64_t(uint64_t va_page, uint64_t pa_page, uint64_t max_pages)>;

  // Maps the page holding `va` in `uc`: a run of RAM from the page holding `pa` when that
  // is RAM (`extent` says how far; null: one page), else whatever `not_ram(va_page,
  // pa_page)` maps (a device page, a scratch page). False when the page is aliased already
  // (Unicorn refused it again: something else is wrong), the cap is reached (full()) or
  // the mapping failed. Traced as a Note of unit "cpu<N>".
  bool map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
           const std::function<bool(uint64_t va_page, uint64_t pa_page)>& not_ram, Trace& trace,
           unsigned cpu, const Extent& extent = nullptr);
  // Unmaps every run (a CR3 write, INVPCID: the translations they were made with may be
  // gone) or the run holding `va` (INVLPG). An access there faults in again and is mapped
  // with the translation of that time. Returns how many runs went.
  std::size_t drop_all(uc_engine* uc);
  std::size_t drop(uc_engine* uc, uint64_t va);
  // Whether the page holding `address` is an alias (so nothing of the machine is there).
  bool contains(uint64_t address) const { return run_at(address) != runs_.end(); }
  // Whether the cap is reached: map() refuses every new run from then on.
  bool full() const { return runs_.size() >= max_runs_; }
  std::size_t runs() const { return runs_.size(); }
  // The pages of the run holding `address` from its first page (0: none).
  uint64_t run_pages(uint64_t address) const {
    const auto it = run_at(address);
    return it == runs_.end() ? 0 : it->second.pages;
  }
  std::size_t pages() const;
  // The runs, by first VA page: {va_page, pa_page, pages} (a snapshot saves them).
  struct RunView {
    uint64_t va_page, pa_page, pages;
  };
  std::vector<RunView> list() const {
    std::vector<RunView> out;
    for (const auto& [va, run] : runs_) out.push_back({va, run.pa, run.pages});
    return out;
  }
  // The one-line stop message for an access that needs a run past the cap.
  std::string cap_message(uint64_t va, uint64_t pa) const;

 private:
  struct Run {
    uint64_t pages, pa;
  };
  std::map<uint64_t, Run>::const_iterator run_at(uint64_t address) const;

  std::size_t max_runs_;
  std::map<uint64_t, Run> runs_;  // by first VA page
};

}  // namespace irqremap::arch
