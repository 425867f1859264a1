#pragma once
// The differential check of the its and vtd targets: one input run with the unit's cache
// and without it, and what each run showed the outside compared (tests/fuzz/README.md,
// "Oracles"). A difference is named on stderr, then the run traps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/remapper.h"

namespace irqremap::fuzz {

// What one run showed: every MSI's translation in order, other answers and the final
// state as numbers, and the guest RAM, kept rather than copied (a copy costs more than
// the run).
struct Observed {
  std::vector<Translation> msis;
  std::vector<uint64_t> values;
  std::unique_ptr<GuestMemory> mem;
};

[[noreturn]] inline void differ(const char* unit, const char* what, std::size_t at, const std::string& cached,
                                const std::string& walked) {
  std::fprintf(stderr, "%s: cache on and off differ at %s #%zu:\n  cache on:  %s\n  cache off: %s\n", unit, what,
               at, cached.c_str(), walked.c_str());
  __builtin_trap();
}

// Whether an access of `size` bytes at `off` touches any byte of the `bytes`-byte register
// at `reg`: the register writes after which (or instead of which) a differential run acts.
inline bool reaches(uint64_t off, unsigned size, uint64_t reg, unsigned bytes) {
  return off < reg + bytes && off + size > reg;
}

// `unit` names the target in the message; RAM is compared over [ram, ram + bytes).
inline void compare(const char* unit, const Observed& on, const Observed& off, uint64_t ram, uint64_t bytes) {
  for (std::size_t i = 0; i < std::min(on.msis.size(), off.msis.size()); ++i)
    if (!(on.msis[i] == off.msis[i])) differ(unit, "MSI", i, describe(on.msis[i]), describe(off.msis[i]));
  if (on.msis.size() != off.msis.size())
    differ(unit, "MSI count", 0, std::to_string(on.msis.size()), std::to_string(off.msis.size()));
  for (std::size_t i = 0; i < std::min(on.values.size(), off.values.size()); ++i)
    if (on.values[i] != off.values[i])
      differ(unit, "value", i, std::to_string(on.values[i]), std::to_string(off.values[i]));
  if (on.values.size() != off.values.size())
    differ(unit, "value count", 0, std::to_string(on.values.size()), std::to_string(off.values.size()));
  const std::byte* a = on.mem->host_ptr(ram, bytes);
  const std::byte* b = off.mem->host_ptr(ram, bytes);
  if (std::memcmp(a, b, bytes) != 0) {
    const auto [x, y] = std::mismatch(a, a + bytes, b);
    differ(unit, "RAM byte", std::size_t(x - a), std::to_string(unsigned(*x)), std::to_string(unsigned(*y)));
  }
}

}  // namespace irqremap::fuzz
