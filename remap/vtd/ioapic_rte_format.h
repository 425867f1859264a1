#pragma once
// The I/O APIC redirection table entry, 64 bits, in its two formats: compatibility
// (Intel 82093AA I/O APIC datasheet §3.2.4) and remappable (Intel VT-d spec rev 5.10
// §5.1.5.1). Bit 48 tells them apart. The remappable layout is chosen so that the I/O
// APIC, which knows nothing about VT-d, turns it into a remappable-format MSI by copying
// bits: RTE 63:48 -> address 19:4 and RTE 11 -> address 2 (ioapic_msi() below), exactly as
// it builds a compatibility MSI from DEST and DESTMOD.
#include <cstdint>

#include "remap/fields.h"
#include "remap/msi.h"

namespace irqremap::vtd::ioapic_rte {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr EnumLabel kDelmod[] = {{0, "Fixed"}, {1, "Lowest Priority"}, {2, "SMI"},
                                        {3, "reserved"}, {4, "NMI"}, {5, "INIT"},
                                        {6, "reserved"}, {7, "ExtINT"}};
inline constexpr EnumLabel kDestmod[] = {{0, "physical"}, {1, "logical"}};
inline constexpr EnumLabel kPolarity[] = {{0, "high active"}, {1, "low active"}};
inline constexpr EnumLabel kTrigger[] = {{0, "edge"}, {1, "level"}};

// Shared by both formats.
inline constexpr Field VECTOR{"INTVEC", 7, 0, Access::RW,
                              "Interrupt Vector (remappable: used only to match EOIs)"};
inline constexpr Field DELIVS{"DELIVS", 12, 12, Access::RO, "Delivery Status"};
inline constexpr Field INTPOL{"INTPOL", 13, 13, Access::RW, "Interrupt Input Pin Polarity", kPolarity};
inline constexpr Field RIRR{"Remote IRR", 14, 14, Access::RO,
                            "level: set when delivered, cleared by the EOI for the vector"};
inline constexpr Field TRIGGER{"TRIGGER", 15, 15, Access::RW, "Trigger Mode", kTrigger};
inline constexpr Field MASK{"MASK", 16, 16, Access::RW, "Interrupt Mask"};

// Compatibility format (82093AA §3.2.4).
inline constexpr Field DELMOD{"DELMOD", 10, 8, Access::RW, "Delivery Mode", kDelmod};
inline constexpr Field DESTMOD{"DESTMOD", 11, 11, Access::RW, "Destination Mode", kDestmod};
inline constexpr Field IF_COMPAT{"IF", 48, 48, Access::Fixed, "Interrupt Format: 0 compatibility", {}, 0};
inline constexpr Field DEST{"DEST", 63, 56, Access::RW,
                            "Destination: APIC ID (physical) or logical destination set"};
inline constexpr Field kCompatFields[] = {
    VECTOR, DELMOD, DESTMOD, DELIVS, INTPOL, RIRR, TRIGGER, MASK,
    {"Rsvd", 47, 17, Access::Rsvd, "reserved"},
    IF_COMPAT,
    {"Rsvd", 55, 49, Access::Rsvd, "reserved"},
    DEST,
};
static_assert(fields::well_formed(kCompatFields, 64, true));

// Remappable format (VT-d §5.1.5.1).
inline constexpr Field ZERO{"000", 10, 8, Access::Fixed, "must be 000b", {}, 0};
inline constexpr Field INDEX_15{"Interrupt_Index[15]", 11, 11, Access::RW, "handle bit 15"};
inline constexpr Field IF_REMAP{"IF", 48, 48, Access::Fixed, "Interrupt Format: 1 remappable", {}, 1};
inline constexpr Field INDEX_LO{"Interrupt_Index[14:0]", 63, 49, Access::RW, "handle bits 14:0"};
inline constexpr Field kRemappableFields[] = {
    VECTOR, ZERO, INDEX_15, DELIVS, INTPOL, RIRR, TRIGGER, MASK,
    {"Rsvd", 47, 17, Access::Rsvd, "reserved"},
    IF_REMAP, INDEX_LO,
};
static_assert(fields::well_formed(kRemappableFields, 64, true));

const fields::Format* select(std::span<const uint64_t> words);

inline constexpr fields::Format kCompat{
    "ioapic-rte-compat", "I/O APIC Redirection Table Entry (compatibility format, IF=0)",
    "Intel 82093AA I/O APIC datasheet §3.2.4", 64, kCompatFields};
inline constexpr fields::Format kRemappable{
    "ioapic-rte-remappable", "I/O APIC Redirection Table Entry (remappable format, IF=1)",
    "Intel VT-d spec rev 5.10 §5.1.5.1", 64, kRemappableFields};
inline constexpr fields::Format kRte{
    "ioapic-rte", "I/O APIC Redirection Table Entry", "82093AA §3.2.4; VT-d spec rev 5.10 §5.1.5.1",
    64, {}, nullptr, select};

constexpr uint64_t handle(uint64_t rte) {
  return fields::get(rte, INDEX_LO) | (fields::get(rte, INDEX_15) << 15);
}

// The message the I/O APIC sends for a redirection entry, built from its raw bits so the
// remappable format survives (VT-d §5.1.5.1; QEMU ioapic_entry_parse does the same copy):
// address = 0xFEE0_0000 | RTE[63:48] << 4 | RTE[11] << 2; data = vector | DELMOD << 8 |
// TRIGGER << 15. In remappable format that is IF=1, the handle, SHV=0.
constexpr MsiWrite ioapic_msi(uint64_t rte, uint32_t source) {
  const uint64_t address = 0xFEE0'0000ull | (bits::extract(rte, 63, 48) << 4) |
                           (bits::extract(rte, 11, 11) << 2);
  const uint32_t data = uint32_t(bits::extract(rte, 10, 0) | (bits::extract(rte, 15, 15) << 15));
  return MsiWrite{address, data, source};
}

}  // namespace irqremap::vtd::ioapic_rte
