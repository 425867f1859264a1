#pragma once
// MmioDevice: a register file at a guest-physical window. The remapping units implement it
// without knowing about Unicorn; arch/ maps it onto the vCPUs' address space.
//
// Contract: offset is relative to the window base; size is 1, 2, 4 or 8. Unicorn 2.0 splits
// a 64-bit access into two 32-bit ones, so every 64-bit register must accept its two halves
// (use merge_write / extract_read). Holes read as zero and ignore writes (RAZ/WI); a device
// reports such accesses in its trace instead of failing.
#include <cstdint>
#include <string_view>

#include "remap/bits.h"

namespace irqremap {

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual std::string_view mmio_name() const = 0;
  virtual uint64_t mmio_size() const = 0;
  virtual uint64_t mmio_read(uint64_t offset, unsigned size) = 0;
  virtual void mmio_write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

// A write of `size` bytes at byte `byte` (0..7) inside a 64-bit register holding `old`.
constexpr uint64_t merge_write(uint64_t old, unsigned byte, unsigned size, uint64_t value) {
  const unsigned lo = 8 * byte, hi = lo + 8 * size - 1;
  return bits::deposit(old, hi, lo, value);
}

// A read of `size` bytes at byte `byte` (0..7) inside a 64-bit register holding `reg`.
constexpr uint64_t extract_read(uint64_t reg, unsigned byte, unsigned size) {
  const unsigned lo = 8 * byte, hi = lo + 8 * size - 1;
  return bits::extract(reg, hi, lo);
}

}  // namespace irqremap
