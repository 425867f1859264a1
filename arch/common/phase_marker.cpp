#include "arch/common/phase_marker.h"

#include <fmt/format.h>

namespace irqremap::arch::phase_marker {

std::string read_name(const GuestMemory& mem, uint64_t address) {
  std::string name;
  for (size_t i = 0; i < kMaxName; ++i) {
    auto c = mem.read8(address + i);
    if (!c) return name.empty() ? "?" : name;
    if (*c == 0) break;
    // Printable ASCII only: the name lands in JSON and SVG text.
    name += (*c >= 0x20 && *c < 0x7F) ? char(*c) : '?';
  }
  return name.empty() ? "?" : name;
}

Event begin(unsigned cpu, std::string name) {
  return Event{EventKind::Note, fmt::format("cpu{}", cpu), "phase begin: " + name, {{"phase", 1}}};
}

Event end(unsigned cpu) { return Event{EventKind::Note, fmt::format("cpu{}", cpu), "phase end", {{"phase", 0}}}; }

}  // namespace irqremap::arch::phase_marker
