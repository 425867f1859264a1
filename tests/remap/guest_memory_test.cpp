// GuestMemory's access contract (remap/guest_memory.h): checked, never undefined behaviour.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <span>

#include "remap/guest_memory.h"

namespace irqremap {

TEST_CASE("guest memory: an empty read or write succeeds anywhere and touches no byte") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x1000, 0x1000, "ram"));
  REQUIRE(mem.add_rom(0x4000, 0x1000, "rom"));
  REQUIRE(mem.write32(0x1000, 0xA5A5'A5A5));
  // A default span has a null data(): this is what reached memcpy(nullptr, p, 0) (issue 14).
  std::span<std::byte> none;
  REQUIRE(none.data() == nullptr);
  CHECK(mem.read(0x1000, none).has_value());
  CHECK(mem.read(0xDEAD'0000, none).has_value());       // outside RAM
  CHECK(mem.write(0x1000, std::span<const std::byte>{}).has_value());
  CHECK(mem.write(0x4000, std::span<const std::byte>{}).has_value());  // ROM
  CHECK(mem.write(0xDEAD'0000, std::span<const std::byte>{}).has_value());
  CHECK(*mem.read32(0x1000) == 0xA5A5'A5A5);
  // A non-empty access still faults where it did.
  std::array<std::byte, 1> one{};
  auto r = mem.read(0xDEAD'0000, one);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().size == 1);
  CHECK_FALSE(mem.write(0x4000, one).has_value());
}

TEST_CASE("guest memory: zero() clears exactly its range, whole pages and the partial ones at either end, "
          "in RAM and ROM") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x10'0000, 0x8000, "ram"));
  REQUIRE(mem.add_rom(0x20'0000, 0x4000, "rom"));
  std::byte* ram = mem.host_ptr(0x10'0000, 0x8000);
  std::byte* rom = mem.host_ptr(0x20'0000, 0x4000);
  std::memset(ram, 0x5A, 0x8000);
  std::memset(rom, 0x5A, 0x4000);
  // From the middle of page 0 to the middle of page 5: pages 1 to 4 are whole.
  REQUIRE(mem.zero(0x10'0800, 0x5000));
  uint64_t wrong = 0;  // the first byte that is not what it should be
  for (uint64_t pa = 0x10'0000; pa < 0x10'8000 && wrong == 0; ++pa)
    if (*mem.read8(pa) != ((pa >= 0x10'0800 && pa < 0x10'5800) ? 0 : 0x5A)) wrong = pa;
  CHECK(wrong == 0);
  REQUIRE(mem.zero(0x20'0001, 2));  // inside one page, in ROM (a loader's access)
  CHECK(*mem.read32(0x20'0000) == 0x5A00'005Au);
  CHECK(mem.zero(0x10'7FFF, 0));                 // empty: nothing to clear
  CHECK_FALSE(mem.zero(0x10'7000, 0x2000));      // runs past the RAM region
  CHECK_FALSE(mem.zero(0xDEAD'0000, 1));
  CHECK(*mem.read8(0x10'7FFF) == 0x5A);
}

}  // namespace irqremap
