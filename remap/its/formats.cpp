#include "remap/its/formats.h"

#include <array>

#include "remap/its/command_format.h"

namespace irqremap::its {

std::span<const fields::Format* const> formats() {
  static constexpr std::array<const fields::Format*, 1> all{&cmd::kMapti};
  return all;
}

}  // namespace irqremap::its
