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

TEST_CASE("boot: an odd RAM size puts the tree on a 2 MiB boundary after RAM/2, as QEMU 7.2 (page, then 2 MiB align)") {
  // 3 MiB of RAM: RAM/2 is 1.5 MiB, so the initrd would start at 0x4018_0000 and the tree
  // at the next 2 MiB boundary, 0x4020_0000 (the old rule put it at 0x4018_0000).
  auto p = place_boot_fdt(raw(0x1000), 3 * MiB, kVirtFdtSize);
  REQUIRE(p);
  CHECK(p->fdt == 0x4020'0000ull);
}

TEST_CASE("boot: the initrd goes at RAM base + min(RAM/2, 128 MiB), the tree at the next 2 MiB after it") {
  auto p = place_boot_fdt(raw(0x2'0000), 128 * MiB, kVirtFdtSize, 0x30'0001);
  REQUIRE(p);
  CHECK(p->initrd == 0x4400'0000ull);
  CHECK(p->fdt == 0x4440'0000ull);  // 0x4430_0001 rounded up to 2 MiB
  CHECK(p->x0 == 0x4440'0000ull);
  // Past a kernel that reaches beyond RAM/2: at its end, page aligned (QEMU's
  // TARGET_PAGE_ALIGN), not 2 MiB aligned.
  auto past = place_boot_fdt({false, 0x4020'0000, 0x4468'0123}, 128 * MiB, kVirtFdtSize, 0x1000);
  REQUIRE(past);
  CHECK(past->initrd == 0x4468'1000ull);
  CHECK(past->fdt == 0x4480'0000ull);
  // An empty initrd takes no room and gets no /chosen properties, as on QEMU.
  auto empty = place_boot_fdt(raw(0x2'0000), 128 * MiB, kVirtFdtSize, 0);
  REQUIRE(empty);
  CHECK(!empty->initrd);
  CHECK(empty->fdt == 0x4400'0000ull);
}

TEST_CASE("boot: an initrd that does not fit in RAM after the kernel, or leaves no room for the tree, is refused") {
  auto big = place_boot_fdt(raw(0x2'0000), 128 * MiB, kVirtFdtSize, 65 * MiB);  // 0x4400_0000 + 65 MiB > RAM end
  REQUIRE(!big);
  CHECK(big.error().find("does not fit in RAM after the kernel") != std::string::npos);
  CHECK(big.error().find("--mem") != std::string::npos);
  auto huge = place_boot_fdt(raw(0x2'0000), 128 * MiB, kVirtFdtSize, ~0ull);
  REQUIRE(!huge);
  auto no_tree = place_boot_fdt(raw(0x2'0000), 128 * MiB, kVirtFdtSize, 63 * MiB);
  REQUIRE(!no_tree);
  CHECK(no_tree.error().find("device tree") != std::string::npos);
}

TEST_CASE("boot: an initrd reaching past 4 GiB is refused: QEMU 7.2's linux,initrd-end is one cell") {
  auto p = place_boot_fdt({false, 0x4020'0000, 0xF000'0000}, 8192 * MiB, kVirtFdtSize, 0x1000'0000);
  REQUIRE(!p);
  CHECK(p.error().find("4 GiB") != std::string::npos);
}

TEST_CASE("boot: --initrd with an ELF is refused (QEMU 7.2 loads -initrd only for a Linux kernel)") {
  auto p = place_boot_fdt({true, 0x4020'0000, 0x4021'0000}, 128 * MiB, kVirtFdtSize, 0x1000);
  REQUIRE(!p);
  CHECK(p.error().find("not an ELF") != std::string::npos);
}
