#pragma once
// The redistributor's LPI registers and the LPI configuration byte (Arm IHI0069 §12.11,
// §5.1.1, §5.1.2). They live here, next to the ITS formats, so explain/encode show
// them and the redistributor (arch/arm64) reads them through the same Field objects.
#include "remap/fields.h"
#include "remap/its/register_format.h"

namespace irqremap::its::lpi {

using fields::Access;
using fields::Field;

inline constexpr uint32_t kFirstLpi = 8192;  // LPI INTIDs start at 8192 (§2.2.1)

// GICR_PROPBASER (§12.11.30), RD_base + 0x70.
inline constexpr Field PROPBASER_IDbits{"IDbits", 4, 0, Access::RW, "INTID bits - 1"};
inline constexpr Field PROPBASER_InnerCache{"InnerCache", 9, 7, Access::RW,
                                            "Inner cacheability", reg::kCache};
inline constexpr Field PROPBASER_Shareability{"Shareability", 11, 10, Access::RW,
                                              "Shareability", reg::kShare};
inline constexpr Field PROPBASER_Physical_Address{
    "Physical_Address", 51, 12, Access::RW, "LPI configuration table bits 51:12", {}, 0, 12};
inline constexpr Field PROPBASER_OuterCache{"OuterCache", 58, 56, Access::RW,
                                            "Outer cacheability", reg::kCache};
inline constexpr Field kPropbaserFields[] = {
    PROPBASER_IDbits,
    {"Rsvd", 6, 5, Access::Rsvd, "reserved"},
    PROPBASER_InnerCache, PROPBASER_Shareability, PROPBASER_Physical_Address,
    {"Rsvd", 55, 52, Access::Rsvd, "reserved"},
    PROPBASER_OuterCache,
    {"Rsvd", 63, 59, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kPropbaserFields, 64, true));
inline constexpr fields::Format kPropbaser{"gicr-propbaser",
                                           "GICR_PROPBASER (LPI configuration table)",
                                           "Arm IHI0069 §12.11.30", 64, kPropbaserFields};

// GICR_PENDBASER (§12.11.29), RD_base + 0x78.
inline constexpr Field PENDBASER_InnerCache{"InnerCache", 9, 7, Access::RW,
                                            "Inner cacheability", reg::kCache};
inline constexpr Field PENDBASER_Shareability{"Shareability", 11, 10, Access::RW,
                                              "Shareability", reg::kShare};
inline constexpr Field PENDBASER_Physical_Address{
    "Physical_Address", 51, 16, Access::RW, "LPI pending table bits 51:16 (64 KiB aligned)", {},
    0, 16};
inline constexpr Field PENDBASER_OuterCache{"OuterCache", 58, 56, Access::RW,
                                            "Outer cacheability", reg::kCache};
inline constexpr Field PENDBASER_PTZ{"PTZ", 62, 62, Access::WO,
                                     "Pending Table Zero: the table is known to be all zero"};
inline constexpr Field kPendbaserFields[] = {
    {"Rsvd", 6, 0, Access::Rsvd, "reserved"},
    PENDBASER_InnerCache, PENDBASER_Shareability,
    {"Rsvd", 15, 12, Access::Rsvd, "reserved"},
    PENDBASER_Physical_Address,
    {"Rsvd", 55, 52, Access::Rsvd, "reserved"},
    PENDBASER_OuterCache,
    {"Rsvd", 61, 59, Access::Rsvd, "reserved"},
    PENDBASER_PTZ,
    {"Rsvd", 63, 63, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kPendbaserFields, 64, true));
inline constexpr fields::Format kPendbaser{"gicr-pendbaser", "GICR_PENDBASER (LPI pending table)",
                                           "Arm IHI0069 §12.11.29", 64, kPendbaserFields};

// LPI configuration byte, one per LPI at PROPBASER + (INTID - 8192) (§5.1.1).
inline constexpr Field CFG_Enable{"Enable", 0, 0, Access::RW, "LPI enabled"};
inline constexpr Field CFG_RES1{"RES1", 1, 1, Access::RW,
                                "Reserved, should be one (Linux LPI_PROP_GROUP1)"};
inline constexpr Field CFG_Priority{"Priority", 7, 2, Access::RW,
                                    "Priority bits 7:2 (bits 1:0 of the priority read as 0)"};
inline constexpr Field kConfigFields[] = {CFG_Enable, CFG_RES1, CFG_Priority};
static_assert(fields::well_formed(kConfigFields, 8, true));
inline constexpr fields::Format kConfig{"lpi-config", "LPI configuration table entry",
                                        "Arm IHI0069 §5.1.1", 8, kConfigFields};

}  // namespace irqremap::its::lpi
