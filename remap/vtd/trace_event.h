#pragma once
// Builds the unit's trace events ("vtd" as the unit) with optional test values.
#include <string>
#include <utility>
#include <vector>

#include "remap/trace.h"

namespace irqremap::vtd {

inline Event ev(EventKind kind, std::string_view unit, std::string text,
                std::vector<std::pair<std::string, uint64_t>> values = {}) {
  return Event{kind, std::string(unit), std::move(text), std::move(values)};
}

}  // namespace irqremap::vtd
