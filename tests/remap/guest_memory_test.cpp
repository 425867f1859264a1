// GuestMemory's access contract (remap/guest_memory.h): checked, never undefined behaviour.
#include <doctest/doctest.h>

#include <array>
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

}  // namespace irqremap
