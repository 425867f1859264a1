#pragma once
// x86 MSI address/data in the two formats VT-d accepts (Intel VT-d spec rev 5.10 §5.1.2:
// compatibility format, Table 12; remappable format, Tables 13 and 14). Bit 4 of the
// address (Interrupt Format) tells them apart. Addresses above 4 GiB are not MSIs: the
// remapping unit reports fault 20h for them, so these formats are 32 bits wide.
#include "remap/fields.h"

namespace irqremap::vtd::msi {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr uint64_t kInterruptWindow = 0xFEE;  // address bits 31:20

// Remappable format (§5.1.2.2). Handle = Handle[15] (bit 2) : Handle[14:0] (bits 19:5).
inline constexpr Field ADDR_HANDLE_LO{"Handle[14:0]", 19, 5, Access::RW,
                                      "Interrupt handle, low 15 bits"};
inline constexpr Field ADDR_IF{"IF", 4, 4, Access::Fixed, "Interrupt Format: 1 remappable", {}, 1};
inline constexpr Field ADDR_SHV{"SHV", 3, 3, Access::RW,
                                "SubHandle Valid: index = handle + data[15:0]"};
inline constexpr Field ADDR_HANDLE_HI{"Handle[15]", 2, 2, Access::RW, "Interrupt handle, bit 15"};
inline constexpr Field ADDR_FEE{"FEE", 31, 20, Access::Fixed, "Interrupt address window 0xFEE",
                                {}, kInterruptWindow};
inline constexpr Field kAddrRemappableFields[] = {
    {"Ignored", 1, 0, Access::Ignored, "don't care"},
    ADDR_HANDLE_HI, ADDR_SHV, ADDR_IF, ADDR_HANDLE_LO, ADDR_FEE,
};
static_assert(fields::well_formed(kAddrRemappableFields, 32, true));

inline constexpr Field DATA_SUBHANDLE{"SubHandle", 15, 0, Access::RW,
                                      "Added to the handle when SHV=1"};
inline constexpr Field DATA_RSVD{"Rsvd", 31, 16, Access::Rsvd,
                                 "reserved when SHV=1 (data is ignored when SHV=0)"};
inline constexpr Field kDataRemappableFields[] = {DATA_SUBHANDLE, DATA_RSVD};
static_assert(fields::well_formed(kDataRemappableFields, 32, true));

// Compatibility format (§5.1.2.1; Intel SDM vol. 3 §11.11).
inline constexpr EnumLabel kDm[] = {{0, "physical"}, {1, "logical"}};
inline constexpr EnumLabel kDlm[] = {{0, "Fixed"}, {1, "Lowest Priority"}, {2, "SMI"},
                                     {3, "reserved"}, {4, "NMI"}, {5, "INIT"},
                                     {6, "reserved"}, {7, "ExtINT"}};
inline constexpr EnumLabel kTm[] = {{0, "edge"}, {1, "level"}};
inline constexpr Field CADDR_DM{"DM", 2, 2, Access::RW, "Destination Mode", kDm};
inline constexpr Field CADDR_RH{"RH", 3, 3, Access::RW, "Redirection Hint"};
inline constexpr Field CADDR_IF{"IF", 4, 4, Access::Fixed, "Interrupt Format: 0 compatibility",
                                {}, 0};
inline constexpr Field CADDR_DEST{"DestID", 19, 12, Access::RW, "Destination APIC ID"};
inline constexpr Field kAddrCompatFields[] = {
    {"Ignored", 1, 0, Access::Ignored, "don't care"},
    CADDR_DM, CADDR_RH, CADDR_IF,
    {"Rsvd", 11, 5, Access::Rsvd, "reserved"},
    CADDR_DEST, ADDR_FEE,
};
static_assert(fields::well_formed(kAddrCompatFields, 32, true));

inline constexpr Field CDATA_VECTOR{"Vector", 7, 0, Access::RW, "Interrupt vector"};
inline constexpr Field CDATA_DLM{"DLM", 10, 8, Access::RW, "Delivery Mode", kDlm};
inline constexpr Field CDATA_LEVEL{"Level", 14, 14, Access::RW, "Level for level-triggered: 1 assert"};
inline constexpr Field CDATA_TM{"TM", 15, 15, Access::RW, "Trigger Mode", kTm};
inline constexpr Field kDataCompatFields[] = {
    CDATA_VECTOR, CDATA_DLM,
    {"Rsvd", 13, 11, Access::Rsvd, "reserved"},
    CDATA_LEVEL, CDATA_TM,
    {"Rsvd", 31, 16, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kDataCompatFields, 32, true));

inline constexpr fields::Format kAddrRemappable{
    "msi-addr-remappable", "MSI address, remappable format", "Intel VT-d spec rev 5.10 §5.1.2.2",
    32, kAddrRemappableFields};
inline constexpr fields::Format kDataRemappable{
    "msi-data-remappable", "MSI data, remappable format", "Intel VT-d spec rev 5.10 §5.1.2.2",
    32, kDataRemappableFields};
inline constexpr fields::Format kAddrCompat{
    "msi-addr-compat", "MSI address, compatibility format", "Intel VT-d spec rev 5.10 §5.1.2.1",
    32, kAddrCompatFields};
inline constexpr fields::Format kDataCompat{
    "msi-data-compat", "MSI data, compatibility format", "Intel VT-d spec rev 5.10 §5.1.2.1",
    32, kDataCompatFields};

// The remappable handle and IRTE index a message selects (§5.1.2.2): index = handle, plus
// the subhandle when SHV=1.
struct RemappableIndex {
  uint32_t handle = 0;
  bool shv = false;
  uint16_t subhandle = 0;
  uint32_t index = 0;
};
constexpr bool is_remappable(uint64_t address) { return fields::get(address, ADDR_IF) != 0; }
constexpr RemappableIndex remappable_index(uint64_t address, uint32_t data) {
  RemappableIndex r;
  r.handle = uint32_t(fields::get(address, ADDR_HANDLE_LO) |
                      (fields::get(address, ADDR_HANDLE_HI) << 15));
  r.shv = fields::get(address, ADDR_SHV) != 0;
  r.subhandle = r.shv ? uint16_t(fields::get(data, DATA_SUBHANDLE)) : 0;
  r.index = r.handle + r.subhandle;
  return r;
}
// Builds a remappable-format address for handle (SHV as given).
constexpr uint32_t remappable_address(uint32_t handle, bool shv) {
  uint64_t a = fields::set(0, ADDR_FEE, kInterruptWindow);
  a = fields::set(a, ADDR_IF, 1);
  a = fields::set(a, ADDR_SHV, shv ? 1 : 0);
  a = fields::set(a, ADDR_HANDLE_LO, handle & 0x7FFF);
  a = fields::set(a, ADDR_HANDLE_HI, (handle >> 15) & 1);
  return uint32_t(a);
}

}  // namespace irqremap::vtd::msi
