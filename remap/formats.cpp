#include "remap/formats.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "remap/its/formats.h"
#include "remap/vtd/formats.h"

namespace irqremap {

std::span<const FormatGroup> all_format_groups() {
  static const std::array<FormatGroup, 2> groups{{
      {"x86 (VT-d)", vtd::formats()},
      {"arm64 (GICv3 ITS)", its::formats()},
  }};
  return groups;
}

const fields::Format* find_format(std::string_view name) { return find_format_in(all_format_groups(), name); }

const fields::Format* find_format_in(std::span<const FormatGroup> groups, std::string_view name) {
  auto same = [name](std::string_view n) {
    return n.size() == name.size() &&
           std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  for (const FormatGroup& g : groups)
    for (const fields::Format* f : g.formats)
      if (same(f->name)) return f;
  return nullptr;
}

}  // namespace irqremap
