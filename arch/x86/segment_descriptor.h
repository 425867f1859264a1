#pragma once
// Segment selectors, segment descriptors and the 64-bit TSS (Intel SDM vol. 3A §3.4.2
// "Segment Selectors", §3.4.5 "Segment Descriptors", §3.5 "System Descriptor Types",
// §8.7 "Task Management in 64-bit Mode", Figure 8-11 "64-Bit TSS Format"), as field tables,
// for the machine's own interrupt delivery (interrupt_entry.h): the gate's code segment is
// read from the GDT or LDT and the stack to switch to from the TSS.
#include <cstdint>

#include "remap/fields.h"

namespace irqremap::x86::seg {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

// Segment selector (§3.4.2, Figure 3-6).
inline constexpr Field SEL_RPL{"RPL", 1, 0, Access::RW, "Requested privilege level"};
inline constexpr Field SEL_TI{"TI", 2, 2, Access::RW, "Table indicator (0 GDT, 1 LDT)"};
inline constexpr Field SEL_INDEX{"Index", 15, 3, Access::RW, "Descriptor index"};
inline constexpr Field kSelectorFields[] = {SEL_RPL, SEL_TI, SEL_INDEX};
static_assert(fields::well_formed(kSelectorFields, 16, true));
inline constexpr fields::Format kSelector{"segment-selector", "Segment selector", "Intel SDM vol. 3A §3.4.2", 16,
                                          kSelectorFields};

// Code/data or system segment descriptor, 8 bytes (§3.4.5, Figure 3-8). TYPE is the 4-bit
// type field; with S = 1, bit 3 of it says code (1) or data (0), bit 2 conforming (code) or
// expand-down (data), bit 1 readable (code) or writable (data) (Table 3-1).
inline constexpr EnumLabel kSystemType[] = {{0x2, "LDT"}, {0x9, "64-bit TSS (available)"},
                                            {0xB, "64-bit TSS (busy)"}, {0xC, "64-bit call gate"},
                                            {0xE, "64-bit interrupt gate"}, {0xF, "64-bit trap gate"}};
inline constexpr Field LIMIT_LO{"Segment Limit 15:0", 15, 0, Access::RW, "Limit bits 15:0"};
inline constexpr Field BASE_LO{"Base 23:0", 39, 16, Access::RW, "Base address bits 23:0"};
inline constexpr Field TYPE{"Type", 43, 40, Access::RW, "Segment type (Table 3-1, or Table 3-2 with S=0)", kSystemType};
inline constexpr Field S{"S", 44, 44, Access::RW, "Descriptor type (0 system, 1 code or data)"};
inline constexpr Field DPL{"DPL", 46, 45, Access::RW, "Descriptor privilege level"};
inline constexpr Field P{"P", 47, 47, Access::RW, "Segment present"};
inline constexpr Field LIMIT_HI{"Segment Limit 19:16", 51, 48, Access::RW, "Limit bits 19:16"};
inline constexpr Field AVL{"AVL", 52, 52, Access::RW, "Available for system software"};
inline constexpr Field L{"L", 53, 53, Access::RW, "64-bit code segment (IA-32e mode)"};
inline constexpr Field DB{"D/B", 54, 54, Access::RW, "Default operation size / big"};
inline constexpr Field G{"G", 55, 55, Access::RW, "Granularity (limit in 4 KiB units)"};
inline constexpr Field BASE_HI{"Base 31:24", 63, 56, Access::RW, "Base address bits 31:24"};
inline constexpr Field kDescriptorFields[] = {LIMIT_LO, BASE_LO, TYPE, S, DPL, P, LIMIT_HI, AVL, L, DB, G, BASE_HI};
static_assert(fields::well_formed(kDescriptorFields, 64, true));
inline constexpr fields::Format kDescriptor{"segment-descriptor", "Segment descriptor (8 bytes)",
                                            "Intel SDM vol. 3A §3.4.5", 64, kDescriptorFields};

inline constexpr uint8_t kTypeCode = 0x8, kTypeConforming = 0x4, kTypeReadWrite = 0x2;
inline constexpr uint8_t kTss64Available = 0x9, kTss64Busy = 0xB;

struct Descriptor {
  uint64_t raw = 0;
  constexpr uint8_t type() const { return uint8_t(fields::get(raw, TYPE)); }
  constexpr bool system() const { return fields::get(raw, S) == 0; }
  constexpr uint8_t dpl() const { return uint8_t(fields::get(raw, DPL)); }
  constexpr bool present() const { return fields::get(raw, P) != 0; }
  constexpr bool code() const { return !system() && (type() & kTypeCode) != 0; }
  constexpr bool conforming() const { return code() && (type() & kTypeConforming) != 0; }
  constexpr bool long_mode() const { return fields::get(raw, L) != 0; }
  constexpr bool default_big() const { return fields::get(raw, DB) != 0; }
  constexpr uint32_t base() const { return uint32_t(fields::get(raw, BASE_LO) | (fields::get(raw, BASE_HI) << 24)); }
  // The limit in bytes (G scales it by 4 KiB, low 12 bits ones).
  constexpr uint32_t limit() const {
    const uint32_t l = uint32_t(fields::get(raw, LIMIT_LO) | (fields::get(raw, LIMIT_HI) << 16));
    return fields::get(raw, G) != 0 ? (l << 12) | 0xFFF : l;
  }
};

// 64-bit TSS (§8.7, Figure 8-11): the stack pointers an interrupt switches to, 104 bytes.
// The figure splits each 64-bit pointer into dwords, and so does the table (a field here
// lies within one 64-bit word).
inline constexpr Field kTss64Fields[] = {
    {"Rsvd", 31, 0, Access::Rsvd, "reserved"},
    {"RSP0 (lower 32 bits)", 63, 32, Access::RW, "Stack pointer for CPL 0, bits 31:0"},
    {"RSP0 (upper 32 bits)", 95, 64, Access::RW, "Stack pointer for CPL 0, bits 63:32"},
    {"RSP1 (lower 32 bits)", 127, 96, Access::RW, "Stack pointer for CPL 1, bits 31:0"},
    {"RSP1 (upper 32 bits)", 159, 128, Access::RW, "Stack pointer for CPL 1, bits 63:32"},
    {"RSP2 (lower 32 bits)", 191, 160, Access::RW, "Stack pointer for CPL 2, bits 31:0"},
    {"RSP2 (upper 32 bits)", 223, 192, Access::RW, "Stack pointer for CPL 2, bits 63:32"},
    {"Rsvd", 255, 224, Access::Rsvd, "reserved"},
    {"Rsvd", 287, 256, Access::Rsvd, "reserved"},
    {"IST1 (lower 32 bits)", 319, 288, Access::RW, "Interrupt stack table 1, bits 31:0"},
    {"IST1 (upper 32 bits)", 351, 320, Access::RW, "Interrupt stack table 1, bits 63:32"},
    {"IST2 (lower 32 bits)", 383, 352, Access::RW, "Interrupt stack table 2, bits 31:0"},
    {"IST2 (upper 32 bits)", 415, 384, Access::RW, "Interrupt stack table 2, bits 63:32"},
    {"IST3 (lower 32 bits)", 447, 416, Access::RW, "Interrupt stack table 3, bits 31:0"},
    {"IST3 (upper 32 bits)", 479, 448, Access::RW, "Interrupt stack table 3, bits 63:32"},
    {"IST4 (lower 32 bits)", 511, 480, Access::RW, "Interrupt stack table 4, bits 31:0"},
    {"IST4 (upper 32 bits)", 543, 512, Access::RW, "Interrupt stack table 4, bits 63:32"},
    {"IST5 (lower 32 bits)", 575, 544, Access::RW, "Interrupt stack table 5, bits 31:0"},
    {"IST5 (upper 32 bits)", 607, 576, Access::RW, "Interrupt stack table 5, bits 63:32"},
    {"IST6 (lower 32 bits)", 639, 608, Access::RW, "Interrupt stack table 6, bits 31:0"},
    {"IST6 (upper 32 bits)", 671, 640, Access::RW, "Interrupt stack table 6, bits 63:32"},
    {"IST7 (lower 32 bits)", 703, 672, Access::RW, "Interrupt stack table 7, bits 31:0"},
    {"IST7 (upper 32 bits)", 735, 704, Access::RW, "Interrupt stack table 7, bits 63:32"},
    {"Rsvd", 767, 736, Access::Rsvd, "reserved"},
    {"Rsvd", 799, 768, Access::Rsvd, "reserved"},
    {"Rsvd", 815, 800, Access::Rsvd, "reserved"},
    {"I/O Map Base Address", 831, 816, Access::RW, "Offset of the I/O permission bitmap"},
};
static_assert(fields::well_formed(kTss64Fields, 104 * 8, true));
inline constexpr fields::Format kTss64{"tss64", "64-bit task-state segment", "Intel SDM vol. 3A §8.7", 104 * 8,
                                       kTss64Fields};
inline constexpr const Field& TSS_RSP0_LO = kTss64Fields[1];
inline constexpr const Field& TSS_IST1_LO = kTss64Fields[9];

// Byte offsets in the TSS of RSPn (n = 0..2) and ISTn (n = 1..7), from the table above.
constexpr uint32_t tss_rsp_offset(unsigned cpl) { return uint32_t(TSS_RSP0_LO.lo / 8 + 8 * cpl); }
constexpr uint32_t tss_ist_offset(unsigned ist) { return uint32_t(TSS_IST1_LO.lo / 8 + 8 * (ist - 1)); }
static_assert(tss_rsp_offset(0) == 0x04 && tss_rsp_offset(2) == 0x14 && tss_ist_offset(1) == 0x24 &&
              tss_ist_offset(7) == 0x54);

// The MSRs that hold FS's and GS's 64-bit bases and SWAPGS's other GS base (SDM vol. 4
// Table 2-2); WRMSR of a non-canonical address to them is #GP(0).
inline constexpr uint32_t kMsrIa32FsBase = 0xC000'0100, kMsrIa32GsBase = 0xC000'0101,
                          kMsrIa32KernelGsBase = 0xC000'0102;

// Canonical in 48-bit linear addressing: bits 63:47 all equal (SDM vol. 1 §3.3.7.1).
constexpr bool canonical(uint64_t a) {
  const uint64_t top = a >> 47;
  return top == 0 || top == 0x1FFFF;
}

}  // namespace irqremap::x86::seg
