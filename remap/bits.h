#pragma once
// Bit and little-endian helpers. Every guest-memory format in this project is read and
// written through these: no bit-fields, unions or struct overlays (docs/DESIGN.md,
// "Conventions").
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace irqremap::bits {

// Mask with bits hi..lo set (spec notation "hi:lo"); hi - lo < 64.
constexpr uint64_t mask(unsigned hi, unsigned lo) {
  const unsigned width = hi - lo + 1;
  return (width >= 64 ? ~uint64_t{0} : ((uint64_t{1} << width) - 1)) << lo;
}

constexpr uint64_t extract(uint64_t value, unsigned hi, unsigned lo) {
  return (value & mask(hi, lo)) >> lo;
}

constexpr uint64_t deposit(uint64_t value, unsigned hi, unsigned lo, uint64_t field) {
  return (value & ~mask(hi, lo)) | ((field << lo) & mask(hi, lo));
}

constexpr bool fits(uint64_t field, unsigned width) {
  return width >= 64 || field < (uint64_t{1} << width);
}

template <typename T>
T load_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}

template <typename T>
void store_le(std::byte* p, T v) {
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  std::memcpy(p, &v, sizeof v);
}

// Little-endian value of 1..8 bytes.
inline uint64_t load_le_n(const std::byte* p, std::size_t n) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= uint64_t(std::to_integer<uint8_t>(p[i])) << (8 * i);
  return v;
}

inline void store_le_n(std::byte* p, std::size_t n, uint64_t v) {
  for (std::size_t i = 0; i < n; ++i) p[i] = std::byte(uint8_t(v >> (8 * i)));
}

}  // namespace irqremap::bits
