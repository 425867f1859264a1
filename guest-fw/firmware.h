#pragma once
// The registry of guest firmware stubs built from guest-fw/ at build time.
#include <cstddef>
#include <span>
#include <string_view>

namespace irqremap::guestfw {

struct Firmware {
  std::string_view name;         // "arm64/its-migrate"
  std::string_view arch;         // "arm64" or "x86"
  std::string_view description;  // one line: what the stub does
  std::span<const std::byte> elf;
};

std::span<const Firmware> all();
const Firmware* find(std::string_view name);

}  // namespace irqremap::guestfw
