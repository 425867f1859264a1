#pragma once
// The data access an A64 load or store instruction is about to make, from its encoding
// and the registers (Arm ARM C4.1.66 "Loads and Stores" and the instruction pages it
// leads to): its virtual address, size in bytes and direction. Plain C++ for the
// watchpoint check (self_hosted_debug.h), which must see the access before the
// instruction performs it.
//
// Decoded: load/store exclusive and ordered (LDXR, STXR, LDAR, STLR, LDXP, ...), load
// literal, load/store pair (all index modes, SIMD too), load/store register (unsigned
// immediate, unscaled, pre/post-index, unprivileged, register offset; SIMD up to Q),
// Advanced SIMD structures: multiple (LD1..LD4, ST1..ST4 with 1 to 4 registers, one
// access of all their bytes) and single (one lane of 1..4 registers, LD1R..LD4R).
// Not decoded (no access reported): PRFM, and the Armv8.1 atomics the Cortex-A57 does not
// have.
#include <cstdint>
#include <functional>
#include <optional>

namespace irqremap::arm64 {

struct DataAccess {
  uint64_t va;
  unsigned size;  // bytes, both registers of a pair together
  bool write;
};

// `x(n)` reads X0..X30 (n < 31) and SP (n == 31, as a base register).
std::optional<DataAccess> decode_data_access(uint32_t w, uint64_t pc, const std::function<uint64_t(unsigned)>& x);

}  // namespace irqremap::arm64
