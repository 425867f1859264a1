#pragma once
// VT-d Posted Interrupt Descriptor, 64 bytes, 64-byte aligned (Intel VT-d spec rev 5.10
// §9.11). Posting (§5.2.3) sets PIR[VV] and, when ON=0 and (URG=1 or SN=0), sets ON and
// sends NV to NDST. PIR is 256 bits; the field engine keeps a field inside one 64-bit
// word, so it is four 64-bit fields.
#include "remap/fields.h"

namespace irqremap::vtd::pid {

using fields::Access;
using fields::Field;

inline constexpr Field PIR0{"PIR[63:0]", 63, 0, Access::RW, "Posted Interrupt Requests 63:0"};
inline constexpr Field PIR1{"PIR[127:64]", 127, 64, Access::RW, "Posted Interrupt Requests 127:64"};
inline constexpr Field PIR2{"PIR[191:128]", 191, 128, Access::RW,
                            "Posted Interrupt Requests 191:128"};
inline constexpr Field PIR3{"PIR[255:192]", 255, 192, Access::RW,
                            "Posted Interrupt Requests 255:192"};
inline constexpr Field ON{"ON", 256, 256, Access::RW, "Outstanding Notification"};
inline constexpr Field SN{"SN", 257, 257, Access::RW, "Suppress Notification (non-urgent)"};
inline constexpr Field NV{"NV", 279, 272, Access::RW, "Notification Vector"};
inline constexpr Field NDST{"NDST", 319, 288, Access::RW,
                            "Notification Destination (xAPIC: APIC ID in 303:296)"};
inline constexpr Field kPidFields[] = {
    PIR0, PIR1, PIR2, PIR3, ON, SN,
    {"Rsvd", 271, 258, Access::Rsvd, "reserved"},
    NV,
    {"Rsvd", 287, 280, Access::Rsvd, "reserved"},
    NDST,
    {"Rsvd", 383, 320, Access::Rsvd, "reserved"},
    {"Rsvd", 447, 384, Access::Rsvd, "reserved"},
    {"Rsvd", 511, 448, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kPidFields, 512, true));

inline constexpr fields::Format kPid{"pid", "Posted Interrupt Descriptor",
                                     "Intel VT-d spec rev 5.10 §9.11", 512, kPidFields};

}  // namespace irqremap::vtd::pid
