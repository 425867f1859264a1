#include "remap/remapper.h"

#include <fmt/format.h>

namespace irqremap {

namespace {
std::string_view dlm_name(uint8_t dlm) {
  switch (dlm) {
    case 0: return "Fixed";
    case 1: return "LowPri";
    case 2: return "SMI";
    case 4: return "NMI";
    case 5: return "INIT";
    case 7: return "ExtINT";
    default: return "reserved";
  }
}

struct Describe {
  std::string operator()(const ApicDelivery& d) const {
    return fmt::format("delivered dest={:#x} vector={:#x} dm={} dlm={} tm={}{}", d.dest, d.vector,
                       d.dest_logical ? "logical" : "physical", dlm_name(d.delivery_mode),
                       d.level ? "level" : "edge", d.remapped ? "" : " (compatibility format)");
  }
  std::string operator()(const PostedDelivery& p) const {
    return fmt::format("posted pd={:#x} vector={:#x} notified={}{}", p.descriptor, p.vector,
                       p.notified ? "yes" : "no",
                       p.notified ? fmt::format(" nv={:#x} ndst={:#x}", p.nv, p.ndst) : "");
  }
  std::string operator()(const LpiDelivery& l) const {
    return fmt::format("delivered rd={} lpi={}", l.rd, l.intid);
  }
  std::string operator()(const Blocked& b) const { return b.what; }
};
}  // namespace

std::string describe(const Translation& t) { return std::visit(Describe{}, t); }

}  // namespace irqremap
