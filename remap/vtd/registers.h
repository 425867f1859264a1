#pragma once
// VT-d register offsets in the unit's MMIO window (Intel VT-d spec rev 5.10 §11.4,
// Table "Register offsets"). 64-bit registers accept 32-bit halves.
#include <cstdint>

namespace irqremap::vtd::reg {

inline constexpr uint64_t VER = 0x00;      // 32
inline constexpr uint64_t CAP = 0x08;      // 64
inline constexpr uint64_t ECAP = 0x10;     // 64
inline constexpr uint64_t GCMD = 0x18;     // 32, write-only
inline constexpr uint64_t GSTS = 0x1C;     // 32
inline constexpr uint64_t RTADDR = 0x20;   // 64
inline constexpr uint64_t CCMD = 0x28;     // 64
inline constexpr uint64_t FSTS = 0x34;     // 32
inline constexpr uint64_t FECTL = 0x38;    // 32
inline constexpr uint64_t FEDATA = 0x3C;   // 32
inline constexpr uint64_t FEADDR = 0x40;   // 32
inline constexpr uint64_t FEUADDR = 0x44;  // 32
inline constexpr uint64_t IQH = 0x80;      // 64
inline constexpr uint64_t IQT = 0x88;      // 64
inline constexpr uint64_t IQA = 0x90;      // 64
inline constexpr uint64_t ICS = 0x9C;      // 32
inline constexpr uint64_t IECTL = 0xA0;    // 32
inline constexpr uint64_t IEDATA = 0xA4;   // 32
inline constexpr uint64_t IEADDR = 0xA8;   // 32
inline constexpr uint64_t IEUADDR = 0xAC;  // 32
inline constexpr uint64_t IRTA = 0xB8;     // 64
// IOTLB registers at ECAP.IRO = 0xF (x16 bytes), as QEMU: IVA then IOTLB_REG.
inline constexpr uint64_t kIro = 0xF;
inline constexpr uint64_t IVA = kIro * 16;       // 64
inline constexpr uint64_t IOTLB = kIro * 16 + 8; // 64
// CAP.MAMV: the largest page-selective invalidation mask (2^18 pages), as QEMU.
inline constexpr unsigned kMamv = 18;
// CAP.ND = 6: 16-bit domain IDs.
inline constexpr unsigned kNd = 6;
// Fault recording registers: CAP.FRO = 0x22 (x16 bytes), as QEMU; NFR+1 of them.
inline constexpr uint64_t kFro = 0x22;
inline constexpr uint64_t FRCD = kFro * 16;
inline constexpr uint64_t kWindow = 0x1000;  // one 4 KiB page
// The most FRCDs that fit in the window after FRCD.
inline constexpr unsigned kMaxFaultRecords = unsigned((kWindow - FRCD) / 16);

inline constexpr uint32_t kVersion = 0x10;  // VER: major 1, minor 0

}  // namespace irqremap::vtd::reg
