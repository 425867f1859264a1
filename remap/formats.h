#pragma once
// Every hardware format irqremap knows, for `irqremap explain`/`encode` and dumps.
#include <span>
#include <string_view>

#include "remap/fields.h"

namespace irqremap {

struct FormatGroup {
  std::string_view architecture;  // "x86 (VT-d)" or "arm64 (GICv3 ITS)"
  std::span<const fields::Format* const> formats;
};

std::span<const FormatGroup> all_format_groups();
// By CLI name (case-insensitive), or nullptr.
const fields::Format* find_format(std::string_view name);
// The same search over other groups (the CLI adds the machines' formats to these).
const fields::Format* find_format_in(std::span<const FormatGroup> groups, std::string_view name);

}  // namespace irqremap
