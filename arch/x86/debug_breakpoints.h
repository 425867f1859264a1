#pragma once
// DR7's data and I/O breakpoints (SDM vol. 3A §18.2.4, §18.2.5), decoded from DR7 and
// DR0-DR3 and matched against an access; pure, no Unicorn. The vCPU (x86_vcpu.h) sees the
// guest's accesses through a memory hook and IN/OUT, and raises the #DB trap after the
// instruction (§18.3.1.2). Instruction breakpoints (R/W = 00) are the vCPU's trap sites.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace irqremap::x86 {

// R/Wn (§18.2.4): 00 instruction execution, 01 data writes, 10 I/O reads or writes (only
// with CR4.DE = 1; undefined otherwise), 11 data reads or writes but not fetches.
enum class BreakOn : uint8_t { Execute = 0, Write = 1, Io = 2, ReadWrite = 3 };

struct DataBreakpoint {
  unsigned n = 0;  // DRn: the B<n> bit of DR6 it sets
  BreakOn on = BreakOn::Write;
  uint64_t first = 0, last = 0;  // the bytes (or ports) it watches
};

inline constexpr uint64_t kDr7GD = 1u << 13;  // general detect (§18.2.4)
inline constexpr uint64_t kDr6BD = 1u << 13;  // DR6.BD: a MOV DR with GD set (§18.2.3)

// LENn (§18.2.4): 00 one byte, 01 two, 11 four, 10 eight (processors with Intel 64).
constexpr uint64_t breakpoint_length(unsigned len) {
  constexpr uint64_t kBytes[4] = {1, 2, 8, 4};
  return kBytes[len & 3];
}

// The enabled (Ln or Gn) breakpoints whose R/Wn is not 00. §18.2.5: a breakpoint of LEN
// bytes watches the LEN-aligned range holding DRn (the processor ignores DRn's low-order
// bits below the length).
inline std::vector<DataBreakpoint> data_breakpoints(uint64_t dr7, const std::array<uint64_t, 4>& dr) {
  std::vector<DataBreakpoint> out;
  for (unsigned n = 0; n < 4; ++n) {
    if ((dr7 >> (2 * n) & 3) == 0) continue;
    const auto on = BreakOn(dr7 >> (16 + 4 * n) & 3);
    if (on == BreakOn::Execute) continue;
    const uint64_t len = breakpoint_length(unsigned(dr7 >> (18 + 4 * n)) & 3);
    const uint64_t first = dr[n] & ~(len - 1);
    out.push_back({n, on, first, first + len - 1});
  }
  return out;
}

// DR6.B0-B3 for a data access of `size` bytes at `address`: §18.2.5, a breakpoint
// matches when any byte of the access lies in its range.
inline uint8_t data_hits(std::span<const DataBreakpoint> bps, uint64_t address, unsigned size, bool write) {
  uint8_t hits = 0;
  const uint64_t last = address + (size == 0 ? 0 : size - 1);
  for (const DataBreakpoint& b : bps) {
    if (b.on == BreakOn::Io || (b.on == BreakOn::Write && !write)) continue;
    if (address <= b.last && last >= b.first) hits |= uint8_t(1u << b.n);
  }
  return hits;
}

// The same for an I/O access of `size` bytes at `port` (R/W = 10, only with CR4.DE = 1).
inline uint8_t io_hits(std::span<const DataBreakpoint> bps, uint16_t port, unsigned size) {
  uint8_t hits = 0;
  const uint64_t last = uint64_t(port) + (size == 0 ? 0 : size - 1);
  for (const DataBreakpoint& b : bps)
    if (b.on == BreakOn::Io && port <= b.last && last >= b.first) hits |= uint8_t(1u << b.n);
  return hits;
}

}  // namespace irqremap::x86
