#include "remap/vtd/formats.h"

#include <array>

#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"

namespace irqremap::vtd {

std::span<const fields::Format* const> formats() {
  static constexpr std::array<const fields::Format*, 7> all{
      &irte::kIrte,           &irte::kRemapped,   &irte::kPosted,   &msi::kAddrRemappable,
      &msi::kDataRemappable, &msi::kAddrCompat, &msi::kDataCompat};
  return all;
}

}  // namespace irqremap::vtd
