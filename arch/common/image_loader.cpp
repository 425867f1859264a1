#include "arch/common/image_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "remap/bits.h"

namespace irqremap::arch {

namespace {

constexpr uint32_t kPtLoad = 1;
constexpr size_t kEhdrSize = 64, kPhdrSize = 56, kEhdr32Size = 52, kPhdr32Size = 32;

template <typename T>
T le(std::span<const std::byte> b, size_t off) {
  return T(bits::load_le_n(b.data() + off, sizeof(T)));
}

// Copies `bytes` to pa and zero-fills up to `size`, region by region (RAM or ROM), so a
// segment may cross from one region into the next; false when any byte has no region.
bool fill(GuestMemory& mem, uint64_t pa, std::span<const std::byte> bytes, uint64_t size) {
  if (size != 0 && pa + size - 1 < pa) return false;
  for (uint64_t done = 0; done < size;) {
    const GuestMemory::Region* r = mem.region_at(pa + done);
    if (r == nullptr) return false;
    const uint64_t n = std::min(size - done, r->base + r->size - (pa + done));
    std::byte* host = r->host + (pa + done - r->base);
    const uint64_t copy = done < bytes.size() ? std::min<uint64_t>(n, bytes.size() - done) : 0;
    if (copy != 0) std::memcpy(host, bytes.data() + done, copy);
    mem.zero(pa + done + copy, n - copy);  // a large .bss costs no page (GuestMemory::zero)
    done += n;
  }
  return true;
}

}  // namespace

std::expected<LoadedImage, std::string> load_image(GuestMemory& mem, std::span<const std::byte> img,
                                                   uint16_t machine, uint64_t raw_base) {
  if (img.empty()) return std::unexpected("empty image");
  const bool elf = img.size() >= 4 && std::memcmp(img.data(), "\x7f" "ELF", 4) == 0;
  if (!elf) {
    if (!fill(mem, raw_base, img, img.size()))
      return std::unexpected(fmt::format("raw image: {:#x} bytes at {:#x} reach outside guest RAM", img.size(),
                                         raw_base));
    return LoadedImage{raw_base, false, 0, raw_base, raw_base + img.size()};
  }
  // ELF32 (EM_386: multiboot kernels) and ELF64 differ only in field widths and offsets
  // (gABI "ELF Header", "Program Header"; the 32-bit program header puts p_flags last).
  const bool is32 = machine == kEm386;
  const size_t ehdr = is32 ? kEhdr32Size : kEhdrSize, phdr_min = is32 ? kPhdr32Size : kPhdrSize;
  if (img.size() < ehdr)
    return std::unexpected(is32 ? "ELF: file shorter than the 52-byte ELF32 header"
                                : "ELF: file shorter than the 64-byte ELF64 header");
  if (le<uint8_t>(img, 4) != (is32 ? 1 : 2) || le<uint8_t>(img, 5) != 1)
    return std::unexpected(is32 ? "ELF: not a 32-bit little-endian image"
                                : "ELF: not a 64-bit little-endian image");
  if (le<uint16_t>(img, 18) != machine)
    return std::unexpected(
        fmt::format("ELF: machine {} is not the expected {}", le<uint16_t>(img, 18), machine));
  const uint64_t entry = is32 ? le<uint32_t>(img, 24) : le<uint64_t>(img, 24);
  const uint64_t phoff = is32 ? le<uint32_t>(img, 28) : le<uint64_t>(img, 32);
  const uint16_t phentsize = le<uint16_t>(img, is32 ? 42 : 54), phnum = le<uint16_t>(img, is32 ? 44 : 56);
  if (phentsize < phdr_min || phoff > img.size() || uint64_t(phnum) * phentsize > img.size() - phoff)
    return std::unexpected("ELF: program headers lie outside the file");
  LoadedImage out{entry, true, 0, UINT64_MAX, 0};
  for (unsigned i = 0; i < phnum; ++i) {
    const size_t ph = phoff + size_t(i) * phentsize;
    if (le<uint32_t>(img, ph) != kPtLoad) continue;
    const uint64_t off = is32 ? le<uint32_t>(img, ph + 4) : le<uint64_t>(img, ph + 8);
    const uint64_t paddr = is32 ? le<uint32_t>(img, ph + 12) : le<uint64_t>(img, ph + 24);
    const uint64_t filesz = is32 ? le<uint32_t>(img, ph + 16) : le<uint64_t>(img, ph + 32);
    const uint64_t memsz = is32 ? le<uint32_t>(img, ph + 20) : le<uint64_t>(img, ph + 40);
    if (filesz > memsz || off > img.size() || filesz > img.size() - off)
      return std::unexpected(fmt::format("ELF: segment {} lies outside the file", i));
    if (memsz == 0) continue;
    // QEMU would load such a segment nowhere and start the guest anyway; a clear refusal
    // here saves debugging a guest that runs without it.
    if (!fill(mem, paddr, img.subspan(off, filesz), memsz))
      return std::unexpected(fmt::format(
          "ELF: segment {} at {:#x} ({:#x} bytes) is outside RAM and ROM", i, paddr, memsz));
    ++out.segments;
    out.low = std::min(out.low, paddr);
    out.high = std::max(out.high, paddr + memsz);
  }
  if (out.segments == 0) return std::unexpected("ELF: no PT_LOAD segment");
  return out;
}

}  // namespace irqremap::arch
