#pragma once
// VT-d DMA remapping as pure table walks (Intel VT-d spec rev 5.10 chapter 3, legacy mode):
// request -> root entry -> context entry -> second-level page table -> page frame. No unit
// state here: the walks read guest memory and return a value or the architected fault, in
// the order of checks §7.1.3 lists (and QEMU's vtd_dev_to_context_entry / vtd_iova_to_slpte
// follow): root read, root P, root reserved, context read, context P, context reserved,
// TT/AW supported; then address width, and per level read, permission, reserved, leaf.
#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "remap/guest_memory.h"

namespace irqremap::vtd {

using RootEntry = std::array<uint64_t, 2>;
using ContextEntry = std::array<uint64_t, 2>;

// What the hardware implements, from CAP/ECAP (the unit's Config).
struct DmaCaps {
  uint8_t sagaw = 0x2;  // CAP.SAGAW: bit 1 39-bit/3-level, bit 2 48-bit/4-level
  uint8_t sllps = 0x3;  // CAP.SLLPS: bit 0 2 MiB, bit 1 1 GiB
  unsigned haw = 39;    // host address width: address bits at and above it are reserved
  bool pass_through = true;  // ECAP.PT
};

struct DmaFault {
  uint8_t reason = 0;  // fault_reason::k* (1h..Ch)
  bool fpd = false;    // the context entry's FPD (meaningful for qualified reasons)
  std::string why;     // one line with spec names
};

// The translation a context entry sets up for one source ID.
struct DmaContext {
  uint16_t did = 0;
  bool fpd = false;
  bool pass_through = false;  // TT=10b: addresses are not translated
  uint64_t slptptr = 0;
  unsigned levels = 3;        // 3 (AW=1, 39-bit) or 4 (AW=2, 48-bit)
  unsigned agaw = 39;
  bool operator==(const DmaContext&) const = default;
};

// One page of a second-level translation: iova's page maps to [pa_base, pa_base + 2^shift).
struct IoPage {
  uint64_t iova_base = 0;
  uint64_t pa_base = 0;
  unsigned shift = 12;  // 12 (4 KiB), 21 (2 MiB), 30 (1 GiB)
  bool read = false, write = false;  // AND of R/W over every level (§3.6)
  unsigned level = 1;   // the level of the leaf entry
  bool operator==(const IoPage&) const = default;
};

// One entry read during a walk, for the trace and `explain`.
struct WalkStep {
  const char* what;  // "root entry", "context entry", "SL-PML4E", "SL-PDPE", "SL-PDE", "SL-PTE"
  uint64_t address;
  uint64_t lo, hi;   // hi = 0 for 64-bit entries
};

// Root and context entry for `sid` under the latched root table (legacy mode, §3.4.2).
std::expected<DmaContext, DmaFault> lookup_context(const GuestMemory& mem, uint64_t root_table,
                                                   uint16_t sid, const DmaCaps& caps,
                                                   std::vector<WalkStep>* steps = nullptr);

// The second-level walk of `iova` for a read or write (§3.6, §9.8).
std::expected<IoPage, DmaFault> walk_second_level(const GuestMemory& mem, const DmaContext& ctx,
                                                  uint64_t iova, bool write, const DmaCaps& caps,
                                                  std::vector<WalkStep>* steps = nullptr);

// Reserved bits of a second-level entry at `level` (1..4) given its PS bit: the table's
// Rsvd fields, address bits at or above HAW, PS where no large page exists at that level,
// and a large page's address bits below its size (§9.8).
uint64_t sl_reserved_mask(unsigned level, bool ps, const DmaCaps& caps);

// Whether the IOTLB may answer for `page`'s access: a cached leaf says R/W; a request the
// cached page does not permit walks again so the fault is reported with the current tables.
constexpr bool permits(const IoPage& p, bool write) { return write ? p.write : p.read; }

}  // namespace irqremap::vtd
