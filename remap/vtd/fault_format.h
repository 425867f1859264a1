#pragma once
// VT-d fault reporting registers (Intel VT-d spec rev 5.10 §11.4.6-§11.4.7, §7.4.1):
// FSTS, FECTL (and IECTL, same layout, §11.4.9.4), FEDATA, FEADDR, FEUADDR, and the
// 128-bit Fault Recording register FRCD.
#include "remap/fields.h"

namespace irqremap::vtd::fault {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr Field PFO{"PFO", 0, 0, Access::W1C, "Primary Fault Overflow"};
inline constexpr Field PPF{"PPF", 1, 1, Access::RO, "Primary Pending Fault: some FRCD has F=1"};
inline constexpr Field IQE{"IQE", 4, 4, Access::W1C, "Invalidation Queue Error"};
inline constexpr Field ICE{"ICE", 5, 5, Access::W1C, "Invalidation Completion Error (device-TLB)"};
inline constexpr Field ITE{"ITE", 6, 6, Access::W1C, "Invalidation Time-out Error (device-TLB)"};
inline constexpr Field FRI{"FRI", 15, 8, Access::RO, "Fault Record Index of the first pending fault"};
inline constexpr Field kFstsFields[] = {
    PFO, PPF,
    {"Other[3:2]", 3, 2, Access::RO, "AFO APF (deprecated advanced fault logging)"},
    IQE, ICE, ITE,
    {"Rsvd", 7, 7, Access::Rsvd, "reserved"},
    FRI,
    {"Rsvd", 31, 16, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kFstsFields, 32, true));

// FECTL and IECTL share this layout.
inline constexpr Field IP{"IP", 30, 30, Access::RO, "Interrupt Pending: an event is held"};
inline constexpr Field IM{"IM", 31, 31, Access::RW, "Interrupt Mask: 1 holds events pending"};
inline constexpr Field kCtlFields[] = {
    {"Rsvd", 29, 0, Access::Rsvd, "reserved"}, IP, IM,
};
static_assert(fields::well_formed(kCtlFields, 32, true));

inline constexpr Field IMD{"IMD", 15, 0, Access::RW, "Interrupt Message Data"};
inline constexpr Field EIMD{"EIMD", 31, 16, Access::RW,
                            "Extended Interrupt Message Data (x2APIC; else ignored)"};
inline constexpr Field kDataFields[] = {IMD, EIMD};
static_assert(fields::well_formed(kDataFields, 32, true));

inline constexpr Field MA{"MA", 31, 2, Access::RW, "Message Address (0xFEEx_xxxx)", {}, 0, 2};
inline constexpr Field kAddrFields[] = {{"Rsvd", 1, 0, Access::Rsvd, "reserved"}, MA};
static_assert(fields::well_formed(kAddrFields, 32, true));

inline constexpr Field MUA{"MUA", 31, 0, Access::RW,
                           "Message Upper Address (x2APIC destination bits 31:8)"};
inline constexpr Field kUaddrFields[] = {MUA};
static_assert(fields::well_formed(kUaddrFields, 32, true));

// FRCD, 128 bits (§11.4.7.6). For DMA faults FI holds the faulting page address (63:12)
// and T the access type; for interrupt-remapping faults FI bits 63:48 hold the interrupt
// index and bits 47:12 are 0; FI is undefined for reasons 20h, 25h, 29h-2Bh.
inline constexpr EnumLabel kFr[] = {
    {0x01, "1h root entry not present"},
    {0x02, "2h context entry not present"},
    {0x03, "3h invalid context entry programming (TT/AW unsupported)"},
    {0x04, "4h address beyond the context's address width"},
    {0x05, "5h write to a page without write permission"},
    {0x06, "6h read of a page without read permission"},
    {0x07, "7h second-level paging entry access error"},
    {0x08, "8h root table access error"},
    {0x09, "9h context table access error"},
    {0x0A, "Ah reserved field in a root entry"},
    {0x0B, "Bh reserved field in a context entry"},
    {0x0C, "Ch reserved field in a second-level paging entry"},
    {0x20, "20h reserved field in remappable request"},
    {0x21, "21h index beyond IRT size"},
    {0x22, "22h IRTE not present"},
    {0x23, "23h IRT access error"},
    {0x24, "24h reserved field in IRTE"},
    {0x25, "25h compatibility format blocked"},
    {0x26, "26h source-ID verification failed"},
    {0x27, "27h posted descriptor access error"},
    {0x28, "28h reserved field in posted descriptor"},
    {0x29, "29h invalid untranslated request to FEEx_xxxx"},
    {0x2A, "2Ah EIME=0 while EIMER=1"},
    {0x2B, "2Bh request with IR disabled while IRREQ=1"},
};
inline constexpr Field FRCD_FI{"FI", 63, 12, Access::RW,
                               "Fault Info: DMA faults the page address; IR faults the interrupt index in 63:48"};
inline constexpr Field FRCD_SID{"SID", 79, 64, Access::RW, "Source Identifier of the request"};
inline constexpr Field FRCD_FR{"FR", 103, 96, Access::RW, "Fault Reason", kFr};
inline constexpr Field FRCD_PV{"PV", 123, 104, Access::RW, "PASID Value (DMA faults only)"};
inline constexpr Field FRCD_AT{"AT", 125, 124, Access::RW, "Address Type (DMA faults only)"};
inline constexpr Field FRCD_T{"T", 126, 126, Access::RW, "Type: 0 write, 1 read (IR faults are writes)"};
inline constexpr Field FRCD_F{"F", 127, 127, Access::W1C, "Fault: 1 the record is valid"};
inline constexpr Field kFrcdFields[] = {
    {"Rsvd", 11, 0, Access::Rsvd, "reserved"},
    FRCD_FI, FRCD_SID,
    {"Other[95:80]", 95, 80, Access::RO, "T2 PRIV EXE PP: scalable-mode DMA faults only (0 here)"},
    FRCD_FR, FRCD_PV, FRCD_AT, FRCD_T, FRCD_F,
};
static_assert(fields::well_formed(kFrcdFields, 128, true));
// The interrupt index inside FI (FRCD bits 63:48).
inline constexpr Field FRCD_IR_INDEX{"FI.index", 63, 48, Access::RW, "interrupt index"};

inline constexpr fields::Format kFsts{"fsts", "Fault Status Register (FSTS)",
                                      "Intel VT-d spec rev 5.10 §11.4.6.1", 32, kFstsFields};
inline constexpr fields::Format kFectl{"fectl", "Fault Event Control Register (FECTL; IECTL alike)",
                                       "Intel VT-d spec rev 5.10 §11.4.6.2", 32, kCtlFields};
inline constexpr fields::Format kFedata{"fedata", "Fault Event Data Register (FEDATA; IEDATA alike)",
                                        "Intel VT-d spec rev 5.10 §11.4.6.3", 32, kDataFields};
inline constexpr fields::Format kFeaddr{"feaddr", "Fault Event Address Register (FEADDR; IEADDR alike)",
                                        "Intel VT-d spec rev 5.10 §11.4.6.4", 32, kAddrFields};
inline constexpr fields::Format kFeuaddr{"feuaddr", "Fault Event Upper Address Register (FEUADDR)",
                                         "Intel VT-d spec rev 5.10 §11.4.6.5", 32, kUaddrFields};
inline constexpr fields::Format kFrcd{"frcd", "Fault Recording Register (FRCD)",
                                      "Intel VT-d spec rev 5.10 §11.4.7.6", 128, kFrcdFields};

}  // namespace irqremap::vtd::fault
