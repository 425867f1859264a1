#pragma once
// VT-d Interrupt Remapping Table Address register (Intel VT-d spec rev 5.10 §11.4.10).
// GCMD.SIRTP latches it; the table holds 2^(S+1) 16-byte IRTEs.
#include "remap/fields.h"

namespace irqremap::vtd::irta {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr EnumLabel kEime[] = {{0, "xAPIC (DST[15:8])"}, {1, "x2APIC (DST[31:0])"}};
inline constexpr Field S{"S", 3, 0, Access::RW, "Size: the table holds 2^(S+1) entries"};
inline constexpr Field EIME{"EIME", 11, 11, Access::RW, "Extended Interrupt Mode Enable", kEime};
inline constexpr Field IRTA{"IRTA", 63, 12, Access::RW,
                            "Interrupt Remapping Table Address (4 KiB aligned)", {}, 0, 12};
inline constexpr Field kIrtaFields[] = {
    S, {"Rsvd", 10, 4, Access::Rsvd, "reserved"}, EIME, IRTA,
};
static_assert(fields::well_formed(kIrtaFields, 64, true));

constexpr uint64_t entries(uint64_t irta) { return uint64_t{2} << fields::get(irta, S); }

inline constexpr fields::Format kIrta{"irta", "Interrupt Remapping Table Address Register (IRTA)",
                                      "Intel VT-d spec rev 5.10 §11.4.10", 64, kIrtaFields};

}  // namespace irqremap::vtd::irta
