#pragma once
// VT-d Capability and Extended Capability registers (Intel VT-d spec rev 5.10 §11.4.2,
// §11.4.3). The fields irqremap implements (interrupt remapping, legacy-mode DMA
// remapping) are named individually; features it does not model are grouped into
// "Other[hi:lo]" fields so a value with them set is never flagged as reserved.
#include "remap/fields.h"

namespace irqremap::vtd::cap {

using fields::Access;
using fields::Field;

inline constexpr fields::EnumLabel kNd[] = {
    {0, "16 domains"},   {1, "64 domains"},   {2, "256 domains"}, {3, "1024 domains"},
    {4, "4K domains"},   {5, "16K domains"},  {6, "64K domains"}, {7, "reserved"}};
inline constexpr Field ND{"ND", 2, 0, Access::RO, "Number of Domains supported", kNd};
inline constexpr Field AFL{"AFL", 3, 3, Access::RO, "Advanced Fault Logging (not implemented)"};
inline constexpr Field RWBF{"RWBF", 4, 4, Access::RO, "Required Write-Buffer Flushing"};
inline constexpr Field PLMR{"PLMR", 5, 5, Access::RO, "Protected Low-Memory Region (not implemented)"};
inline constexpr Field PHMR{"PHMR", 6, 6, Access::RO, "Protected High-Memory Region (not implemented)"};
inline constexpr Field CM{"CM", 7, 7, Access::RO,
                          "Caching Mode: 0, so not-present and faulting entries are never cached"};
inline constexpr Field SAGAW{"SAGAW", 12, 8, Access::RO,
                             "Supported Adjusted Guest Address Widths: bit 1 39-bit (3-level), "
                             "bit 2 48-bit (4-level)"};
inline constexpr Field MGAW{"MGAW", 21, 16, Access::RO, "Maximum Guest Address Width minus 1"};
inline constexpr Field ZLR{"ZLR", 22, 22, Access::RO, "Zero Length Read"};
inline constexpr Field FRO{"FRO", 33, 24, Access::RO,
                           "Fault-recording Register Offset, in 16-byte units from the base"};
inline constexpr Field SLLPS{"SLLPS", 37, 34, Access::RO,
                             "Second Level Large Page Support: bit 0 2 MiB, bit 1 1 GiB"};
inline constexpr Field PSI{"PSI", 39, 39, Access::RO, "Page Selective Invalidation"};
inline constexpr Field NFR{"NFR", 47, 40, Access::RO,
                           "Number of Fault-recording Registers minus 1"};
inline constexpr Field MAMV{"MAMV", 53, 48, Access::RO,
                            "Maximum Address Mask Value for page-selective invalidation"};
inline constexpr Field DWD{"DWD", 54, 54, Access::RO, "Write Draining"};
inline constexpr Field DRD{"DRD", 55, 55, Access::RO, "Read Draining"};
inline constexpr Field FL1GP{"FL1GP", 56, 56, Access::RO, "First Level 1-GByte Page (not implemented)"};
inline constexpr Field PI{"PI", 59, 59, Access::RO, "Posted Interrupts supported (IRTE IM=1)"};
inline constexpr Field FL5LP{"FL5LP", 60, 60, Access::RO, "First Level 5-level Paging (not implemented)"};
inline constexpr Field ESIRTPS{"ESIRTPS", 62, 62, Access::RO,
                               "SIRTP also invalidates the interrupt entry cache"};
inline constexpr Field ESRTPS{"ESRTPS", 63, 63, Access::RO,
                              "SRTP also invalidates the context cache and IOTLB"};

inline constexpr Field kCapFields[] = {
    ND, AFL, RWBF, PLMR, PHMR, CM, SAGAW,
    {"Rsvd", 15, 13, Access::Rsvd, "reserved"},
    MGAW, ZLR,
    {"DEP", 23, 23, Access::RO, "deprecated"},
    FRO, SLLPS,
    {"Rsvd", 38, 38, Access::Rsvd, "reserved"},
    PSI, NFR, MAMV, DWD, DRD, FL1GP,
    {"Rsvd", 58, 57, Access::Rsvd, "reserved"},
    PI, FL5LP,
    {"Rsvd", 61, 61, Access::Rsvd, "reserved"},
    ESIRTPS, ESRTPS,
};
static_assert(fields::well_formed(kCapFields, 64, true));

inline constexpr Field ECAP_C{"C", 0, 0, Access::RO, "Coherency: 1 IRTE reads snoop caches"};
inline constexpr Field ECAP_QI{"QI", 1, 1, Access::RO, "Queued Invalidation supported"};
inline constexpr Field ECAP_DT{"DT", 2, 2, Access::RO, "Device-TLB (not implemented)"};
inline constexpr Field ECAP_IR{"IR", 3, 3, Access::RO, "Interrupt Remapping supported"};
inline constexpr Field ECAP_EIM{"EIM", 4, 4, Access::RO, "Extended Interrupt Mode (x2APIC, 32-bit DST)"};
inline constexpr Field ECAP_PT{"PT", 6, 6, Access::RO,
                               "Pass Through: context entries may use TT=10b"};
inline constexpr Field ECAP_SC{"SC", 7, 7, Access::RO, "Snoop Control (not implemented)"};
inline constexpr Field ECAP_IRO{"IRO", 17, 8, Access::RO,
                                "IOTLB Register Offset, in 16-byte units (IVA, then IOTLB_REG)"};
inline constexpr Field ECAP_MHMV{"MHMV", 23, 20, Access::RO,
                                 "Maximum Handle Mask Value for IEC index invalidation"};
inline constexpr Field ECAP_PDS{"PDS", 42, 42, Access::RO, "Page-request Drain supported"};
inline constexpr Field ECAP_SMTS{"SMTS", 43, 43, Access::RO,
                                 "Scalable Mode Translation supported (allows IQA.DW=1)"};

inline constexpr Field kEcapFields[] = {
    ECAP_C, ECAP_QI, ECAP_DT, ECAP_IR, ECAP_EIM,
    {"Other[5:5]", 5, 5, Access::RO, "reserved (deprecated)"},
    ECAP_PT, ECAP_SC,
    ECAP_IRO,
    {"Other[19:18]", 19, 18, Access::RO, "not modelled"},
    ECAP_MHMV,
    {"Other[41:24]", 41, 24, Access::RO, "MTS NEST PRS ERS SRS NWFS EAFS PSS PASID DIT: not modelled"},
    ECAP_PDS, ECAP_SMTS,
    {"Other[63:44]", 63, 44, Access::RO, "VCS SLADS SLTS FLTS SMPWCS RPS ...: not modelled"},
};
static_assert(fields::well_formed(kEcapFields, 64, true));

inline constexpr fields::Format kCap{"cap", "Capability Register (CAP)",
                                     "Intel VT-d spec rev 5.10 §11.4.2", 64, kCapFields};
inline constexpr fields::Format kEcap{"ecap", "Extended Capability Register (ECAP)",
                                      "Intel VT-d spec rev 5.10 §11.4.3", 64, kEcapFields};

}  // namespace irqremap::vtd::cap
