#pragma once
// VT-d DMA-remapping cache invalidation, Intel VT-d spec rev 5.10: the register-based
// interface (Context Command Register §11.4.8.1, IOTLB Invalidate Register §11.4.8.3 and
// Invalidate Address Register §11.4.8.2 at ECAP.IRO) and the queued descriptors
// (context-cache invalidate §6.5.2.1, IOTLB invalidate §6.5.2.3). Both forms carry the
// same granularities; §6.5 says what each must drop.
#include "remap/fields.h"

namespace irqremap::vtd::dma_inv {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr EnumLabel kCcGranularity[] = {
    {0, "reserved"}, {1, "global"}, {2, "domain-selective"}, {3, "device-selective"}};
inline constexpr EnumLabel kIotlbGranularity[] = {
    {0, "reserved"}, {1, "global"}, {2, "domain-selective"}, {3, "page-selective-within-domain"}};
// FM: which function bits of SID are ignored (§11.4.8.1).
inline constexpr EnumLabel kFm[] = {{0, "no bits masked"},
                                    {1, "mask SID bit 2"},
                                    {2, "mask SID bits 2:1"},
                                    {3, "mask SID bits 2:0"}};

// --- CCMD (§11.4.8.1), 64 bits -----------------------------------------------------------
inline constexpr Field CCMD_DID{"DID", 15, 0, Access::RW, "Domain-ID (domain- and device-selective)"};
inline constexpr Field CCMD_SID{"SID", 31, 16, Access::RW, "Source-ID (device-selective)"};
inline constexpr Field CCMD_FM{"FM", 33, 32, Access::RW, "Function Mask", kFm};
inline constexpr Field CCMD_CAIG{"CAIG", 60, 59, Access::RO,
                                 "Context Actual Invalidation Granularity", kCcGranularity};
inline constexpr Field CCMD_CIRG{"CIRG", 62, 61, Access::RW,
                                 "Context Invalidation Request Granularity", kCcGranularity};
inline constexpr Field CCMD_ICC{"ICC", 63, 63, Access::RW,
                                "Invalidate Context-Cache: 1 starts, reads 0 when done"};
inline constexpr Field kCcmdFields[] = {
    CCMD_DID, CCMD_SID, CCMD_FM,
    {"Rsvd", 58, 34, Access::Rsvd, "reserved"},
    CCMD_CAIG, CCMD_CIRG, CCMD_ICC,
};
static_assert(fields::well_formed(kCcmdFields, 64, true));

// --- IVA (§11.4.8.2), 64 bits ------------------------------------------------------------
inline constexpr Field IVA_AM{"AM", 5, 0, Access::RW,
                              "Address Mask: 2^AM pages from ADDR (at most CAP.MAMV)"};
inline constexpr Field IVA_IH{"IH", 6, 6, Access::RW,
                              "Invalidation Hint: 1 leaves non-leaf entries cached"};
inline constexpr Field IVA_ADDR{"ADDR", 63, 12, Access::RW, "page address", {}, 0, 12};
inline constexpr Field kIvaFields[] = {
    IVA_AM, IVA_IH, {"Rsvd", 11, 7, Access::Rsvd, "reserved"}, IVA_ADDR,
};
static_assert(fields::well_formed(kIvaFields, 64, true));

// --- IOTLB_REG (§11.4.8.3), 64 bits ------------------------------------------------------
inline constexpr Field IOTLB_DID{"DID", 47, 32, Access::RW, "Domain-ID"};
inline constexpr Field IOTLB_DW{"DW", 48, 48, Access::RW, "Drain Writes (CAP.DWD)"};
inline constexpr Field IOTLB_DR{"DR", 49, 49, Access::RW, "Drain Reads (CAP.DRD)"};
inline constexpr Field IOTLB_IAIG{"IAIG", 58, 57, Access::RO,
                                  "IOTLB Actual Invalidation Granularity", kIotlbGranularity};
inline constexpr Field IOTLB_IIRG{"IIRG", 61, 60, Access::RW,
                                  "IOTLB Invalidation Request Granularity", kIotlbGranularity};
inline constexpr Field IOTLB_IVT{"IVT", 63, 63, Access::RW,
                                 "Invalidate IOTLB: 1 starts, reads 0 when done"};
inline constexpr Field kIotlbFields[] = {
    {"Rsvd", 31, 0, Access::Rsvd, "reserved"},
    IOTLB_DID, IOTLB_DW, IOTLB_DR,
    {"Rsvd", 56, 50, Access::Rsvd, "reserved"},
    IOTLB_IAIG,
    {"Rsvd", 59, 59, Access::Rsvd, "reserved"},
    IOTLB_IIRG,
    {"Rsvd", 62, 62, Access::Rsvd, "reserved"},
    IOTLB_IVT,
};
static_assert(fields::well_formed(kIotlbFields, 64, true));

// --- Context-cache invalidate descriptor (§6.5.2.1), 128 bits ----------------------------
inline constexpr uint64_t kTypeCc = 1;
inline constexpr uint64_t kTypeIotlb = 2;
inline constexpr Field CC_TYPE{"Type", 3, 0, Access::Fixed, "1: context-cache invalidate", {}, kTypeCc};
inline constexpr Field CC_G{"G", 5, 4, Access::RW, "Granularity", kCcGranularity};
inline constexpr Field CC_TYPE_HI{"Type[6:4]", 11, 9, Access::Fixed, "Type bits 6:4: 0", {}, 0};
inline constexpr Field CC_DID{"DID", 31, 16, Access::RW, "Domain-ID"};
inline constexpr Field CC_SID{"SID", 47, 32, Access::RW, "Source-ID"};
inline constexpr Field CC_FM{"FM", 49, 48, Access::RW, "Function Mask", kFm};
inline constexpr Field kCcFields[] = {
    CC_TYPE, CC_G,
    {"Rsvd", 8, 6, Access::Rsvd, "reserved"},
    CC_TYPE_HI,
    {"Rsvd", 15, 12, Access::Rsvd, "reserved"},
    CC_DID, CC_SID, CC_FM,
    {"Rsvd", 63, 50, Access::Rsvd, "reserved"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kCcFields, 128, true));

// --- IOTLB invalidate descriptor (§6.5.2.3), 128 bits ------------------------------------
inline constexpr Field IQ_TYPE{"Type", 3, 0, Access::Fixed, "2: IOTLB invalidate", {}, kTypeIotlb};
inline constexpr Field IQ_G{"G", 5, 4, Access::RW, "Granularity", kIotlbGranularity};
inline constexpr Field IQ_DW{"DW", 6, 6, Access::RW, "Drain Writes"};
inline constexpr Field IQ_DR{"DR", 7, 7, Access::RW, "Drain Reads"};
inline constexpr Field IQ_TYPE_HI{"Type[6:4]", 11, 9, Access::Fixed, "Type bits 6:4: 0", {}, 0};
inline constexpr Field IQ_DID{"DID", 31, 16, Access::RW, "Domain-ID"};
inline constexpr Field IQ_AM{"AM", 69, 64, Access::RW, "Address Mask: 2^AM pages (at most CAP.MAMV)"};
inline constexpr Field IQ_IH{"IH", 70, 70, Access::RW, "Invalidation Hint"};
inline constexpr Field IQ_ADDR{"ADDR", 127, 76, Access::RW, "page address", {}, 0, 12};
inline constexpr Field kIotlbDescFields[] = {
    IQ_TYPE, IQ_G, IQ_DW, IQ_DR,
    {"Rsvd", 8, 8, Access::Rsvd, "reserved"},
    IQ_TYPE_HI,
    {"Rsvd", 15, 12, Access::Rsvd, "reserved"},
    IQ_DID,
    {"Rsvd", 63, 32, Access::Rsvd, "reserved"},
    IQ_AM, IQ_IH,
    {"Rsvd", 75, 71, Access::Rsvd, "reserved"},
    IQ_ADDR,
};
static_assert(fields::well_formed(kIotlbDescFields, 128, true));

inline constexpr fields::Format kCcmd{"ccmd", "Context Command Register (CCMD)",
                                      "Intel VT-d spec rev 5.10 §11.4.8.1", 64, kCcmdFields};
inline constexpr fields::Format kIva{"iva", "Invalidate Address Register (IVA)",
                                     "Intel VT-d spec rev 5.10 §11.4.8.2", 64, kIvaFields};
inline constexpr fields::Format kIotlb{"iotlb", "IOTLB Invalidate Register (IOTLB_REG)",
                                       "Intel VT-d spec rev 5.10 §11.4.8.3", 64, kIotlbFields};
inline constexpr fields::Format kCcDesc{"inv-cc", "Context-cache Invalidate Descriptor",
                                        "Intel VT-d spec rev 5.10 §6.5.2.1", 128, kCcFields};
inline constexpr fields::Format kIotlbDesc{"inv-iotlb", "IOTLB Invalidate Descriptor",
                                           "Intel VT-d spec rev 5.10 §6.5.2.3", 128, kIotlbDescFields};

}  // namespace irqremap::vtd::dma_inv
