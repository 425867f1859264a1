// The Linux arm64 Image header (arch/arm64/linux_image.h): what booting.rst §4 says the
// 64 bytes hold, and where QEMU 7.2 virt loads such an image (hw/arm/boot.c).
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "arch/arm64/linux_image.h"
#include "arch/arm64/virt_map.h"

using namespace irqremap::arm64;

namespace {

constexpr uint64_t MiB = 1ull << 20;

void put32(std::vector<std::byte>& f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}
void put64(std::vector<std::byte>& f, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) f[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}

// An Image as Linux 6.1 lays out its header (arch/arm64/kernel/head.S, asm/image.h): code0
// "MZ" for the EFI stub (ccmp x18, #0, #0xd, pl), code1 a branch to primary_entry,
// text_offset 0, flags 0xa (little endian, 4 KiB pages, anywhere in the 48-bit range),
// res5 the PE header's offset. 4 KiB of file standing for the kernel's text.
std::vector<std::byte> image(uint64_t text_offset, uint64_t image_size, uint64_t flags, size_t file_size = 0x1000) {
  std::vector<std::byte> f(file_size);
  put32(f, 0x00, 0xfa40'5a4d);  // code0
  put32(f, 0x04, 0x1400'1000);  // code1: b +0x4000
  put64(f, 0x08, text_offset);
  put64(f, 0x10, image_size);
  put64(f, 0x18, flags);
  put32(f, 0x38, 0x644d'5241);  // "ARM\x64"
  put32(f, 0x3c, 0x40);         // res5: PE/COFF header offset
  return f;
}

}  // namespace

TEST_CASE("image: a Linux 6.1 header gives text_offset, image_size and flags (LE, 4 KiB pages, bit 3 placement)") {
  const auto f = image(0, 0x2d6'0000, 0xa);
  auto h = parse_linux_image(f);
  REQUIRE(h);
  REQUIRE(*h);
  CHECK((*h)->text_offset == 0);
  CHECK((*h)->image_size == 0x2d6'0000);
  CHECK_FALSE((*h)->big_endian());
  CHECK((*h)->page_size() == ImagePageSize::K4);
  CHECK((*h)->placement_anywhere());
}

TEST_CASE("image: no \"ARM\\x64\" at 0x38 (or a file too short to hold it) is no Image: loaded raw, as QEMU does") {
  auto bad = image(0, 0x10000, 0xa);
  bad[0x3b] = std::byte{0x65};  // "ARMe"
  auto h = parse_linux_image(bad);
  REQUIRE(h);
  CHECK_FALSE(*h);
  const std::vector<std::byte> tiny(0x3b, std::byte{0});
  auto t = parse_linux_image(tiny);
  REQUIRE(t);
  CHECK_FALSE(*t);
}

TEST_CASE("image: a gzip file (1f 8b, an Image.gz) is refused with a message that names gunzip") {
  std::vector<std::byte> gz = {std::byte{0x1f}, std::byte{0x8b}, std::byte{0x08}, std::byte{0x00}};
  gz.resize(0x100);
  auto h = parse_linux_image(gz);
  REQUIRE_FALSE(h);
  CHECK(h.error().kind == ImageError::Gzip);
  CHECK(h.error().message.find("gunzip") != std::string::npos);
}

TEST_CASE("image: the magic with a file ending inside the 64-byte header is a truncated Image, not a raw one") {
  auto f = image(0, 0x10000, 0xa);
  f.resize(0x3c);
  auto h = parse_linux_image(f);
  REQUIRE_FALSE(h);
  CHECK(h.error().kind == ImageError::Truncated);
  CHECK(h.error().message.find("60 bytes") != std::string::npos);
}

TEST_CASE("image: flags bit 0 (a big-endian kernel) is refused: the machine runs little-endian") {
  auto h = parse_linux_image(image(0, 0x10000, 0xa | 1));
  REQUIRE_FALSE(h);
  CHECK(h.error().kind == ImageError::BigEndian);
  CHECK(h.error().message.find("big-endian") != std::string::npos);
}

TEST_CASE("image: a text_offset that is not a multiple of 4 would misalign the first instruction: refused") {
  auto h = parse_linux_image(image(0x8'0002, 0x10000, 0xa));
  REQUIRE_FALSE(h);
  CHECK(h.error().kind == ImageError::Misaligned);
  CHECK(h.error().message.find("0x80002") != std::string::npos);
}

TEST_CASE("image: image_size 0 is a kernel before v3.17, whose text_offset counts as 0x80000 whatever it holds") {
  auto h = parse_linux_image(image(0x0000'0800'0000'0000ull, 0, 0));  // 0x80000 big-endian
  REQUIRE(h);
  REQUIRE(*h);
  CHECK((*h)->text_offset == kLegacyTextOffset);
  auto at = place_linux_image(**h, 0x1000, virt::kRamBase, 128 * MiB);
  REQUIRE(at);
  CHECK(at->load == 0x4008'0000);
  CHECK(at->end == 0x4008'1000);  // the file's size stands for the kernel's
}

TEST_CASE("image: text_offset 0 loads at RAM base + 2 MiB, not 0x40080000 (Linux: \"Kernel image misaligned\")") {
  // QEMU 7.2 moves an Image whose text_offset falls in its 4 KiB boot stub up by 2 MiB; the
  // base stays 2 MiB aligned, as booting.rst requires of base = load - text_offset.
  auto at = place_linux_image(LinuxImageHeader{0, 0x2d6'0000, 0xa}, 0x2a0'0000, virt::kRamBase, 128 * MiB);
  REQUIRE(at);
  CHECK(at->load == 0x4020'0000);
  CHECK(at->load % (2 * MiB) == 0);  // base = load - text_offset (0)
  CHECK(at->end == 0x4020'0000 + 0x2d6'0000);  // image_size, .bss included, not the file
  // text_offset 0x80000 (Linux before 5.8) goes where it says: RAM base + text_offset.
  auto old = place_linux_image(LinuxImageHeader{0x8'0000, 0x10'0000, 0x2}, 0x8'0000, virt::kRamBase, 128 * MiB);
  REQUIRE(old);
  CHECK(old->load == 0x4008'0000);
}

TEST_CASE("image: an image_size that does not fit in RAM from the load address is refused, even near 2^64") {
  // 2 MiB + 127 MiB: one MiB more than 128 MiB of RAM holds; 129 MiB holds it.
  auto big = place_linux_image(LinuxImageHeader{0, 127 * MiB, 0xa}, 0x1000, virt::kRamBase, 128 * MiB);
  REQUIRE_FALSE(big);
  CHECK(big.error().kind == ImageError::TooBig);
  CHECK(big.error().message.find("--mem") != std::string::npos);
  CHECK(place_linux_image(LinuxImageHeader{0, 127 * MiB, 0xa}, 0x1000, virt::kRamBase, 129 * MiB));
  for (auto [offset, size] : {std::pair{0x8'0000ull, ~0ull}, {~0ull & ~3ull, 0x1000ull}, {0ull, ~0ull - MiB}}) {
    auto huge = place_linux_image(LinuxImageHeader{offset, size, 0xa}, 0x1000, virt::kRamBase, 128 * MiB);
    REQUIRE_FALSE(huge);
    CHECK(huge.error().kind == ImageError::TooBig);
  }
  // A file longer than image_size counts by its own length.
  CHECK_FALSE(place_linux_image(LinuxImageHeader{0, 0x1000, 0xa}, 127 * MiB, virt::kRamBase, 128 * MiB));
}

TEST_CASE("image: a kernel for 16 KiB pages is refused: the Cortex-A57 has no 16 KiB granule (TGran16 = 0)") {
  auto h = parse_linux_image(image(0, 0x10000, 0x8 | (2 << 1)));
  REQUIRE(h);
  REQUIRE(*h);
  CHECK((*h)->page_size() == ImagePageSize::K16);
  auto at = place_linux_image(**h, 0x1000, virt::kRamBase, 128 * MiB);
  REQUIRE_FALSE(at);
  CHECK(at.error().kind == ImageError::UnsupportedPageSize);
  CHECK(place_linux_image(LinuxImageHeader{0, 0x10000, 0x8 | (3 << 1)}, 0x1000, virt::kRamBase, 128 * MiB));  // 64K
}
