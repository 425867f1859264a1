#include "arch/x86/irte_check.h"

#include <fmt/format.h>

#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"

namespace irqremap::x86 {

std::optional<std::string> remap_hazard(const GuestMemory& mem, const vtd::IrState& ir,
                                        const MsiWrite& msi, const Translation& outcome) {
  if (!ir.ire || (msi.address >> 32) != 0 || !vtd::msi::is_remappable(msi.address)) return std::nullopt;
  const auto ix = vtd::msi::remappable_index(msi.address, msi.data);
  if (ix.index >= ir.irt_entries) return std::nullopt;
  auto lo = mem.read64(ir.irt_base + 16ull * ix.index);
  if (!lo) return std::nullopt;
  const std::array<uint64_t, 2> w{*lo, 0};
  const bool present = fields::get(w, vtd::irte::P) != 0;
  if (const auto* d = std::get_if<ApicDelivery>(&outcome)) {
    if (fields::get(w, vtd::irte::IM_REMAPPED) != 0) return std::nullopt;  // posted
    const uint64_t dst = fields::get(w, vtd::irte::DST);
    const uint32_t mem_dest = uint32_t(ir.eime ? dst : (dst >> 8) & 0xFF);
    const uint8_t mem_vec = uint8_t(fields::get(w, vtd::irte::V));
    if (present && mem_dest == d->dest && mem_vec == d->vector) return std::nullopt;
    return fmt::format(
        "stale translation: IRTE {:#x} delivered to APIC {:#x} vector {:#04x}, but the entry in "
        "memory now says {}APIC {:#x} vector {:#04x} - modified without an IEC invalidation "
        "(VT-d §6.5.2.8)",
        ix.index, d->dest, d->vector, present ? "" : "P=0, ", mem_dest, mem_vec);
  }
  if (const auto* b = std::get_if<Blocked>(&outcome); b != nullptr && b->reason == 0x22)
    return fmt::format(
        "in-flight MSI lost: IRTE {:#x} had P=0 when the message arrived (fault 22h) - an entry "
        "being rewritten must stay present (clear P only when nothing can target it)",
        ix.index);
  return std::nullopt;
}

}  // namespace irqremap::x86
