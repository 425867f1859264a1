#pragma once
// QEMU's `-kernel` boot protocol for the virt machine (QEMU 7.2 hw/arm/boot.c; measured
// on qemu-system-aarch64 7.2 with a probe that prints x0 and reads the tree's magic):
//
//  - A Linux kernel (an arm64 Image, linux_image.h, or a raw image, which QEMU takes for
//    one) is entered at its first byte at EL1h, MMU off, DAIF masked, with x0 = the
//    device tree's physical address and x1 = x2 = x3 = 0 (Linux Documentation/arch/arm64/
//    booting.rst §4). A raw image loads at RAM base + 0x8_0000; an Image at RAM base +
//    text_offset (+ 2 MiB below 4 KiB: 0x4020_0000 for Linux 5.8 and later).
//  - After the kernel comes the initrd (QEMU -initrd, irqremap --initrd): at RAM base +
//    min(RAM / 2, 128 MiB), or at the kernel's end if that is higher, rounded up to 4 KiB
//    (QEMU's TARGET_PAGE_ALIGN). Then the tree, at the next 2 MiB boundary after the
//    initrd's end (the same address when there is none): 0x4400_0000 for 128 MiB of RAM,
//    0x4800_0000 for 256 MiB or more, past the kernel (2 MiB aligned) if that is higher.
//    The tree's /chosen gets linux,initrd-start and linux,initrd-end (fdt_virt.h).
//  - An ELF is not a Linux kernel: CPU 0 enters at e_entry with x0 = 0, and QEMU ignores
//    -initrd for it (irqremap refuses --initrd instead). The tree still
//    goes into the guest: at RAM base when the whole image lies above RAM base and the
//    tree fits below it, or lies wholly below RAM base; else (the image spans RAM base,
//    like an lld-linked ELF whose headers land in flash at 0x20_0000) at address 0, in
//    flash bank 0. An image above RAM base leaving too little room below it gets no tree.
//  - A tree that overlaps a loaded segment is refused, as QEMU refuses overlapping ROM
//    blobs ("rom: requested regions overlap") and does not start.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace irqremap::arm64 {

struct ImageSpan {
  bool elf = false;
  uint64_t low = 0;   // lowest loaded guest-physical address
  uint64_t high = 0;  // one past the highest (for an Image: load + image_size)
};

struct BootPlacement {
  std::optional<uint64_t> fdt;     // where the tree goes; none when it does not fit
  uint64_t x0 = 0;                 // CPU 0's x0 at entry
  std::optional<uint64_t> initrd;  // where the initrd goes; none without one
};

// Where QEMU puts the initrd (`initrd_size` bytes, none without --initrd; an empty one
// takes no room and gets no /chosen properties, as on QEMU) and the tree for this image
// and RAM size, and what x0 holds; an error when the initrd or the tree does not fit in
// RAM, the tree would overlap the image, or an ELF comes with an initrd.
std::expected<BootPlacement, std::string> place_boot_fdt(const ImageSpan& image, uint64_t ram_size,
                                                         uint64_t fdt_size,
                                                         std::optional<uint64_t> initrd_size = std::nullopt);

}  // namespace irqremap::arm64
