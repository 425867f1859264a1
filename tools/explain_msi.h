#pragma once
// `explain msi`: what a whole MSI means to the remapping unit of each architecture.
#include <cstdint>
#include <optional>

#include "tools/cli.h"

namespace irqremap::cli {

struct MsiQuery {
  uint64_t address = 0;
  uint32_t data = 0;
  std::optional<uint32_t> device_id;
  bool eime = false;
};

int explain_msi_x86(const MsiQuery& q, bool json, Io io);
int explain_msi_arm64(const MsiQuery& q, bool json, Io io);

}  // namespace irqremap::cli
