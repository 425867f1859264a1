#pragma once
// VT-d DMA-remapping structures in legacy mode (RTADDR.TTM = 00), Intel VT-d spec rev 5.10:
// the Root Table Address register (§11.4.5), the root entry (§9.1), the context entry
// (§9.3) and the second-level paging entry (§9.8). A request's bus number indexes the
// 4 KiB root table (256 x 16 bytes); its device/function number indexes the context table
// the root entry points at (256 x 16 bytes); the context entry names the domain and the
// second-level page table that translates the request's address (chapter 3).
#include "remap/fields.h"

namespace irqremap::vtd::dma {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

// --- RTADDR (§11.4.5) --------------------------------------------------------------------
inline constexpr EnumLabel kTtm[] = {{0, "legacy mode"},
                                     {1, "scalable mode (not implemented: ECAP.SMTS=0)"},
                                     {2, "reserved"},
                                     {3, "abort DMA mode (not implemented: ECAP.ADMS=0)"}};
inline constexpr Field RTADDR_TTM{"TTM", 11, 10, Access::RW, "Translation Table Mode", kTtm};
inline constexpr Field RTADDR_RTA{"RTA", 63, 12, Access::RW,
                                  "Root Table Address (4 KiB aligned)", {}, 0, 12};
inline constexpr Field kRtaddrFields[] = {
    {"Rsvd", 9, 0, Access::Rsvd, "reserved"}, RTADDR_TTM, RTADDR_RTA,
};
static_assert(fields::well_formed(kRtaddrFields, 64, true));

// --- Root entry (§9.1), 128 bits ---------------------------------------------------------
inline constexpr Field RE_P{"P", 0, 0, Access::RW, "Present: 0 blocks every request of the bus (fault 1h)"};
inline constexpr Field RE_CTP{"CTP", 63, 12, Access::RW,
                              "Context-table Pointer (4 KiB aligned)", {}, 0, 12};
inline constexpr Field kRootFields[] = {
    RE_P,
    {"Rsvd", 11, 1, Access::Rsvd, "reserved"},
    RE_CTP,
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kRootFields, 128, true));

// --- Context entry (§9.3), 128 bits ------------------------------------------------------
inline constexpr EnumLabel kTt[] = {
    {0, "untranslated requests through the second-level table"},
    {1, "untranslated and translated requests (device-TLB; not implemented: ECAP.DT=0)"},
    {2, "pass-through (ECAP.PT)"},
    {3, "reserved"}};
inline constexpr EnumLabel kAw[] = {{0, "reserved"},
                                    {1, "39-bit AGAW, 3-level table"},
                                    {2, "48-bit AGAW, 4-level table"},
                                    {3, "57-bit AGAW, 5-level table (not implemented)"},
                                    {4, "reserved"}, {5, "reserved"}, {6, "reserved"},
                                    {7, "reserved"}};
inline constexpr Field CE_P{"P", 0, 0, Access::RW, "Present: 0 blocks the device's requests (fault 2h)"};
inline constexpr Field CE_FPD{"FPD", 1, 1, Access::RW,
                              "Fault Processing Disable: qualified faults are not recorded "
                              "(evaluated even when P=0)"};
inline constexpr Field CE_TT{"TT", 3, 2, Access::RW, "Translation Type", kTt};
inline constexpr Field CE_SLPTPTR{"SLPTPTR", 63, 12, Access::RW,
                                  "Second Level Page Translation Pointer (4 KiB aligned)", {}, 0, 12};
inline constexpr Field CE_AW{"AW", 66, 64, Access::RW,
                             "Address Width: must be a width CAP.SAGAW supports", kAw};
inline constexpr Field CE_AVL{"AVL", 70, 67, Access::Ignored, "Available to software"};
inline constexpr Field CE_DID{"DID", 87, 72, Access::RW,
                              "Domain Identifier: tags the IOTLB entries of the domain"};
