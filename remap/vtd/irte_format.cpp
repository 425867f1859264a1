#include "remap/vtd/irte_format.h"

#include <fmt/format.h>

namespace irqremap::vtd::irte {

void check_remapped(const fields::Decoded& d, const fields::Context& ctx,
                    std::vector<fields::Problem>& out) {
  if (!ctx.eime && (d.words[0] & kXapicDstReserved) != 0)
    out.push_back({"DST", fmt::format("xAPIC destination (IRTA.EIME=0) uses only DST bits 47:40; "
                                      "bits 39:32 and 63:48 are reserved but hold {:#x}",
                                      (d.words[0] & kXapicDstReserved) >> 32)});
}

const fields::Format* select(std::span<const uint64_t> words) {
  return fields::get(words, IM_POSTED) ? &kPosted : &kRemapped;
}

}  // namespace irqremap::vtd::irte
