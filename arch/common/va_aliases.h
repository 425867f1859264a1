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
//
// Runs. Unicorn 2.0.1 gives each mapped region a section of its own in the engine's
// physical map, and its QEMU asserts (aborting the host process) when a map holds
// TARGET_PAGE_SIZE sections: 4,096 on x86 (measured: the abort comes at about 4,090 single
// pages). Each region also rebuilds that map and searches every RAM block for room, so
// mapping is O(N) in the regions there are: a guest that needs more regions than fit runs
// at the speed of the map, not of its code. So a RAM alias is a run: the pages the
// guest's tables map, from the faulting page on, onto pages of one RAM region (at most
// kMaxRunPages), one engine region for the lot:
//  - pages on consecutive physical pages are that RAM's own host memory;
//  - physically scattered pages (a vmalloc'd buffer, any OS's page allocator) need a host
//    range that holds them side by side: the region's memory file (GuestMemory::Region::fd)
//    mapped there piece by piece (mmap(2) MAP_SHARED | MAP_FIXED), the same bytes as the
//    RAM's own mapping. Each piece is a mapping the host kernel counts against its limit
//    of mappings per process (vm.max_map_count, 65,530 by default), so an engine holds at
//    most `max_pieces` of them (a machine's kX86MachinePieces shared by its CPUs), and
//    the process at most kProcessPieces, below the host's limit with room for everything
//    else (a test may run two large machines at once); a run stops before the piece that
//    would pass either. The first cap is the machine's own, so a run replaces the same
//    runs however many machines the process has; only a process past the second cap,
//    which no single machine reaches, can see a run end sooner.
// An engine holds at most `max_runs` runs, below the abort with room for the machine's own
// RAM, ROM and device windows. At either cap a new run replaces the oldest ones, as a TLB
// replaces entries: a processor is always free to invalidate more TLB entries than
// software asks (SDM vol. 3A §4.10.4.1), and an access through a replaced run faults in
// again and maps the translation of that time. Oldest first (FIFO) needs no bookkeeping
// on hits, which Unicorn never reports, and is the same on every run of the same guest.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arch {

class VaAliases {
 public:
  static constexpr uint64_t kPage = 0x1000;  // Unicorn's mapping granule

  static constexpr std::size_t kX86MaxRuns = 2'048;
  // Host mappings for scattered pages: a machine's, shared by its CPUs (a 100 MB buffer of
  // pages in no order is 25,600), and the process's.
  static constexpr std::size_t kX86MachinePieces = 32'768;
  static constexpr std::size_t kProcessPieces = 49'152;
  static constexpr uint64_t kMaxRunPages = 4'096;  // 16 MiB
  explicit VaAliases(std::size_t max_runs, std::size_t max_pieces = kX86MachinePieces)
      : max_runs_(max_runs), max_pieces_(max_pieces) {}
  ~VaAliases();
  VaAliases(const VaAliases&) = delete;
  VaAliases& operator=(const VaAliases&) = delete;

  // The physical page the guest's tables map `va_page` onto, as the vCPU's walk finds it,
  // or nullopt when there is no translation.
  using Translate = std::function<std::optional<uint64_t>(uint64_t va_page)>;

  // Maps the page holding `va` in `uc`: a run of RAM from the page holding `pa` when that
  // is RAM (`translate` says what follows; null: one page), else whatever `not_ram(va_page,
  // pa_page)` maps (a device page, a scratch page). At a cap the oldest runs go first, but
  // never the one holding `keep` (the page the running code is on). False when the page is
  // aliased already (Unicorn refused it again: something else is wrong), no run can make
  // room or the mapping failed. Traced as Notes of unit "cpu<N>".
  bool map(uc_engine* uc, const GuestMemory& mem, uint64_t va, uint64_t pa,
           const std::function<bool(uint64_t va_page, uint64_t pa_page)>& not_ram, Trace& trace,
           unsigned cpu, const Translate& translate = nullptr, std::optional<uint64_t> keep = std::nullopt);
  // Unmaps every run (a CR3 write, INVPCID: the translations they were made with may be
  // gone) or the run holding `va` (INVLPG). An access there faults in again and is mapped
  // with the translation of that time. Returns how many runs went.
  std::size_t drop_all(uc_engine* uc);
  std::size_t drop(uc_engine* uc, uint64_t va);
  // Whether the page holding `address` is an alias (so nothing of the machine is there).
  bool contains(uint64_t address) const { return run_at(address) != runs_.end(); }
  // Whether the run cap is reached: each new run replaces the oldest from then on.
  bool full() const { return runs_.size() >= max_runs_; }
  std::size_t runs() const { return runs_.size(); }
  // Runs replaced at a cap so far, and host mappings held for scattered pages now.
  uint64_t replaced() const { return replaced_; }
  std::size_t pieces() const { return pieces_; }
  void set_max_pieces(std::size_t n) { max_pieces_ = n; }
  // The pages of the run holding `address` from its first page (0: none).
  uint64_t run_pages(uint64_t address) const {
    const auto it = run_at(address);
    return it == runs_.end() ? 0 : it->second.pages;
  }
  std::size_t pages() const;
  // The runs, oldest first, each as its physically contiguous parts: {va_page, pa_page,
  // pages, joined}, `joined` when the part continues the run of the part before. A
  // snapshot saves them in this order, so mapping them again in it (map() with a translate
  // that answers the parts) gives the same runs and the same replacement order.
  struct RunView {
    uint64_t va_page, pa_page, pages;
    bool joined = false;
  };
  std::vector<RunView> list() const;

 private:
  struct Piece {
    uint64_t offset, pa, pages;  // offset: pages from the run's first
  };
  struct Run {
    uint64_t pages, age;          // age: when it was mapped (the key in ages_)
    std::vector<Piece> parts;     // physically contiguous parts, by offset
    void* window = nullptr;       // the host range holding scattered parts (nullptr: RAM's own)
  };
  using Runs = std::map<uint64_t, Run>;
  Runs::const_iterator run_at(uint64_t address) const;
  void unmap(uc_engine* uc, Runs::const_iterator it);
  // Unmaps the oldest run that does not hold `keep`; false when there is none.
  bool replace_oldest(uc_engine* uc, std::optional<uint64_t> keep, Trace& trace, unsigned cpu);
  // Maps the parts side by side in a new host range from `r`'s memory file: nullptr when
  // the host refused (the caller then maps fewer).
  static void* make_window(const GuestMemory::Region& r, const std::vector<Piece>& parts, uint64_t pages);

  std::size_t max_runs_, max_pieces_;
  Runs runs_;                           // by first VA page
  std::map<uint64_t, uint64_t> ages_;   // age -> first VA page, oldest first
  uint64_t next_age_ = 0;
  uint64_t replaced_ = 0;
  std::size_t pieces_ = 0;              // host mappings in the windows
};

}  // namespace irqremap::arch
