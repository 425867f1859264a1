#pragma once
// The ITS's in-memory tables. The architecture fixes only the level-1 entry of a
// two-level table (Arm IHI0069 §5.2.1); the layouts of device table entries (DTE),
// interrupt translation entries (ITE) and collection table entries (CTE) are
// IMPLEMENTATION DEFINED. irqremap uses QEMU's 8/12/8-byte layouts
// (hw/intc/gicv3_internal.h) and advertises them through GITS_TYPER.ITT_entry_size and GITS_BASER<n>.Entry_Size.
#include "remap/fields.h"

namespace irqremap::its::table {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr unsigned kDteBytes = 8, kIteBytes = 12, kCteBytes = 8, kL1Bytes = 8;

// DTE (8 bytes): Valid, Size (EventID bits - 1), ITT address bits 51:8.
inline constexpr Field DTE_Valid{"Valid", 0, 0, Access::RW, "Device mapped"};
inline constexpr Field DTE_Size{"Size", 5, 1, Access::RW, "EventID bits - 1"};
inline constexpr Field DTE_ITT_addr{"ITT_addr", 49, 6, Access::RW,
                                    "ITT base address bits 51:8", {}, 0, 8};
inline constexpr Field kDteFields[] = {
    DTE_Valid, DTE_Size, DTE_ITT_addr, {"Rsvd", 63, 50, Access::Rsvd, "reserved"}};
static_assert(fields::well_formed(kDteFields, 64, true));
inline constexpr fields::Format kDte{"its-dte", "ITS device table entry (irqremap layout)",
                                     "IMPLEMENTATION DEFINED (QEMU layout), IHI0069 §5.2", 64,
                                     kDteFields};

// ITE (12 bytes): physical LPIs only; vPEID/doorbell stay zero (no GICv4).
inline constexpr EnumLabel kIntType[] = {{0, "virtual (GICv4, not supported)"}, {1, "physical"}};
inline constexpr Field ITE_Valid{"Valid", 0, 0, Access::RW, "Event mapped"};
inline constexpr Field ITE_IntType{"IntType", 1, 1, Access::RW, "Interrupt type", kIntType};
inline constexpr Field ITE_pINTID{"pINTID", 25, 2, Access::RW, "Physical LPI INTID"};
inline constexpr Field ITE_ICID{"ICID", 47, 32, Access::RW, "Interrupt collection ID"};
inline constexpr Field kIteFields[] = {
    ITE_Valid, ITE_IntType, ITE_pINTID,
    {"Rsvd", 31, 26, Access::Rsvd, "reserved"},
    ITE_ICID,
    {"Rsvd", 63, 48, Access::Rsvd, "reserved (vPEID)"},
    {"Rsvd", 95, 64, Access::Rsvd, "reserved (doorbell)"},
};
static_assert(fields::well_formed(kIteFields, 96, true));
inline constexpr fields::Format kIte{"its-ite", "ITS interrupt translation entry (irqremap layout)",
                                     "IMPLEMENTATION DEFINED (QEMU layout), IHI0069 §5.2", 96,
                                     kIteFields};

// CTE (8 bytes): the redistributor as a processor number. With GITS_TYPER.PTA=1 the
// MAPC RDbase address is resolved to that number when the command runs.
inline constexpr Field CTE_Valid{"Valid", 0, 0, Access::RW, "Collection mapped"};
inline constexpr Field CTE_RDbase{"RDbase", 16, 1, Access::RW,
                                  "Target redistributor (processor number)"};
inline constexpr Field kCteFields[] = {
    CTE_Valid, CTE_RDbase, {"Rsvd", 63, 17, Access::Rsvd, "reserved"}};
static_assert(fields::well_formed(kCteFields, 64, true));
inline constexpr fields::Format kCte{"its-cte", "ITS collection table entry (irqremap layout)",
                                     "IMPLEMENTATION DEFINED (QEMU layout), IHI0069 §5.2", 64,
                                     kCteFields};

// Level-1 entry of a two-level (Indirect) device or collection table (§5.2.1): the
// level-2 page address and Valid. The page is GITS_BASER.Page_Size aligned.
inline constexpr Field L1_Physical_Address{"Physical_Address", 51, 12, Access::RW,
                                           "Level-2 page address bits 51:12", {}, 0, 12};
inline constexpr Field L1_Valid{"Valid", 63, 63, Access::RW, "Level-2 page allocated"};
inline constexpr Field kL1Fields[] = {
    {"Rsvd", 11, 0, Access::Rsvd, "reserved"},
    L1_Physical_Address,
    {"Rsvd", 62, 52, Access::Rsvd, "reserved"},
    L1_Valid,
};
static_assert(fields::well_formed(kL1Fields, 64, true));
inline constexpr fields::Format kL1{"its-l1-entry", "ITS two-level table level-1 entry",
                                    "Arm IHI0069 §5.2.1", 64, kL1Fields};

}  // namespace irqremap::its::table
