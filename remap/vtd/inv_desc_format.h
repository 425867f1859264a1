#pragma once
// VT-d queued-invalidation descriptors used by interrupt remapping (Intel VT-d spec
// rev 5.10 §6.5.2.8 IEC invalidate, §6.5.2.9 invalidation wait). The tables give the
// 128-bit form; with IQA.DW=1 each descriptor is 256 bits and bits 255:128 must be zero.
// Type is split: bits 3:0 hold Type[3:0], bits 11:9 Type[6:4].
#include "remap/fields.h"

namespace irqremap::vtd::inv_desc {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr Field TYPE_LO{"Type", 3, 0, Access::RW, "Descriptor type, bits 3:0"};
inline constexpr Field TYPE_HI{"Type[6:4]", 11, 9, Access::RW, "Descriptor type, bits 6:4"};
inline constexpr uint64_t kTypeIec = 4;
inline constexpr uint64_t kTypeWait = 5;

inline constexpr EnumLabel kG[] = {{0, "global"}, {1, "index-selective"}};
inline constexpr Field IEC_TYPE{"Type", 3, 0, Access::Fixed, "4: IEC invalidate", {}, kTypeIec};
inline constexpr Field IEC_G{"G", 4, 4, Access::RW, "Granularity", kG};
inline constexpr Field IEC_TYPE_HI{"Type[6:4]", 11, 9, Access::Fixed, "Type bits 6:4: 0 for IEC invalidate", {}, 0};
inline constexpr Field IEC_IM{"IM", 31, 27, Access::RW,
                              "Index Mask: 2^IM entries from IIDX (at most ECAP.MHMV)"};
inline constexpr Field IEC_IIDX{"IIDX", 47, 32, Access::RW, "Interrupt Index"};
inline constexpr Field kIecFields[] = {
    IEC_TYPE, IEC_G,
    {"Rsvd", 8, 5, Access::Rsvd, "reserved"},
    IEC_TYPE_HI,
    {"Rsvd", 26, 12, Access::Rsvd, "reserved"},
    IEC_IM, IEC_IIDX,
    {"Rsvd", 63, 48, Access::Rsvd, "reserved"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kIecFields, 128, true));

inline constexpr Field WAIT_TYPE{"Type", 3, 0, Access::Fixed, "5: invalidation wait", {}, kTypeWait};
inline constexpr Field WAIT_IF{"IF", 4, 4, Access::RW,
                               "Interrupt Flag: set ICS.IWC and raise the completion event"};
inline constexpr Field WAIT_SW{"SW", 5, 5, Access::RW,
                               "Status Write: write Status Data to Status Address"};
inline constexpr Field WAIT_FN{"FN", 6, 6, Access::RW,
                               "Fence: later descriptors wait for this one"};
inline constexpr Field WAIT_PD{"PD", 7, 7, Access::RW,
                               "Page-request Drain (reserved unless ECAP.PDS)"};
inline constexpr Field WAIT_TYPE_HI{"Type[6:4]", 11, 9, Access::Fixed, "Type bits 6:4: 0 for invalidation wait", {}, 0};
inline constexpr Field WAIT_SDATA{"Status Data", 63, 32, Access::RW, "written when SW=1"};
inline constexpr Field WAIT_SADDR{"Status Address", 127, 66, Access::RW,
                                  "dword-aligned address of the status write", {}, 0, 2};
inline constexpr Field kWaitFields[] = {
    WAIT_TYPE, WAIT_IF, WAIT_SW, WAIT_FN, WAIT_PD,
    {"Rsvd", 8, 8, Access::Rsvd, "reserved"},
    WAIT_TYPE_HI,
    {"Rsvd", 31, 12, Access::Rsvd, "reserved"},
    WAIT_SDATA,
    {"Rsvd", 65, 64, Access::Rsvd, "reserved"},
    WAIT_SADDR,
};
static_assert(fields::well_formed(kWaitFields, 128, true));

constexpr uint64_t type_of(uint64_t qw0) {
  return fields::get(qw0, TYPE_LO) | (fields::get(qw0, TYPE_HI) << 4);
}

inline constexpr std::string_view kWideNote =
    "with IQA.DW=1 the descriptor is 256 bits and bits 255:128 must be zero (§6.5.2)";
inline constexpr fields::Format kIec{"inv-iec", "Interrupt Entry Cache Invalidate Descriptor",
                                     "Intel VT-d spec rev 5.10 §6.5.2.8", 128, kIecFields,
                                     nullptr, nullptr, kWideNote};
inline constexpr fields::Format kWait{"inv-wait", "Invalidation Wait Descriptor",
                                      "Intel VT-d spec rev 5.10 §6.5.2.9", 128, kWaitFields,
                                      nullptr, nullptr, kWideNote};

}  // namespace irqremap::vtd::inv_desc
