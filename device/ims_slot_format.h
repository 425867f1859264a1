#pragma once
// One 16-byte message slot of the device's interrupt message store, laid out as Intel's
// IDXD IMS entry (Intel DSA architecture specification, Interrupt Message Storage; Linux
// drivers/dma/idxd/registers.h): {address_lo, address_hi, data, ctrl}, with
// ctrl bit 0 = mask, bit 3 = PASID enable, bits 31:12 = PASID. Gleixner's reordered slot
// {address_lo, data, address_hi, ctrl} puts what matters in the first 8 bytes, so one
// 8-byte store commits it.
#include "remap/fields.h"

namespace irqremap::device::slot {

using fields::Access;
using fields::Field;

// IDXD order.
inline constexpr Field ADDR_LO{"address_lo", 31, 0, Access::RW, "MSI address bits 31:0"};
inline constexpr Field ADDR_HI{"address_hi", 63, 32, Access::RW, "MSI address bits 63:32"};
inline constexpr Field DATA{"data", 95, 64, Access::RW, "MSI data"};
inline constexpr Field MASK{"mask", 96, 96, Access::RW, "1: the slot is masked"};
inline constexpr Field PASID_EN{"pasid_en", 99, 99, Access::RW, "PASID enable"};
inline constexpr Field PASID{"PASID", 127, 108, Access::RW, "Process address space ID"};
inline constexpr Field kIdxdFields[] = {
    ADDR_LO, ADDR_HI, DATA, MASK,
    {"Rsvd", 98, 97, Access::Rsvd, "reserved"},
    PASID_EN,
    {"Rsvd", 107, 100, Access::Rsvd, "reserved"},
    PASID,
};
static_assert(fields::well_formed(kIdxdFields, 128, true));

// Reordered order: data moves next to address_lo.
inline constexpr Field R_DATA{"data", 63, 32, Access::RW, "MSI data"};
inline constexpr Field R_ADDR_HI{"address_hi", 95, 64, Access::RW, "MSI address bits 63:32"};
inline constexpr Field kReorderedFields[] = {
    ADDR_LO, R_DATA, R_ADDR_HI, MASK,
    {"Rsvd", 98, 97, Access::Rsvd, "reserved"},
    PASID_EN,
    {"Rsvd", 107, 100, Access::Rsvd, "reserved"},
    PASID,
};
static_assert(fields::well_formed(kReorderedFields, 128, true));

inline constexpr fields::Format kIdxd{"ims-slot", "IMS message slot (IDXD layout)",
                                      "Intel DSA spec, IMS entry", 128,
                                      kIdxdFields};
inline constexpr fields::Format kReordered{
    "ims-slot-reordered", "IMS message slot (reordered: address_lo, data, address_hi, ctrl)",
    "Gleixner, 2020 (IMS draft)", 128, kReorderedFields};

}  // namespace irqremap::device::slot
