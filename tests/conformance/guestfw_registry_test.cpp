// The guest firmware pipeline: every stub under guest-fw/<arch>/<name>/ is compiled at
// build time and embedded as an ELF64 image whose machine and entry point match its arch.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "guest-fw/firmware.h"

using irqremap::guestfw::Firmware;

namespace {

uint16_t u16(const Firmware& fw, std::size_t off) {
  uint16_t v;
  std::memcpy(&v, fw.elf.data() + off, sizeof v);
  return v;
}
uint64_t u64(const Firmware& fw, std::size_t off) {
  uint64_t v;
  std::memcpy(&v, fw.elf.data() + off, sizeof v);
  return v;
}

}  // namespace

TEST_CASE("guest-fw: each embedded stub is an ELF64 little-endian executable for its arch") {
  REQUIRE(!irqremap::guestfw::all().empty());
  for (const Firmware& fw : irqremap::guestfw::all()) {
    CAPTURE(fw.name);
    REQUIRE(fw.elf.size() > 64);
    CHECK(std::memcmp(fw.elf.data(), "\x7f" "ELF", 4) == 0);
    CHECK(static_cast<unsigned>(fw.elf[4]) == 2);  // ELFCLASS64
    CHECK(static_cast<unsigned>(fw.elf[5]) == 1);  // ELFDATA2LSB
    CHECK(u16(fw, 16) == 2);                       // ET_EXEC
    CHECK(!fw.description.empty());
    CHECK(fw.name.starts_with(std::string(fw.arch) + "/"));
    if (fw.arch == "arm64") {
      CHECK(u16(fw, 18) == 183);  // EM_AARCH64
      CHECK(u64(fw, 24) == 0x40080000);  // e_entry: QEMU virt -kernel load address
    } else {
      CHECK(fw.arch == "x86");
      CHECK(u16(fw, 18) == 62);  // EM_X86_64
      CHECK(u64(fw, 24) == 0x100000);
    }
  }
}

TEST_CASE("guest-fw: find() looks stubs up by arch/name and the ELF file is left in the build") {
  const Firmware* hello = irqremap::guestfw::find("arm64/uart-hello");
  REQUIRE(hello != nullptr);
  CHECK(hello->arch == "arm64");
  CHECK(irqremap::guestfw::find("arm64/no-such-stub") == nullptr);
  std::ifstream file(std::string(irqremap::guestfw::build_dir()) + "/arm64-uart-hello.elf",
                     std::ios::binary | std::ios::ate);
  REQUIRE(file.good());
  CHECK(static_cast<std::size_t>(file.tellg()) == hello->elf.size());
}
