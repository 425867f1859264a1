#include "arch/arm64/virt_boot.h"

#include <fmt/format.h>

#include <algorithm>

#include "arch/arm64/virt_map.h"

namespace irqremap::arm64 {

namespace {

constexpr uint64_t k4KiB = 0x1000, k2MiB = 0x20'0000;
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace

std::expected<BootPlacement, std::string> place_boot_fdt(const ImageSpan& image, uint64_t ram_size,
                                                         uint64_t fdt_size, std::optional<uint64_t> initrd_size) {
  BootPlacement p;
  const uint64_t ram_end = virt::kRamBase + ram_size;
  if (!image.elf) {
    // A Linux kernel (QEMU 7.2 arm_setup_direct_kernel_boot): the initrd at RAM base +
    // min(RAM / 2, 128 MiB) or past the kernel, page aligned; the tree at the next 2 MiB
    // boundary after the initrd (measured: a 70 MiB image with -m 128 puts it at
    // 0x4480_0000). The image lies in RAM, so none of this wraps.
    const uint64_t initrd_at =
        align_up(std::max(virt::kRamBase + std::min<uint64_t>(ram_size / 2, 128ull << 20), image.high), k4KiB);
    const uint64_t initrd = initrd_size.value_or(0);
    if (initrd != 0) {
      if (initrd_at >= ram_end || initrd > ram_end - initrd_at)
        return std::unexpected(fmt::format(
            "the initrd ({:#x} bytes) does not fit in RAM after the kernel: it would go at {:#x}, and RAM ends at "
            "{:#x} ({} MiB); give --mem more",
            initrd, initrd_at, ram_end, ram_size >> 20));
      // QEMU 7.2 writes linux,initrd-start/-end as one cell each (fdt_virt.h).
      if (initrd_at + initrd > 0xFFFF'FFFFull)
        return std::unexpected(fmt::format(
            "the initrd would end at {:#x}, above 4 GiB, which the one-cell /chosen/linux,initrd-end of QEMU 7.2 "
            "cannot hold",
            initrd_at + initrd));
      p.initrd = initrd_at;
    }
    const uint64_t at = align_up(initrd_at + initrd, k2MiB);
    if (at >= ram_end || fdt_size > ram_end - at)
      return std::unexpected(fmt::format("the device tree ({:#x} bytes) does not fit in RAM after the {} (ends at {:#x})",
                                         fdt_size, initrd != 0 ? "initrd" : "image",
                                         initrd != 0 ? initrd_at + initrd : image.high));
    p.fdt = at;
    p.x0 = at;
  } else if (initrd_size) {
    return std::unexpected(
        "--initrd goes with a Linux kernel (an arm64 Image or a raw image), not an ELF: an ELF is entered at e_entry "
        "with x0 = 0, not by the Linux boot protocol (QEMU 7.2 loads -initrd only for a Linux kernel)");
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
