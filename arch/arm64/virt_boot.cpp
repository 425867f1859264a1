#include "arch/arm64/virt_boot.h"

#include <fmt/format.h>

#include <algorithm>

#include "arch/arm64/virt_map.h"

namespace irqremap::arm64 {

std::expected<BootPlacement, std::string> place_boot_fdt(const ImageSpan& image, uint64_t ram_size,
                                                         uint64_t fdt_size) {
  BootPlacement p;
  if (!image.elf) {
    // A Linux kernel's tree: at RAM base + min(RAM / 2, 128 MiB), or past an image that
    // reaches beyond that, rounded up to 2 MiB (measured: a 70 MiB image with -m 128 puts
    // it at 0x4480_0000).
    constexpr uint64_t k2MiB = 0x20'0000;
    uint64_t at = virt::kRamBase + std::min<uint64_t>(ram_size / 2, 128ull << 20);
    at = std::max(at, (image.high + k2MiB - 1) & ~(k2MiB - 1));
    if (at + fdt_size > virt::kRamBase + ram_size)
      return std::unexpected(fmt::format("the device tree ({:#x} bytes) does not fit in RAM after the image (ends at {:#x})",
                                         fdt_size, image.high));
    p.fdt = at;
    p.x0 = at;
  } else if (image.low > virt::kRamBase) {
    // Room at the base of RAM below the image: the tree goes there if it fits.
    if (fdt_size <= image.low - virt::kRamBase) p.fdt = virt::kRamBase;
  } else if (image.high <= virt::kRamBase) {
    p.fdt = virt::kRamBase;
  } else {
    p.fdt = 0;  // the image spans RAM base: QEMU's tree address stays 0 (flash bank 0)
  }
  if (p.fdt && *p.fdt < image.high && image.low < *p.fdt + fdt_size)
    return std::unexpected(fmt::format(
        "the device tree at {:#x} ({:#x} bytes, where QEMU virt puts it for this image) overlaps the image "
        "at {:#x}..{:#x}",
        *p.fdt, fdt_size, image.low, image.high));
  return p;
}

}  // namespace irqremap::arm64
