#pragma once
// Building x86 guest code from byte pieces in the x86 tests.
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace x86test {

// The pieces one after another.
inline std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// mov r64, imm64 (REX.W B8+r; REX.B for r8-r15).
inline std::vector<uint8_t> mov64(unsigned reg, uint64_t v) {
  std::vector<uint8_t> b{uint8_t(0x48 | (reg >= 8 ? 1 : 0)), uint8_t(0xB8 + (reg & 7))};
  for (unsigned i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
  return b;
}

}  // namespace x86test
