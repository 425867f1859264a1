#pragma once
// Alias pages at virtual addresses, one engine's worth (the x86 vCPU). Unicorn 2.0.1 looks a
// guest's virtual address up in its own memory map, and on x86 uses what it finds instead
// of the translation (the access goes to the page mapped at the VA). So when the guest's
// tables map a VA onto something the machine has, the vCPU maps an alias page at the VA
// and runs the refused instruction again (x86_vcpu.h says what it needs behind the alias).
// On AArch64 QEMU translates after the look-up, so the unbacked space
// (unbacked_space.h) answers every VA there instead.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arch {

class VaAliases {
 public:
  static constexpr uint64_t kPage = 0x1000;  // Unicorn's mapping granule

  // Unicorn 2.0.1 gives each mapped page a section of its own in the engine's physical
  // map, and its QEMU asserts (aborting the host process) when a map holds
  // TARGET_PAGE_SIZE sections: 4,096 on x86 (measured: the abort comes at about 4,090
  // single pages). Each page also rebuilds that map, so N pages cost O(N^2): 3,584 take
  // about 55 s. An engine's alias pages are capped below the abort with room for the
  // machine's own RAM, ROM and device windows, at what costs seconds rather than a minute.
  static constexpr std::size_t kX86MaxPages = 2'048;
  explicit VaAliases(std::size_t max_pages) : max_pages_(max_pages) {}

  // Maps the page holding `va` in `uc`: the RAM page holding `pa` when there is one, else
  // whatever `not_ram(va_page, pa_page)` maps (a device page, a scratch page). False when
  // the page is aliased already (Unicorn refused it again: something else is wrong), the
  // cap is reached (full()) or the mapping failed. Traced as a Note of unit "cpu<N>".
  bool map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
           const std::function<bool(uint64_t va_page, uint64_t pa_page)>& not_ram, Trace& trace,
           unsigned cpu);
  // Whether the page holding `address` is an alias (so nothing of the machine is there).
  bool contains(uint64_t address) const { return pages_.contains(address & ~(kPage - 1)); }
  // Whether the cap is reached: map() refuses every new page from then on.
  bool full() const { return pages_.size() >= max_pages_; }
  std::size_t size() const { return pages_.size(); }
  // The one-line stop message for an access that needs a page past the cap.
  std::string cap_message(uint64_t va, uint64_t pa) const;

 private:
  std::size_t max_pages_;
  std::set<uint64_t> pages_;
};

}  // namespace irqremap::arch
