#pragma once
// GICv3 ITS registers in the control frame (Arm IHI0069 §12.19, one subsection per
// register: §12.19.1 GITS_BASER<n> to §12.19.5 GITS_CWRITER). One table per register;
// the ITS register file (its_unit.h) reads and writes them through these same Field objects.
#include "remap/fields.h"

namespace irqremap::its::reg {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

// Offsets in the 128 KiB ITS window: control frame, then translation frame.
inline constexpr uint64_t GITS_CTLR = 0x0000, GITS_IIDR = 0x0004, GITS_TYPER = 0x0008,
                          GITS_CBASER = 0x0080, GITS_CWRITER = 0x0088, GITS_CREADR = 0x0090,
                          GITS_BASER = 0x0100,  // + 8n, n = 0..7
    GITS_PIDR4 = 0xFFD0, GITS_PIDR0 = 0xFFE0, GITS_PIDR1 = 0xFFE4, GITS_PIDR2 = 0xFFE8,
                          GITS_PIDR3 = 0xFFEC, GITS_CIDR0 = 0xFFF0,
                          GITS_TRANSLATER = 0x1'0040;
inline constexpr uint64_t kWindowSize = 0x2'0000;

// GITS_CTLR (§12.19.4).
inline constexpr Field CTLR_Enabled{"Enabled", 0, 0, Access::RW, "ITS enabled"};
inline constexpr Field CTLR_ImDe{"ImDe", 1, 1, Access::RO,
                                 "Implementation Defined events (0: not supported)"};
inline constexpr Field CTLR_Quiescent{"Quiescent", 31, 31, Access::RO,
                                      "No command or translation in progress"};
inline constexpr Field kCtlrFields[] = {
    CTLR_Enabled, CTLR_ImDe,
    {"Rsvd", 30, 2, Access::Rsvd, "reserved (ITS_Number/UMSIirq: GICv4.1 only)"},
    CTLR_Quiescent,
};
static_assert(fields::well_formed(kCtlrFields, 32, true));
inline constexpr fields::Format kCtlr{"gits-ctlr", "GITS_CTLR (ITS control)",
                                      "Arm IHI0069 §12.19.4", 32, kCtlrFields};

// GITS_TYPER (§12.19.12). All fields read-only.
inline constexpr Field TYPER_Physical{"Physical", 0, 0, Access::RO, "Physical LPIs supported"};
inline constexpr Field TYPER_Virtual{"Virtual", 1, 1, Access::RO, "Virtual LPIs (GICv4)"};
inline constexpr Field TYPER_CCT{"CCT", 2, 2, Access::RO,
                                 "Cumulative Collection Tables (0: CT holds all collections)"};
inline constexpr Field TYPER_ITT_entry_size{"ITT_entry_size", 7, 4, Access::RO,
                                            "ITT entry size in bytes - 1"};
inline constexpr Field TYPER_IDbits{"IDbits", 12, 8, Access::RO, "EventID bits - 1"};
inline constexpr Field TYPER_Devbits{"Devbits", 17, 13, Access::RO, "DeviceID bits - 1"};
inline constexpr Field TYPER_SEIS{"SEIS", 18, 18, Access::RO, "Locally generated SErrors"};
inline constexpr EnumLabel kPta[] = {{0, "RDbase is a PE number"},
                                     {1, "RDbase is a physical address"}};
inline constexpr Field TYPER_PTA{"PTA", 19, 19, Access::RO, "Physical Target Addresses", kPta};
inline constexpr Field TYPER_HCC{"HCC", 31, 24, Access::RO,
                                 "Hardware Collection Count (collections held without a table)"};
inline constexpr Field TYPER_CIDbits{"CIDbits", 35, 32, Access::RO,
                                     "Collection ID bits - 1 (when CIL=1)"};
inline constexpr Field TYPER_CIL{"CIL", 36, 36, Access::RO,
                                 "Collection ID Limit: 1 CIDbits applies, 0 16-bit ICIDs"};
inline constexpr Field kTyperFields[] = {
    TYPER_Physical, TYPER_Virtual, TYPER_CCT,
    {"IMPDEF", 3, 3, Access::Ignored, "IMPLEMENTATION DEFINED"},
    TYPER_ITT_entry_size, TYPER_IDbits, TYPER_Devbits, TYPER_SEIS, TYPER_PTA,
    {"Rsvd", 23, 20, Access::Rsvd, "reserved"},
    TYPER_HCC, TYPER_CIDbits, TYPER_CIL,
    {"VMOVP", 37, 37, Access::RO, "GICv4 VMOVP behaviour"},
    {"MPAM", 38, 38, Access::RO, "MPAM supported"},
    {"VSGI", 39, 39, Access::RO, "GICv4.1 direct vSGI injection"},
    {"VMAPP", 40, 40, Access::RO, "GICv4.1 VMAPP"},
    {"SVPET", 42, 41, Access::RO, "GICv4.1 shared vPE table"},
    {"nID", 43, 43, Access::RO, "Individual doorbells not supported"},
    {"UMSI", 44, 44, Access::RO, "Unmapped MSI reporting"},
    {"UMSIirq", 45, 45, Access::RO, "Unmapped MSI interrupt"},
    {"INV", 46, 46, Access::RO, "Invalidate on unmap"},
    {"Rsvd", 63, 47, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kTyperFields, 64, true));
inline constexpr fields::Format kTyper{"gits-typer", "GITS_TYPER (ITS type)",
                                       "Arm IHI0069 §12.19.12", 64, kTyperFields};

// Cacheability and shareability encodings shared by CBASER, BASER, PROPBASER, PENDBASER.
inline constexpr EnumLabel kCache[] = {
    {0, "Device-nGnRnE / same as inner"}, {1, "Normal Non-cacheable"},
    {2, "Normal RaWt"}, {3, "Normal RaWb"}, {4, "Normal WaWt"},
    {5, "Normal WaWb"}, {6, "Normal RaWaWt"}, {7, "Normal RaWaWb"}};
inline constexpr EnumLabel kShare[] = {
    {0, "Non-shareable"}, {1, "Inner Shareable"}, {2, "Outer Shareable"}, {3, "reserved"}};

// GITS_CBASER (§12.19.2).
inline constexpr Field CBASER_Size{"Size", 7, 0, Access::RW, "Queue size in 4 KiB pages - 1"};
inline constexpr Field CBASER_Shareability{"Shareability", 11, 10, Access::RW, "Shareability",
                                           kShare};
inline constexpr Field CBASER_Physical_Address{"Physical_Address", 51, 12, Access::RW,
                                               "Command queue base bits 51:12", {}, 0, 12};
inline constexpr Field CBASER_OuterCache{"OuterCache", 55, 53, Access::RW, "Outer cacheability",
                                         kCache};
inline constexpr Field CBASER_InnerCache{"InnerCache", 61, 59, Access::RW, "Inner cacheability",
                                         kCache};
inline constexpr Field CBASER_Valid{"Valid", 63, 63, Access::RW, "Queue allocated"};
inline constexpr Field kCbaserFields[] = {
    CBASER_Size,
    {"Rsvd", 9, 8, Access::Rsvd, "reserved"},
    CBASER_Shareability, CBASER_Physical_Address,
    {"Rsvd", 52, 52, Access::Rsvd, "reserved"},
    CBASER_OuterCache,
    {"Rsvd", 58, 56, Access::Rsvd, "reserved"},
    CBASER_InnerCache,
    {"Rsvd", 62, 62, Access::Rsvd, "reserved"},
    CBASER_Valid,
};
static_assert(fields::well_formed(kCbaserFields, 64, true));
inline constexpr fields::Format kCbaser{"gits-cbaser", "GITS_CBASER (command queue base)",
                                        "Arm IHI0069 §12.19.2", 64, kCbaserFields};

// GITS_CWRITER (§12.19.5) and GITS_CREADR (§12.19.3): byte offsets in 32-byte units.
inline constexpr Field CWRITER_Retry{"Retry", 0, 0, Access::RW,
                                     "Restart a stalled queue at the failed command"};
inline constexpr Field CWRITER_Offset{"Offset", 19, 5, Access::RW,
                                      "Byte offset of the next command to write (bits 19:5)",
                                      {}, 0, 5};
inline constexpr Field kCwriterFields[] = {
    CWRITER_Retry,
    {"Rsvd", 4, 1, Access::Rsvd, "reserved"},
    CWRITER_Offset,
    {"Rsvd", 63, 20, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kCwriterFields, 64, true));
inline constexpr fields::Format kCwriter{"gits-cwriter", "GITS_CWRITER (command queue write)",
                                         "Arm IHI0069 §12.19.5", 64, kCwriterFields};

inline constexpr Field CREADR_Stalled{"Stalled", 0, 0, Access::RO,
                                      "Processing stopped at a command error"};
inline constexpr Field CREADR_Offset{"Offset", 19, 5, Access::RO,
                                     "Byte offset of the next command to process (bits 19:5)",
                                     {}, 0, 5};
inline constexpr Field kCreadrFields[] = {
    CREADR_Stalled,
    {"Rsvd", 4, 1, Access::Rsvd, "reserved"},
    CREADR_Offset,
    {"Rsvd", 63, 20, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kCreadrFields, 64, true));
inline constexpr fields::Format kCreadr{"gits-creadr", "GITS_CREADR (command queue read)",
                                        "Arm IHI0069 §12.19.3", 64, kCreadrFields};

// GITS_BASER<n> (§12.19.1).
inline constexpr EnumLabel kPageSize[] = {
    {0, "4 KiB"}, {1, "16 KiB"}, {2, "64 KiB"}, {3, "reserved"}};
inline constexpr EnumLabel kBaserType[] = {
    {0, "Unimplemented"}, {1, "Devices"},  {2, "vPEs"},     {3, "reserved"},
    {4, "Collections"},   {5, "reserved"}, {6, "reserved"}, {7, "reserved"}};
inline constexpr Field BASER_Size{"Size", 7, 0, Access::RW, "Table size in pages - 1"};
inline constexpr Field BASER_Page_Size{"Page_Size", 9, 8, Access::RW, "Page size", kPageSize};
inline constexpr Field BASER_Shareability{"Shareability", 11, 10, Access::RW, "Shareability",
                                          kShare};
inline constexpr Field BASER_Physical_Address{
    "Physical_Address", 47, 12, Access::RW,
    "Table base bits 47:12 (64 KiB pages: bits 15:12 hold PA bits 51:48)", {}, 0, 12};
inline constexpr Field BASER_Entry_Size{"Entry_Size", 52, 48, Access::RO,
                                        "Table entry size in bytes - 1"};
inline constexpr Field BASER_OuterCache{"OuterCache", 55, 53, Access::RW, "Outer cacheability",
                                        kCache};
inline constexpr Field BASER_Type{"Type", 58, 56, Access::RO, "Table type", kBaserType};
inline constexpr Field BASER_InnerCache{"InnerCache", 61, 59, Access::RW, "Inner cacheability",
                                        kCache};
inline constexpr Field BASER_Indirect{"Indirect", 62, 62, Access::RW,
                                      "Two-level table: level 1 holds pointers to pages"};
inline constexpr Field BASER_Valid{"Valid", 63, 63, Access::RW, "Table allocated"};
inline constexpr Field kBaserFields[] = {
    BASER_Size, BASER_Page_Size, BASER_Shareability, BASER_Physical_Address, BASER_Entry_Size,
    BASER_OuterCache, BASER_Type, BASER_InnerCache, BASER_Indirect, BASER_Valid,
};
static_assert(fields::well_formed(kBaserFields, 64, true));
inline constexpr fields::Format kBaser{"gits-baser", "GITS_BASER<n> (ITS table base)",
                                       "Arm IHI0069 §12.19.1", 64, kBaserFields};

// Bytes in a page for a Page_Size encoding (3 is reserved; treated as 64 KiB like QEMU).
constexpr uint64_t page_bytes(uint64_t page_size_field) {
  return page_size_field == 0 ? 0x1000 : page_size_field == 1 ? 0x4000 : 0x1'0000;
}

}  // namespace irqremap::its::reg
