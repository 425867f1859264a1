#pragma once
// VT-d Capability and Extended Capability registers (Intel VT-d spec rev 5.10 §11.4.2,
// §11.4.3). irqremap models interrupt remapping only: the IR-related fields are named
// individually; the DMA-remapping fields the spec defines are grouped into "Other[hi:lo]"
// fields so a value with them set is never flagged as reserved.
#include "remap/fields.h"

namespace irqremap::vtd::cap {

using fields::Access;
using fields::Field;

inline constexpr Field CM{"CM", 7, 7, Access::RO, "Caching Mode (not set by irqremap)"};
inline constexpr Field FRO{"FRO", 33, 24, Access::RO,
                           "Fault-recording Register Offset, in 16-byte units from the base"};
inline constexpr Field NFR{"NFR", 47, 40, Access::RO,
                           "Number of Fault-recording Registers minus 1"};
inline constexpr Field PI{"PI", 59, 59, Access::RO, "Posted Interrupts supported (IRTE IM=1)"};
inline constexpr Field ESIRTPS{"ESIRTPS", 62, 62, Access::RO,
                               "SIRTP also invalidates the interrupt entry cache"};
inline constexpr Field ESRTPS{"ESRTPS", 63, 63, Access::RO,
                              "SRTP invalidates DMA caches (not modelled by irqremap)"};

inline constexpr Field kCapFields[] = {
    {"Other[6:0]", 6, 0, Access::RO, "ND AFL RWBF PLMR PHMR: DMA remapping, not modelled"},
    CM,
    {"Other[23:8]", 23, 8, Access::RO, "SAGAW MGAW ZLR: DMA remapping, not modelled"},
    FRO,
    {"Other[39:34]", 39, 34, Access::RO, "SLLPS PSI: DMA remapping, not modelled"},
    NFR,
    {"Other[58:48]", 58, 48, Access::RO, "MAMV DWD DRD FL1GP: DMA remapping, not modelled"},
    PI,
    {"Other[61:60]", 61, 60, Access::RO, "FL5LP: DMA remapping, not modelled"},
    ESIRTPS, ESRTPS,
};
static_assert(fields::well_formed(kCapFields, 64, true));

inline constexpr Field ECAP_C{"C", 0, 0, Access::RO, "Coherency: 1 IRTE reads snoop caches"};
inline constexpr Field ECAP_QI{"QI", 1, 1, Access::RO, "Queued Invalidation supported"};
inline constexpr Field ECAP_DT{"DT", 2, 2, Access::RO, "Device-TLB (not modelled)"};
inline constexpr Field ECAP_IR{"IR", 3, 3, Access::RO, "Interrupt Remapping supported"};
inline constexpr Field ECAP_EIM{"EIM", 4, 4, Access::RO, "Extended Interrupt Mode (x2APIC, 32-bit DST)"};
inline constexpr Field ECAP_IRO{"IRO", 17, 8, Access::RO,
                                "IOTLB Register Offset (DMA remapping, not modelled)"};
inline constexpr Field ECAP_MHMV{"MHMV", 23, 20, Access::RO,
                                 "Maximum Handle Mask Value for IEC index invalidation"};
inline constexpr Field ECAP_PDS{"PDS", 42, 42, Access::RO, "Page-request Drain supported"};
inline constexpr Field ECAP_SMTS{"SMTS", 43, 43, Access::RO,
                                 "Scalable Mode Translation supported (allows IQA.DW=1)"};

inline constexpr Field kEcapFields[] = {
    ECAP_C, ECAP_QI, ECAP_DT, ECAP_IR, ECAP_EIM,
    {"Other[7:5]", 7, 5, Access::RO, "PT SC: DMA remapping, not modelled"},
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
