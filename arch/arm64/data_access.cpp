#include "arch/arm64/data_access.h"

namespace irqremap::arm64 {

namespace {

constexpr uint32_t bits(uint32_t w, unsigned hi, unsigned lo) { return (w >> lo) & ((1u << (hi - lo + 1)) - 1); }
constexpr int64_t sext(uint64_t v, unsigned width) {
  const uint64_t m = uint64_t{1} << (width - 1);
  return int64_t((v ^ m) - m);
}

// The register offset of LDR/STR (register): Xm or Wm extended by option, shifted by
// `shift` (Arm ARM C6.2.x ExtendReg).
uint64_t extend_reg(uint64_t m, unsigned option, unsigned shift) {
  uint64_t v = 0;
  switch (option) {
    case 2: v = uint32_t(m); break;                 // UXTW
    case 3: v = m; break;                           // LSL / UXTX
    case 6: v = uint64_t(int64_t(int32_t(m))); break;  // SXTW
    case 7: v = m; break;                           // SXTX
    default: return 0;                              // reserved
  }
  return v << shift;
}

}  // namespace

std::optional<DataAccess> decode_data_access(uint32_t w, uint64_t pc, const std::function<uint64_t(unsigned)>& x) {
  if ((w & 0x0A00'0000) != 0x0800'0000) return std::nullopt;  // not a load or store
  const unsigned rn = bits(w, 9, 5);
  const bool v = bits(w, 26, 26) != 0;
  // Load/store exclusive and ordered: bits 29:24 = 0b001000.
  if (bits(w, 29, 24) == 0x08) {
    if (v) return std::nullopt;
    const unsigned size = 1u << bits(w, 31, 30);
    const bool pair = bits(w, 23, 23) == 0 && bits(w, 21, 21) == 1;
    const bool load = bits(w, 22, 22) != 0;
    return DataAccess{x(rn), pair ? 2 * size : size, !load};
  }
  // Load register (literal): bits 29:27 = 0b011, bit 24 = 0.
  if (bits(w, 29, 27) == 0x3 && bits(w, 24, 24) == 0) {
    const unsigned opc = bits(w, 31, 30);
    if (!v && opc == 3) return std::nullopt;  // PRFM (literal)
    const unsigned size = v ? (4u << opc) : (opc == 1 ? 8u : 4u);
    return DataAccess{pc + uint64_t(sext(bits(w, 23, 5), 19) * 4), size, false};
  }
  // Load/store pair: bits 29:27 = 0b101.
  if (bits(w, 29, 27) == 0x5) {
    const unsigned opc = bits(w, 31, 30), index = bits(w, 24, 23);
    const unsigned scale = v ? 2 + opc : (opc == 2 ? 3 : 2);
    const int64_t offset = sext(bits(w, 21, 15), 7) * (int64_t{1} << scale);
    const uint64_t base = x(rn);
    const uint64_t va = index == 1 ? base : base + uint64_t(offset);  // post-index: the base itself
    return DataAccess{va, 2u << scale, bits(w, 22, 22) == 0};
  }
  // Load/store register: bits 29:27 = 0b111.
  if (bits(w, 29, 27) == 0x7) {
    const unsigned size = bits(w, 31, 30), opc = bits(w, 23, 22);
    unsigned scale = size;
    bool write = false;
    if (v) {
      if (opc & 2) {
        if (size != 0) return std::nullopt;
        scale = 4;  // Q
      }
      write = (opc & 1) == 0;
    } else {
      if (size == 3 && opc == 2) return std::nullopt;  // PRFM
      write = opc == 0;
    }
    const uint64_t base = x(rn);
    uint64_t va = base;
    if (bits(w, 24, 24)) {
      va = base + (uint64_t(bits(w, 21, 10)) << scale);  // unsigned immediate
    } else if (bits(w, 21, 21)) {
      if (bits(w, 11, 10) != 2) return std::nullopt;  // atomic memory operations (Armv8.1)
      const unsigned rm = bits(w, 20, 16);
      const uint64_t m = rm == 31 ? 0 : x(rm);  // XZR as an offset
      va = base + extend_reg(m, bits(w, 15, 13), bits(w, 12, 12) ? scale : 0);
    } else if (bits(w, 11, 10) != 1) {
      va = base + uint64_t(sext(bits(w, 20, 12), 9));  // unscaled, pre-index, unprivileged
    }  // post-index: the base itself
    return DataAccess{va, 1u << scale, write};
  }
  // Advanced SIMD load/store multiple structures (LD1..LD4, ST1..ST4 with a register
  // list): bit 31 = 0, bits 29:24 = 0b001100, bit 21 = 0; bit 23 is post-index (the access
  // is at the base either way). The registers are consecutive in memory: count x 8 or 16 bytes.
  if (bits(w, 31, 31) == 0 && bits(w, 29, 24) == 0x0C && bits(w, 21, 21) == 0) {
    if (bits(w, 23, 23) == 0 && bits(w, 20, 16) != 0) return std::nullopt;  // unallocated
    unsigned regs = 0;
    switch (bits(w, 15, 12)) {
      case 0x0: case 0x2: regs = 4; break;  // LD4/ST4, LD1/ST1 x4
      case 0x4: case 0x6: regs = 3; break;  // LD3/ST3, LD1/ST1 x3
      case 0x7: regs = 1; break;            // LD1/ST1 x1
      case 0x8: case 0xA: regs = 2; break;  // LD2/ST2, LD1/ST1 x2
      default: return std::nullopt;
    }
    return DataAccess{x(rn), regs * (bits(w, 30, 30) ? 16u : 8u), bits(w, 22, 22) == 0};
  }
  // Advanced SIMD load/store single structure (one lane, or LDnR replicating): bit 31 = 0,
  // bits 29:24 = 0b001101. selem = opcode<0>:R + 1 elements of the size opcode<2:1>,
  // size and S give (Arm ARM C7.2, LD1 (single structure) "Shared decode").
  if (bits(w, 31, 31) == 0 && bits(w, 29, 24) == 0x0D) {
    if (bits(w, 23, 23) == 0 && bits(w, 20, 16) != 0) return std::nullopt;  // unallocated
    const unsigned opcode = bits(w, 15, 13), s = bits(w, 12, 12), size = bits(w, 11, 10);
    const bool load = bits(w, 22, 22) != 0;
    unsigned esize = 0;
    switch (opcode >> 1) {
      case 0: esize = 1; break;
      case 1: if (size & 1) return std::nullopt; esize = 2; break;
      case 2:
        if (size == 0) esize = 4;
        else if (size == 1 && s == 0) esize = 8;
        else return std::nullopt;
        break;
      default:  // LDnR
        if (!load || s != 0) return std::nullopt;
        esize = 1u << size;
        break;
    }
    const unsigned selem = (((opcode & 1) << 1) | bits(w, 21, 21)) + 1;
    return DataAccess{x(rn), selem * esize, !load};
  }
  return std::nullopt;  // the rest
}

}  // namespace irqremap::arm64
