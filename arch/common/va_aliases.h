#pragma once
// Alias pages at virtual addresses, one engine's worth. Unicorn 2.0.1 looks a guest's
// virtual address up in its own memory map: on AArch64 before it translates it (the access
// then reaches the PA through the TLB), on x86 instead of the translation (the access goes
// to the page mapped at the VA). So when the guest's tables map a VA onto something the
// machine has, the vCPU maps an alias page at the VA and runs the refused instruction
// again (arm64_vcpu.h, x86_vcpu.h say what each needs behind the alias).
#include <unicorn/unicorn.h>

#include <cstdint>
#include <functional>
#include <set>

#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arch {

class VaAliases {
 public:
  static constexpr uint64_t kPage = 0x1000;  // Unicorn's mapping granule

  // Maps the page holding `va` in `uc`: the RAM page holding `pa` when there is one, else
  // whatever `not_ram(va_page, pa_page)` maps (a device page, a scratch page). False when
  // the page is aliased already (Unicorn refused it again: something else is wrong) or the
  // mapping failed. Traced as a Note of unit "cpu<N>".
  bool map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
           const std::function<bool(uint64_t va_page, uint64_t pa_page)>& not_ram, Trace& trace,
           unsigned cpu);
  // Whether the page holding `address` is an alias (so nothing of the machine is there).
  bool contains(uint64_t address) const { return pages_.contains(address & ~(kPage - 1)); }

 private:
  std::set<uint64_t> pages_;
};

}  // namespace irqremap::arch
