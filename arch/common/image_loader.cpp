#include "arch/common/image_loader.h"

#include <fmt/format.h>

#include <cstring>

#include "remap/bits.h"

namespace irqremap::arch {

namespace {

constexpr uint32_t kPtLoad = 1;
constexpr size_t kEhdrSize = 64, kPhdrSize = 56;

template <typename T>
T le(std::span<const std::byte> b, size_t off) {
  return T(bits::load_le_n(b.data() + off, sizeof(T)));
}

}  // namespace

std::expected<LoadedImage, std::string> load_image(GuestMemory& mem, std::span<const std::byte> img,
                                                   uint16_t machine, uint64_t raw_base) {
  if (img.empty()) return std::unexpected("empty image");
  const bool elf = img.size() >= 4 && std::memcmp(img.data(), "\x7f" "ELF", 4) == 0;
  if (!elf) {
    if (auto w = mem.write(raw_base, img); !w)
      return std::unexpected(fmt::format("raw image: {}", w.error().describe()));
    return LoadedImage{raw_base, false, 0};
  }
  if (img.size() < kEhdrSize) return std::unexpected("ELF: file shorter than the 64-byte ELF64 header");
  if (le<uint8_t>(img, 4) != 2 || le<uint8_t>(img, 5) != 1)
    return std::unexpected("ELF: not a 64-bit little-endian image");
  if (le<uint16_t>(img, 18) != machine)
    return std::unexpected(
        fmt::format("ELF: machine {} is not the expected {}", le<uint16_t>(img, 18), machine));
  const uint64_t entry = le<uint64_t>(img, 24), phoff = le<uint64_t>(img, 32);
  const uint16_t phentsize = le<uint16_t>(img, 54), phnum = le<uint16_t>(img, 56);
  if (phentsize < kPhdrSize || phoff > img.size() || uint64_t(phnum) * phentsize > img.size() - phoff)
    return std::unexpected("ELF: program headers lie outside the file");
  LoadedImage out{entry, true, 0};
  for (unsigned i = 0; i < phnum; ++i) {
    const size_t ph = phoff + size_t(i) * phentsize;
    if (le<uint32_t>(img, ph) != kPtLoad) continue;
    const uint64_t off = le<uint64_t>(img, ph + 8), paddr = le<uint64_t>(img, ph + 24),
                   filesz = le<uint64_t>(img, ph + 32), memsz = le<uint64_t>(img, ph + 40);
    if (filesz > memsz || off > img.size() || filesz > img.size() - off)
      return std::unexpected(fmt::format("ELF: segment {} lies outside the file", i));
    if (memsz == 0) continue;
    std::byte* host = mem.host_ptr(paddr, memsz);
    if (host == nullptr)
      return std::unexpected(
          fmt::format("ELF: segment {} at {:#x} ({:#x} bytes) is outside RAM", i, paddr, memsz));
    std::memcpy(host, img.data() + off, filesz);
    std::memset(host + filesz, 0, memsz - filesz);
    ++out.segments;
  }
  if (out.segments == 0) return std::unexpected("ELF: no PT_LOAD segment");
  return out;
}

}  // namespace irqremap::arch
