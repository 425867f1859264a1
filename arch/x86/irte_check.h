#pragma once
// The machine's hazard watch on the remapping path (docs/DESIGN.md "The common device",
// hazards H4 and H5):
// after the VT-d unit delivered a remappable-format MSI, compare what it delivered with
// what the IRTE in guest memory says *now*. A difference means the unit used a cached
// entry that software changed without an IEC invalidation (VT-d §6.5.2.8: software must
// invalidate after modifying a present entry) — the stale-translation hazard. A request
// blocked with fault 22h (IRTE.P=0, VT-d §5.1.4.1) while the entry was being rewritten is
// the lost in-flight interrupt hazard. Pure: works on GuestMemory and IRTA, no Unicorn.
#include <cstdint>
#include <optional>
#include <string>

#include "remap/guest_memory.h"
#include "remap/msi.h"
#include "remap/remapper.h"
#include "remap/vtd/irte_walk.h"

namespace irqremap::x86 {

// The hazard line for `outcome` of `msi` under the unit's latched IRTA state, or nullopt
// when the outcome agrees with memory (or the MSI is not remappable format, or IR is off).
std::optional<std::string> remap_hazard(const GuestMemory& mem, const vtd::IrState& ir,
                                        const MsiWrite& msi, const Translation& outcome);

}  // namespace irqremap::x86
