#pragma once
// The Linux arm64 Image header (Linux Documentation/arch/arm64/booting.rst §4 "Call the
// kernel image"), read from a --kernel file's first 64 bytes, and where QEMU 7.2's virt
// puts such an image (hw/arm/boot.c, load_aarch64_image). Pure functions: no guest
// memory here; Arm64Machine::load copies the bytes where place_linux_image says.
//
//   0x00 code0, code1   executable code (a branch to the kernel's entry code)
//   0x08 text_offset    image load offset from a 2 MiB aligned base, little endian
//   0x10 image_size     effective image size (with .bss), little endian; 0 before v3.17
//   0x18 flags          bit 0 big-endian kernel, bits 2:1 page size, bit 3 placement
//   0x20 res2..res4     reserved
//   0x38 magic          "ARM\x64" (0x644d5241 little endian)
//   0x3c res5           PE/COFF header offset (EFI)
//
// A file without the magic is not an Image: the machine loads it raw, at RAM base +
// 0x8_0000, as QEMU does. A gzip file (Image.gz) is refused: booting.rst §3 leaves
// decompression to the boot loader; QEMU 7.2 does it, irqremap asks the user to.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>

namespace irqremap::arm64 {

inline constexpr size_t kImageHeaderSize = 64;
inline constexpr size_t kImageMagicOffset = 0x38;
inline constexpr uint32_t kImageMagic = 0x644d'5241;  // "ARM\x64", little endian
// booting.rst: "Where image_size is zero, text_offset can be assumed to be 0x80000" (a
// kernel before v3.17, whose text_offset may be in the kernel's own endianness).
inline constexpr uint64_t kLegacyTextOffset = 0x8'0000;

enum class ImagePageSize { Unspecified = 0, K4 = 1, K16 = 2, K64 = 3 };

struct LinuxImageHeader {
  uint64_t text_offset = 0;  // as used: kLegacyTextOffset when image_size is 0
  uint64_t image_size = 0;   // 0: a kernel older than v3.17 (the file's size counts)
  uint64_t flags = 0;

  // flags bit 0: 1 = big-endian kernel.
  bool big_endian() const { return (flags & 1) != 0; }
  // flags bits 2:1: the kernel's page size.
  ImagePageSize page_size() const { return ImagePageSize((flags >> 1) & 3); }
  // flags bit 3: 0 = the 2 MiB aligned base should be as close as possible to the base of
  // DRAM; 1 = anywhere in the 48-bit physical range.
  bool placement_anywhere() const { return ((flags >> 3) & 1) != 0; }
};

enum class ImageError {
  Gzip,           // 1f 8b: an Image.gz
  Truncated,      // the magic is there but the file ends inside the 64-byte header
  BigEndian,      // flags bit 0
  Misaligned,     // text_offset is not a multiple of 4: the entry could not be fetched
  UnsupportedPageSize,  // 16 KiB pages: the Cortex-A57 has no 16 KiB granule
  TooBig,         // image_size (or the file) does not fit in RAM from the load address
};

struct ImageHeaderError {
  ImageError kind;
  std::string message;  // one line for the user
};

// The header of `file`, nullopt when `file` is no Image (no magic: a raw image), or why
// the file cannot be booted as one.
std::expected<std::optional<LinuxImageHeader>, ImageHeaderError> parse_linux_image(std::span<const std::byte> file);

struct ImagePlacement {
  uint64_t load = 0;  // where the file's first byte goes, and the entry point
  uint64_t end = 0;   // one past the kernel: load + max(image_size, file size)
};

// Where QEMU 7.2 virt loads an Image of `file_size` bytes with this header into RAM at
// [ram_base, ram_base + ram_size): at ram_base + text_offset, plus 2 MiB when text_offset
// is below 4 KiB (the first 4 KiB of RAM is QEMU's boot loader stub; Linux 5.8 and later
// have text_offset 0, so they land at 0x4020_0000). The base ram_base (+ 2 MiB) is 2 MiB
// aligned, as booting.rst requires. An error when the kernel does not fit.
std::expected<ImagePlacement, ImageHeaderError> place_linux_image(const LinuxImageHeader& header, uint64_t file_size,
                                                                  uint64_t ram_base, uint64_t ram_size);

}  // namespace irqremap::arm64
