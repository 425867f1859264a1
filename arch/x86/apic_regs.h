#pragma once
// Local APIC register layout (Intel SDM vol. 3A, chapter 11 "Advanced Programmable
// Interrupt Controller (APIC)"; §11.4.1 Table 11-1 local APIC register address map, §11.12
// x2APIC). One declarative table per register format with fields, so the LocalApic reads
// and writes them through fields::get/set and the layout is written once.
//
// xAPIC registers sit 16 bytes apart in the 4 KiB page at IA32_APIC_BASE (0xFEE0_0000);
// the x2APIC MSR for the register at MMIO offset `off` is 0x800 + off/16 (§11.12.1.2).
#include <cstdint>

#include "remap/fields.h"

namespace irqremap::x86::apic {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr uint64_t kDefaultBase = 0xFEE0'0000;  // IA32_APIC_BASE reset value, §11.4.4
inline constexpr uint64_t kPageSize = 0x1000;

// MMIO offsets (Table 11-1).
inline constexpr uint64_t ID = 0x020, VERSION = 0x030, TPR = 0x080, APR = 0x090, PPR = 0x0A0,
                          EOI = 0x0B0, RRD = 0x0C0, LDR = 0x0D0, DFR = 0x0E0, SVR = 0x0F0,
                          ISR0 = 0x100, TMR0 = 0x180, IRR0 = 0x200, ESR = 0x280,
                          LVT_CMCI = 0x2F0, ICR_LO = 0x300, ICR_HI = 0x310,
                          LVT_TIMER = 0x320, LVT_THERMAL = 0x330, LVT_PMC = 0x340,
                          LVT_LINT0 = 0x350, LVT_LINT1 = 0x360, LVT_ERROR = 0x370,
                          TIMER_ICR = 0x380, TIMER_CCR = 0x390, TIMER_DCR = 0x3E0,
                          SELF_IPI = 0x3F0;  // x2APIC only (MSR 0x83F)

// MSRs (§11.4.4, §11.12.1.2).
inline constexpr uint32_t IA32_APIC_BASE = 0x1B;
inline constexpr uint32_t kX2apicMsrFirst = 0x800, kX2apicMsrLast = 0x8FF;
inline constexpr uint32_t X2APIC_ICR = 0x830;  // one 64-bit MSR for ICR_HI:ICR_LO
constexpr uint32_t x2apic_msr(uint64_t mmio_offset) { return uint32_t(0x800 + mmio_offset / 16); }
constexpr uint64_t mmio_offset(uint32_t msr) { return uint64_t(msr - 0x800) * 16; }

// Version register (§11.4.8): version 0x14 (integrated APIC), 7 LVT entries (MaxLVT = 6),
// no EOI-broadcast suppression. QEMU reports the same.
inline constexpr uint32_t kVersion = 0x14, kMaxLvt = 6;

// IA32_APIC_BASE (§11.4.4, Figure 11-5; §11.12.1 EXTD).
inline constexpr Field BASE_BSP{"BSP", 8, 8, Access::RO, "Processor is the bootstrap processor"};
inline constexpr Field BASE_EXTD{"EXTD", 10, 10, Access::RW, "x2APIC mode enable"};
inline constexpr Field BASE_EN{"EN", 11, 11, Access::RW, "APIC global enable"};
inline constexpr Field BASE_ADDR{"APIC Base", 51, 12, Access::RW,
                                 "Base of the xAPIC MMIO page", {}, 0, 12};
inline constexpr Field kApicBaseFields[] = {
    {"Rsvd", 7, 0, Access::Rsvd, "reserved"},
    BASE_BSP,
    {"Rsvd", 9, 9, Access::Rsvd, "reserved"},
    BASE_EXTD, BASE_EN, BASE_ADDR,
    {"Rsvd", 63, 52, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kApicBaseFields, 64, true));
inline constexpr fields::Format kApicBase{"ia32-apic-base", "IA32_APIC_BASE MSR (1Bh)",
                                          "Intel SDM vol. 3A §11.4.4, §11.12.1", 64,
                                          kApicBaseFields};

// Spurious-Interrupt Vector Register (§11.9, Figure 11-23).
inline constexpr Field SVR_VECTOR{"Spurious Vector", 7, 0, Access::RW, "Spurious vector"};
inline constexpr Field SVR_ENABLE{"APIC Software Enable", 8, 8, Access::RW,
                                  "0: software disabled (reset), 1: enabled"};
inline constexpr Field SVR_FOCUS{"Focus Processor Checking", 9, 9, Access::RW,
                                 "Not supported here (reads back)"};
inline constexpr Field SVR_EOI_SUPPRESS{"EOI-Broadcast Suppression", 12, 12, Access::Rsvd,
                                        "Not supported (Version bit 24 is 0)"};
inline constexpr Field kSvrFields[] = {
    SVR_VECTOR, SVR_ENABLE, SVR_FOCUS,
    {"Rsvd", 11, 10, Access::Rsvd, "reserved"},
    SVR_EOI_SUPPRESS,
    {"Rsvd", 31, 13, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kSvrFields, 32, true));
inline constexpr fields::Format kSvr{"apic-svr", "Spurious-Interrupt Vector Register (0F0h)",
                                     "Intel SDM vol. 3A §11.9", 32, kSvrFields};

// Interrupt Command Register, 64 bits (§11.6.1, Figure 11-12; x2APIC §11.12.9).
inline constexpr EnumLabel kIcrDlm[] = {{0, "Fixed"}, {1, "Lowest Priority"}, {2, "SMI"},
                                        {3, "reserved"}, {4, "NMI"}, {5, "INIT"},
                                        {6, "Start Up"}, {7, "reserved"}};
inline constexpr EnumLabel kIcrShorthand[] = {{0, "No Shorthand"}, {1, "Self"},
                                              {2, "All Including Self"},
                                              {3, "All Excluding Self"}};
inline constexpr EnumLabel kDm[] = {{0, "physical"}, {1, "logical"}};
inline constexpr EnumLabel kTm[] = {{0, "edge"}, {1, "level"}};
inline constexpr Field ICR_VECTOR{"Vector", 7, 0, Access::RW, "Vector (SIPI: start page)"};
inline constexpr Field ICR_DLM{"Delivery Mode", 10, 8, Access::RW, "Delivery mode", kIcrDlm};
inline constexpr Field ICR_DM{"Destination Mode", 11, 11, Access::RW, "Destination mode", kDm};
inline constexpr Field ICR_DS{"Delivery Status", 12, 12, Access::RO,
                              "0 idle: IPIs are sent at once here"};
inline constexpr Field ICR_LEVEL{"Level", 14, 14, Access::RW, "0 de-assert (INIT level de-assert)"};
inline constexpr Field ICR_TM{"Trigger Mode", 15, 15, Access::RW, "Trigger mode", kTm};
inline constexpr Field ICR_SHORTHAND{"Destination Shorthand", 19, 18, Access::RW,
                                     "Destination shorthand", kIcrShorthand};
inline constexpr Field ICR_DEST_X2APIC{"Destination", 63, 32, Access::RW,
                                       "Destination (xAPIC: 8-bit APIC ID in 63:56)"};
inline constexpr Field kIcrFields[] = {
    ICR_VECTOR, ICR_DLM, ICR_DM, ICR_DS,
    {"Rsvd", 13, 13, Access::Rsvd, "reserved"},
    ICR_LEVEL, ICR_TM,
    {"Rsvd", 17, 16, Access::Rsvd, "reserved"},
    ICR_SHORTHAND,
    {"Rsvd", 31, 20, Access::Rsvd, "reserved"},
    ICR_DEST_X2APIC,
};
static_assert(fields::well_formed(kIcrFields, 64, true));
inline constexpr fields::Format kIcr{"apic-icr", "Interrupt Command Register (300h/310h, MSR 830h)",
                                     "Intel SDM vol. 3A §11.6.1, §11.12.9", 64, kIcrFields};
// In xAPIC mode the destination is ICR bits 63:56 (ICR_HI bits 31:24).
inline constexpr Field ICR_DEST_XAPIC{"Destination", 63, 56, Access::RW, "xAPIC destination"};

// Error Status Register bits (§11.5.3, Figure 11-9).
inline constexpr uint32_t ESR_SEND_ILLEGAL_VECTOR = 1u << 5, ESR_RECV_ILLEGAL_VECTOR = 1u << 6,
                          ESR_ILLEGAL_REGISTER = 1u << 7;

// LVT mask bit (§11.5.1): every LVT entry resets masked.
inline constexpr uint32_t kLvtMasked = 1u << 16;

// Delivery modes shared by MSIs, IRTEs and the ICR.
enum class DeliveryMode : uint8_t {
  Fixed = 0, LowestPriority = 1, Smi = 2, Nmi = 4, Init = 5, StartUp = 6, ExtInt = 7
};

}  // namespace irqremap::x86::apic
