#include "arch/arm64/linux_image.h"

#include <fmt/format.h>

#include <algorithm>

#include "remap/bits.h"

namespace irqremap::arm64 {

namespace {

constexpr uint64_t kTextOffsetAt = 0x08, kImageSizeAt = 0x10, kFlagsAt = 0x18;
constexpr uint64_t k2MiB = 0x20'0000;
// QEMU 7.2 hw/arm/boot.c BOOTLOADER_MAX_SIZE: its boot loader stub occupies the start of
// RAM, so an Image whose text_offset would put it there moves up one 2 MiB step.
constexpr uint64_t kBootLoaderMaxSize = 0x1000;

uint64_t le64_at(std::span<const std::byte> f, uint64_t at) {
  return bits::load_le<uint64_t>(f.data() + at);
}

ImageHeaderError error(ImageError kind, std::string message) { return ImageHeaderError{kind, std::move(message)}; }

}  // namespace

std::expected<std::optional<LinuxImageHeader>, ImageHeaderError> parse_linux_image(std::span<const std::byte> file) {
  // RFC 1952 §2.3.1: a gzip member starts with ID1 = 0x1f, ID2 = 0x8b.
  if (file.size() >= 2 && file[0] == std::byte{0x1f} && file[1] == std::byte{0x8b})
    return std::unexpected(error(ImageError::Gzip,
                                 "a gzip-compressed file (an Image.gz?): irqremap loads the uncompressed Image; "
                                 "run `gunzip` on it first (booting.rst leaves decompression to the boot loader)"));
  if (file.size() < kImageMagicOffset + 4) return std::optional<LinuxImageHeader>{};
  const uint32_t magic = bits::load_le<uint32_t>(file.data() + kImageMagicOffset);
  if (magic != kImageMagic) return std::optional<LinuxImageHeader>{};  // no Image: a raw image
  if (file.size() < kImageHeaderSize)
    return std::unexpected(error(ImageError::Truncated,
                                 fmt::format("a Linux arm64 Image header (magic \"ARM\\x64\" at 0x38) cut short: "
                                             "the file has {} bytes, the header {}",
                                             file.size(), kImageHeaderSize)));
  LinuxImageHeader h;
  h.image_size = le64_at(file, kImageSizeAt);
  h.flags = le64_at(file, kFlagsAt);
  // Before v3.17 image_size is 0 and text_offset is 0x80000 in the kernel's endianness.
  h.text_offset = h.image_size == 0 ? kLegacyTextOffset : le64_at(file, kTextOffsetAt);
  if (h.big_endian())
    return std::unexpected(error(ImageError::BigEndian,
                                 "a big-endian Linux arm64 Image (flags bit 0): the machine runs little-endian "
                                 "kernels only (build one with CONFIG_CPU_LITTLE_ENDIAN)"));
  // The entry is the image's first byte; an A64 instruction fetch from an address that is
  // not a multiple of 4 takes a PC alignment fault (Arm ARM D1.3.4, "PC alignment checking").
  if (h.text_offset % 4 != 0)
    return std::unexpected(error(ImageError::Misaligned,
                                 fmt::format("a Linux arm64 Image with text_offset {:#x}: not a multiple of 4, so "
                                             "its first instruction would be misaligned",
                                             h.text_offset)));
  return h;
}

std::expected<ImagePlacement, ImageHeaderError> place_linux_image(const LinuxImageHeader& header, uint64_t file_size,
                                                                  uint64_t ram_base, uint64_t ram_size) {
  // ID_AA64MMFR0_EL1.TGran16 reads 0b0000, "16KB granule not supported", on the Cortex-A57
  // (Cortex-A57 MPCore TRM, ID_AA64MMFR0_EL1; Unicorn's model too): a kernel built for 16
  // KiB pages stops in its early boot code before it prints anything.
  if (header.page_size() == ImagePageSize::K16)
    return std::unexpected(error(ImageError::UnsupportedPageSize,
                                 "a Linux arm64 Image built for 16 KiB pages (flags bits 2:1 = 2): the Cortex-A57 "
                                 "has only the 4 KiB and 64 KiB translation granules"));
  uint64_t offset = header.text_offset;
  if (offset < kBootLoaderMaxSize) offset += k2MiB;
  const uint64_t size = std::max(header.image_size, file_size);
  // Overflow-free: offset and size are compared with what RAM has left, never added blindly.
  if (offset >= ram_size || size > ram_size - offset)
    return std::unexpected(error(
        ImageError::TooBig,
        fmt::format("a Linux arm64 Image of {:#x} bytes (image_size {:#x}, file {:#x}) at RAM base + {:#x} "
                    "(text_offset {:#x}{}) does not fit in the {} MiB of RAM at {:#x}; give --mem more",
                    size, header.image_size, file_size, offset, header.text_offset,
                    offset != header.text_offset ? " + 2 MiB" : "", ram_size >> 20, ram_base)));
  return ImagePlacement{ram_base + offset, ram_base + offset + size};
}

}  // namespace irqremap::arm64
