#pragma once
// VT-d Global Command and Global Status registers (Intel VT-d spec rev 5.10 §11.4.4,
// §11.4.5). Software changes one GCMD bit per write and polls the matching GSTS bit.
#include "remap/fields.h"

namespace irqremap::vtd::gcmd {

using fields::Access;
using fields::Field;

inline constexpr Field TE{"TE", 31, 31, Access::WO, "Translation Enable: DMA remapping on"};
inline constexpr Field SRTP{"SRTP", 30, 30, Access::WO, "Set Root Table Pointer: latch RTADDR (one-shot)"};
inline constexpr Field WBF{"WBF", 27, 27, Access::WO, "Write Buffer Flush (nothing is buffered: CAP.RWBF=0)"};
inline constexpr Field QIE{"QIE", 26, 26, Access::WO, "Queued Invalidation Enable"};
inline constexpr Field IRE{"IRE", 25, 25, Access::WO, "Interrupt Remapping Enable"};
inline constexpr Field SIRTP{"SIRTP", 24, 24, Access::WO,
                             "Set Interrupt Remap Table Pointer: latch IRTA (one-shot)"};
inline constexpr Field CFI{"CFI", 23, 23, Access::WO,
                           "Compatibility Format Interrupt: 1 passes compatibility MSIs"};
inline constexpr Field kGcmdFields[] = {
    {"Rsvd", 22, 0, Access::Rsvd, "reserved"},
    CFI, SIRTP, IRE, QIE, WBF,
    {"Other[29:28]", 29, 28, Access::WO, "SFL EAFL (deprecated; not modelled)"},
    SRTP, TE,
};
static_assert(fields::well_formed(kGcmdFields, 32, true));

inline constexpr Field TES{"TES", 31, 31, Access::RO, "Translation Enable Status"};
inline constexpr Field RTPS{"RTPS", 30, 30, Access::RO, "Root Table Pointer Status"};
inline constexpr Field WBFS{"WBFS", 27, 27, Access::RO, "Write Buffer Flush Status"};
inline constexpr Field QIES{"QIES", 26, 26, Access::RO, "Queued Invalidation Enable Status"};
inline constexpr Field IRES{"IRES", 25, 25, Access::RO, "Interrupt Remapping Enable Status"};
inline constexpr Field IRTPS{"IRTPS", 24, 24, Access::RO,
                             "Interrupt Remapping Table Pointer Status (IRTA latched)"};
inline constexpr Field CFIS{"CFIS", 23, 23, Access::RO, "Compatibility Format Interrupt Status"};
inline constexpr Field kGstsFields[] = {
    {"Rsvd", 22, 0, Access::Rsvd, "reserved"},
    CFIS, IRTPS, IRES, QIES, WBFS,
    {"Other[29:28]", 29, 28, Access::RO, "FLS AFLS (deprecated; not modelled)"},
    RTPS, TES,
};
static_assert(fields::well_formed(kGstsFields, 32, true));

// GSTS bits that are one-shot status and must be masked before writing them back into
// GCMD (§11.4.4.1: "AND with 0x96FFFFFF").
inline constexpr uint32_t kOneShotMask = 0x96FFFFFFu;

inline constexpr fields::Format kGcmd{"gcmd", "Global Command Register (GCMD)",
                                      "Intel VT-d spec rev 5.10 §11.4.4", 32, kGcmdFields};
inline constexpr fields::Format kGsts{"gsts", "Global Status Register (GSTS)",
                                      "Intel VT-d spec rev 5.10 §11.4.5", 32, kGstsFields};

}  // namespace irqremap::vtd::gcmd
