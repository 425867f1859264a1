#pragma once
// VT-d invalidation queue registers (Intel VT-d spec rev 5.10 §6.5.2, §11.4.9): IQA,
// IQH, IQT and ICS. IECTL/IEDATA/IEADDR share the FECTL/FEDATA/FEADDR layouts
// (fault_format.h).
#include "remap/fields.h"

namespace irqremap::vtd::qi {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr EnumLabel kDw[] = {{0, "128-bit descriptors"}, {1, "256-bit descriptors"}};
inline constexpr Field QS{"QS", 2, 0, Access::RW,
                          "Queue Size: 2^(QS+8) 128-bit (2^(QS+7) 256-bit) descriptors"};
inline constexpr Field DW{"DW", 11, 11, Access::RW,
                          "Descriptor Width (1 only with ECAP.SMTS)", kDw};
inline constexpr Field IQA{"IQA", 63, 12, Access::RW, "Invalidation Queue Base Address", {}, 0, 12};
inline constexpr Field kIqaFields[] = {
    QS, {"Rsvd", 10, 3, Access::Rsvd, "reserved"}, DW, IQA,
};
static_assert(fields::well_formed(kIqaFields, 64, true));

// IQH/IQT hold a byte offset into the queue in bits 18:4 (a 128-bit descriptor index);
// with DW=1 the index is in 18:5 and bit 4 must be 0.
inline constexpr Field QH{"QH", 18, 4, Access::RO, "Queue Head: next descriptor hardware reads"};
inline constexpr Field kIqhFields[] = {
    {"Rsvd", 3, 0, Access::Rsvd, "reserved"}, QH, {"Rsvd", 63, 19, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kIqhFields, 64, true));
inline constexpr Field QT{"QT", 18, 4, Access::RW,
                          "Queue Tail: next descriptor software writes (bit 4 must be 0 when DW=1)"};
inline constexpr Field kIqtFields[] = {
    {"Rsvd", 3, 0, Access::Rsvd, "reserved"}, QT, {"Rsvd", 63, 19, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kIqtFields, 64, true));

inline constexpr Field IWC{"IWC", 0, 0, Access::W1C,
                           "Invalidation Wait Descriptor Complete (IF=1 wait processed)"};
inline constexpr Field kIcsFields[] = {IWC, {"Rsvd", 31, 1, Access::Rsvd, "reserved"}};
static_assert(fields::well_formed(kIcsFields, 32, true));

constexpr uint64_t entries(uint64_t iqa, bool dw) {
  return uint64_t{1} << (fields::get(iqa, QS) + (dw ? 7 : 8));
}

inline constexpr fields::Format kIqa{"iqa", "Invalidation Queue Address Register (IQA)",
                                     "Intel VT-d spec rev 5.10 §11.4.9.3", 64, kIqaFields};
inline constexpr fields::Format kIqh{"iqh", "Invalidation Queue Head Register (IQH)",
                                     "Intel VT-d spec rev 5.10 §11.4.9.1", 64, kIqhFields};
inline constexpr fields::Format kIqt{"iqt", "Invalidation Queue Tail Register (IQT)",
                                     "Intel VT-d spec rev 5.10 §11.4.9.2", 64, kIqtFields};
inline constexpr fields::Format kIcs{"ics", "Invalidation Completion Status Register (ICS)",
                                     "Intel VT-d spec rev 5.10 §11.4.9.4", 32, kIcsFields};

}  // namespace irqremap::vtd::qi
