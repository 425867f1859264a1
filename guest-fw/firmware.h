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

// Every stub built from guest-fw/<arch>/<name>/, sorted by arch then name.
std::span<const Firmware> all();
// The stub called "<arch>/<name>", or nullptr.
const Firmware* find(std::string_view name);
// Where the build left the ELF files ("<arch>-<name>.elf"), for qemu-system-* runs.
std::string_view build_dir();

// The generated table (guest-fw/cmake/embedded.cpp.in).
std::span<const Firmware> embedded();

}  // namespace irqremap::guestfw