inline constexpr Field kContextFields[] = {
    CE_P, CE_FPD, CE_TT,
    {"Rsvd", 11, 4, Access::Rsvd, "reserved"},
    CE_SLPTPTR, CE_AW, CE_AVL,
    {"Rsvd", 71, 71, Access::Rsvd, "reserved"},
    CE_DID,
    {"Rsvd", 127, 88, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kContextFields, 128, true));

// AW value -> paging levels and AGAW bits (§9.3 AW; §3.6 "The number of levels ...").
constexpr unsigned aw_levels(uint64_t aw) { return unsigned(aw) + 2; }
constexpr unsigned aw_bits(uint64_t aw) { return 30 + 9 * unsigned(aw); }

// --- Second-level paging entry (§9.8), 64 bits, one layout for every level --------------
// Which bits are reserved depends on the level and on PS; sl_reserved_mask() in
// dma_walk.h derives that from this table plus the host address width.
inline constexpr Field SL_R{"R", 0, 0, Access::RW, "Read permission"};
inline constexpr Field SL_W{"W", 1, 1, Access::RW, "Write permission"};
inline constexpr Field SL_X{"X", 2, 2, Access::Ignored,
                            "Execute (ignored: ECAP.SLEE=0, requests never ask for execute)"};
inline constexpr Field SL_EMT{"EMT", 5, 3, Access::Ignored,
                              "Extended Memory Type (ignored in legacy mode)"};
inline constexpr Field SL_IPAT{"IPAT", 6, 6, Access::Ignored, "Ignore PAT (ignored in legacy mode)"};
inline constexpr Field SL_PS{"PS", 7, 7, Access::RW,
                             "Page Size: 1 at level 2 maps 2 MiB, at level 3 1 GiB (CAP.SLLPS); "
                             "ignored at level 1"};
inline constexpr Field SL_SNP{"SNP", 11, 11, Access::Rsvd, "Snoop (reserved: ECAP.SC=0)"};
inline constexpr Field SL_ADDR{"ADDR", 51, 12, Access::RW,
                               "Address of the next-level table or of the page frame "
                               "(bits above the host address width are reserved)", {}, 0, 12};
inline constexpr Field SL_TM{"TM", 62, 62, Access::Rsvd, "Transient Mapping (reserved: ECAP.DT=0)"};
inline constexpr Field kSlPteFields[] = {
    SL_R, SL_W, SL_X, SL_EMT, SL_IPAT, SL_PS,
    {"Ignored[10:8]", 10, 8, Access::Ignored, "ignored"},
    SL_SNP, SL_ADDR,
    {"Ignored[61:52]", 61, 52, Access::Ignored, "ignored"},
    SL_TM,
    {"Ignored[63]", 63, 63, Access::Ignored, "ignored"},
};
static_assert(fields::well_formed(kSlPteFields, 64, true));

inline constexpr fields::Format kRtaddr{"rtaddr", "Root Table Address Register (RTADDR)",
                                        "Intel VT-d spec rev 5.10 §11.4.5", 64, kRtaddrFields};
inline constexpr fields::Format kRootEntry{"root-entry", "Root Entry (legacy mode)",
                                           "Intel VT-d spec rev 5.10 §9.1", 128, kRootFields};
inline constexpr fields::Format kContextEntry{
    "context-entry", "Context Entry (legacy mode)", "Intel VT-d spec rev 5.10 §9.3", 128,
    kContextFields};
inline constexpr fields::Format kSlPte{
    "sl-pte", "Second-level Paging Entry (SL-PML4E/PDPE/PDE/PTE)", "Intel VT-d spec rev 5.10 §9.8",
    64, kSlPteFields, nullptr, nullptr,
    "one layout for every level; PS=1 is a leaf at level 2 (2 MiB) or 3 (1 GiB) only where "
    "CAP.SLLPS allows it, and a large page's address bits below its size are reserved"};

}  // namespace irqremap::vtd::dma
