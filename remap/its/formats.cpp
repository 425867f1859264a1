#include "remap/its/formats.h"

#include <array>

#include "remap/its/command_format.h"
#include "remap/its/lpi_format.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

namespace irqremap::its {

std::span<const fields::Format* const> formats() {
  static constexpr std::array<const fields::Format*, 26> all{
      &cmd::kCommand,    &cmd::kMapd,     &cmd::kMapc,      &cmd::kMapti,    &cmd::kMapi,
      &cmd::kMovi,       &cmd::kMovall,   &cmd::kDiscard,   &cmd::kInv,      &cmd::kInvall,
      &cmd::kSync,       &cmd::kInt,      &cmd::kClear,     &reg::kCtlr,     &reg::kTyper,
      &reg::kCbaser,     &reg::kCwriter,  &reg::kCreadr,    &reg::kBaser,    &table::kDte,
      &table::kIte,      &table::kCte,    &table::kL1,      &lpi::kPropbaser, &lpi::kPendbaser,
      &lpi::kConfig};
  return all;
}

}  // namespace irqremap::its
