#include "guest-fw/firmware.h"

#include <algorithm>

namespace irqremap::guestfw {

std::span<const Firmware> all() { return embedded(); }

const Firmware* find(std::string_view name) {
  auto fw = all();
  auto it = std::find_if(fw.begin(), fw.end(), [&](const Firmware& f) { return f.name == name; });
  return it == fw.end() ? nullptr : &*it;
}

std::string_view build_dir() { return IRQREMAP_GUESTFW_DIR; }

}  // namespace irqremap::guestfw
