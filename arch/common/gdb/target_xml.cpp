#include <fmt/format.h>

#include "arch/common/gdb/target.h"

namespace irqremap::gdb {

// GDB manual E.2 "Target Description Format": <target> with <architecture>, then one
// <feature> per feature name holding its types and registers. Everything is inline in one
// document, so gdb asks for target.xml only.
std::string target_xml(const TargetDescription& d) {
  std::string out = "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n";
  out += fmt::format("<architecture>{}</architecture>\n", d.architecture);
  std::string_view open;
  for (std::size_t i = 0; i < d.regs.size(); ++i) {
    const RegisterDesc& r = d.regs[i];
    if (r.feature != open) {
      if (!open.empty()) out += "</feature>\n";
      open = r.feature;
      out += fmt::format("<feature name=\"{}\">\n", open);
      for (const auto& [feature, types] : d.feature_types)
        if (feature == open) out += types;
    }
    out += fmt::format("<reg name=\"{}\" bitsize=\"{}\" type=\"{}\" regnum=\"{}\"{}/>\n", r.name, r.bits, r.type, i,
                       r.group.empty() ? std::string() : fmt::format(" group=\"{}\"", r.group));
  }
  if (!open.empty()) out += "</feature>\n";
  return out + "</target>\n";
}

}  // namespace irqremap::gdb
