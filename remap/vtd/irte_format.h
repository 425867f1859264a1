#pragma once
// VT-d Interrupt Remapping Table Entry, 128 bits, in its two formats (Intel VT-d spec
// rev 5.10 §9.9 remapped, §9.10 posted). Bit 15 (IM) tells them apart.
#include "remap/fields.h"

namespace irqremap::vtd::irte {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr EnumLabel kDm[] = {{0, "physical"}, {1, "logical"}};
inline constexpr EnumLabel kTm[] = {{0, "edge"}, {1, "level"}};
inline constexpr EnumLabel kDlm[] = {{0, "Fixed"}, {1, "Lowest Priority"}, {2, "SMI"},
                                     {3, "reserved"}, {4, "NMI"}, {5, "INIT"},
                                     {6, "reserved"}, {7, "ExtINT"}};
// SQ masks applied to the requester ID before comparing with SID (§9.9, Table 26).
inline constexpr EnumLabel kSq[] = {{0, "compare all 16 bits"},
                                    {1, "ignore bit 2 (function[2])"},
                                    {2, "ignore bits 2:1 (function[2:1])"},
                                    {3, "ignore bits 2:0 (function)"}};
inline constexpr EnumLabel kSvt[] = {{0, "no check"},
                                     {1, "SID+SQ verify"},
                                     {2, "bus range"},
                                     {3, "reserved"}};

// Fields shared by both formats.
inline constexpr Field P{"P", 0, 0, Access::RW, "Present; 0 blocks the request (fault 22h)"};
inline constexpr Field FPD{"FPD", 1, 1, Access::RW,
                           "Fault Processing Disable: qualified faults are not recorded"};
inline constexpr Field SID{"SID", 79, 64, Access::RW,
                           "Source ID (SVT=10: StartBus in 15:8, EndBus in 7:0)"};
inline constexpr Field SQ{"SQ", 81, 80, Access::RW, "Source-ID Qualifier", kSq};
inline constexpr Field SVT{"SVT", 83, 82, Access::RW, "Source Validation Type", kSvt};

// Remapped format (IM=0), §9.9.
inline constexpr Field DM{"DM", 2, 2, Access::RW, "Destination Mode", kDm};
inline constexpr Field RH{"RH", 3, 3, Access::RW, "Redirection Hint"};
inline constexpr Field TM{"TM", 4, 4, Access::RW, "Trigger Mode", kTm};
inline constexpr Field DLM{"DLM", 7, 5, Access::RW, "Delivery Mode", kDlm};
inline constexpr Field AVL{"AVL", 11, 8, Access::Ignored, "Available to software"};
inline constexpr Field IM_REMAPPED{"IM", 15, 15, Access::Fixed,
                                   "IRTE Mode: 0 remapped", {}, 0};
inline constexpr Field V{"V", 23, 16, Access::RW, "Vector"};
inline constexpr Field DST{"DST", 63, 32, Access::RW,
                           "Destination ID (xAPIC: APIC ID in 47:40; x2APIC: all 32 bits)"};

inline constexpr Field kRemappedFields[] = {
    P, FPD, DM, RH, TM, DLM, AVL,
    {"Rsvd", 14, 12, Access::Rsvd, "reserved"},
    IM_REMAPPED, V,
    {"Rsvd", 31, 24, Access::Rsvd, "reserved"},
    DST, SID, SQ, SVT,
    {"Rsvd", 127, 84, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kRemappedFields, 128, true));

// Posted format (IM=1), §9.10.
inline constexpr Field URG{"URG", 14, 14, Access::RW, "Urgent: notify even when SN=1"};
inline constexpr Field IM_POSTED{"IM", 15, 15, Access::Fixed, "IRTE Mode: 1 posted", {}, 1};
inline constexpr Field VV{"VV", 23, 16, Access::RW, "Virtual Vector: the PIR bit to set"};
inline constexpr Field PDA_L{"PDA_L", 63, 38, Access::RW,
                             "Posted Descriptor Address bits 31:6", {}, 0, 6};
inline constexpr Field PDA_H{"PDA_H", 127, 96, Access::RW,
                             "Posted Descriptor Address bits 63:32", {}, 0, 32};

inline constexpr Field kPostedFields[] = {
    P, FPD,
    {"Rsvd", 7, 2, Access::Rsvd, "reserved"},
    {"AVL", 11, 8, Access::Ignored, "Available to software"},
    {"Rsvd", 13, 12, Access::Rsvd, "reserved"},
    URG, IM_POSTED, VV,
    {"Rsvd", 37, 24, Access::Rsvd, "reserved"},
    PDA_L, SID, SQ, SVT,
    {"Rsvd", 95, 84, Access::Rsvd, "reserved"},
    PDA_H,
};
static_assert(fields::well_formed(kPostedFields, 128, true));

// DST bits that are reserved when IRTA.EIME=0 (xAPIC): 39:32 and 63:48 (§9.9).
inline constexpr uint64_t kXapicDstReserved = 0xFFFF00FF00000000ull;

void check_remapped(const fields::Decoded& d, const fields::Context& ctx,
                    std::vector<fields::Problem>& out);
const fields::Format* select(std::span<const uint64_t> words);

inline constexpr fields::Format kRemapped{
    "irte-remapped", "Interrupt Remapping Table Entry (remapped format, IM=0)",
    "Intel VT-d spec rev 5.10 §9.9", 128, kRemappedFields, check_remapped};
inline constexpr fields::Format kPosted{
    "irte-posted", "Interrupt Remapping Table Entry (posted format, IM=1)",
    "Intel VT-d spec rev 5.10 §9.10", 128, kPostedFields};
// The family: IM picks the member.
inline constexpr fields::Format kIrte{
    "irte", "Interrupt Remapping Table Entry", "Intel VT-d spec rev 5.10 §9.9-9.10", 128, {},
    nullptr, select};

}  // namespace irqremap::vtd::irte
