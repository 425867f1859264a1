// QEMU virt's -kernel boot protocol (arch/arm64/virt_boot.h): where the device tree goes
// and what x0 holds, as measured on qemu-system-aarch64 7.2.
#include <doctest/doctest.h>

#include "arch/arm64/fdt_virt.h"
#include "arch/arm64/virt_boot.h"

using namespace irqremap::arm64;

namespace {
constexpr uint64_t MiB = 1ull << 20;
ImageSpan raw(uint64_t size) { return {false, 0x4008'0000, 0x4008'0000 + size}; }
}  // namespace

TEST_CASE("boot: a raw image gets the tree at RAM base + min(RAM/2, 128 MiB) and x0 = its address") {
  for (auto [ram, at] : {std::pair{64 * MiB, 0x4200'0000ull}, {128 * MiB, 0x4400'0000ull},
                         {256 * MiB, 0x4800'0000ull}, {1024 * MiB, 0x4800'0000ull}}) {
    INFO((ram >> 20) << " MiB");
    auto p = place_boot_fdt(raw(0x2'0000), ram, kVirtFdtSize);
    REQUIRE(p);
    CHECK(p->fdt == at);
    CHECK(p->x0 == at);
  }
}

TEST_CASE("boot: a raw image reaching past RAM/2 pushes the tree past its end, 2 MiB aligned (QEMU: 0x4480_0000)") {
  auto p = place_boot_fdt(raw(0x460'0123), 128 * MiB, kVirtFdtSize);
  REQUIRE(p);
  CHECK(p->fdt == 0x4480'0000ull);
  CHECK(!place_boot_fdt(raw(0x7F0'0000), 128 * MiB, kVirtFdtSize));  // no room left in RAM
}

TEST_CASE("boot: an ELF starts with x0 = 0; the tree goes to address 0 (flash) when the ELF spans RAM base") {
  auto p = place_boot_fdt({true, 0x20'0000, 0x4008'0100}, 128 * MiB, kVirtFdtSize);
  REQUIRE(p);
  CHECK(p->fdt == 0ull);
  CHECK(p->x0 == 0);
}

TEST_CASE("boot: an ELF above RAM base gets the tree at RAM base only when it fits below the ELF") {
  auto tight = place_boot_fdt({true, 0x4008'0000, 0x4009'0000}, 128 * MiB, kVirtFdtSize);
  REQUIRE(tight);
  CHECK(!tight->fdt);  // 512 KiB below a 1 MiB tree: QEMU loads none
  auto roomy = place_boot_fdt({true, 0x4020'0000, 0x4021'0000}, 128 * MiB, kVirtFdtSize);
  REQUIRE(roomy);
  CHECK(roomy->fdt == 0x4000'0000ull);
  CHECK(roomy->x0 == 0);
  auto below = place_boot_fdt({true, 0x10'0000, 0x20'0000}, 128 * MiB, kVirtFdtSize);
  REQUIRE(below);
  CHECK(below->fdt == 0x4000'0000ull);
}

TEST_CASE("boot: a tree that would overlap the image is refused with the addresses (QEMU: rom regions overlap)") {
  auto p = place_boot_fdt({true, 0x8'0000, 0x4008'0100}, 128 * MiB, kVirtFdtSize);
  REQUIRE(!p);
  CHECK(p.error().find("overlaps the image at 0x80000") != std::string::npos);
}
