#include "arch/common/multiboot.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "arch/common/image_loader.h"
#include "remap/bits.h"

namespace irqremap::arch::multiboot {

namespace {

uint32_t le32(std::span<const std::byte> b, size_t off) { return uint32_t(bits::load_le_n(b.data() + off, 4)); }

struct MmapEntry {
  uint64_t base, length;
  uint32_t type;
};

}  // namespace

std::optional<Header> find_header(std::span<const std::byte> image) {
  const size_t end = std::min(image.size(), kSearchBytes);
  for (size_t off = 0; off + 12 <= end; off += 4) {
    if (le32(image, off) != kHeaderMagic) continue;
    const uint32_t flags = le32(image, off + 4);
    if (uint32_t(kHeaderMagic + flags + le32(image, off + 8)) != 0) continue;
    Header h;
    h.offset = uint32_t(off);
    h.flags = flags;
    if ((flags & kHeaderFlagAddress) != 0 && off + 32 <= image.size()) {
      h.header_addr = le32(image, off + 12);
      h.load_addr = le32(image, off + 16);
      h.load_end_addr = le32(image, off + 20);
      h.bss_end_addr = le32(image, off + 24);
      h.entry_addr = le32(image, off + 28);
    }
    return h;
  }
  return std::nullopt;
}

namespace {

// §3.1.3 with flag 16: the file from (header offset - (header_addr - load_addr)) is loaded
// at load_addr up to load_end_addr (0: end of file), then zeroed up to bss_end_addr.
std::expected<Loaded, std::string> load_by_address(GuestMemory& mem, std::span<const std::byte> image,
                                                   const Header& h) {
  if (h.header_addr < h.load_addr || h.header_addr - h.load_addr > h.offset)
    return std::unexpected("multiboot: header_addr lies before load_addr or before the file start");
  const size_t text = h.offset - (h.header_addr - h.load_addr);
  uint64_t load_size = image.size() - text;
  if (h.load_end_addr != 0) {
    if (h.load_end_addr < h.load_addr) return std::unexpected("multiboot: load_end_addr below load_addr");
    load_size = std::min<uint64_t>(load_size, h.load_end_addr - h.load_addr);
  }
  uint64_t total = load_size;
  if (h.bss_end_addr != 0) {
    if (h.bss_end_addr < h.load_addr + load_size) return std::unexpected("multiboot: bss_end_addr below the loaded data");
    total = h.bss_end_addr - h.load_addr;
  }
  std::byte* dst = mem.host_ptr(h.load_addr, total);
  if (dst == nullptr)
    return std::unexpected(fmt::format("multiboot: kernel at {:#x} ({:#x} bytes) is outside RAM", h.load_addr, total));
  std::memcpy(dst, image.data() + text, load_size);
  std::memset(dst + load_size, 0, total - load_size);
  return Loaded{h.entry_addr, kInfoAddr, h.load_addr, h.load_addr + total};
}

}  // namespace

std::expected<Loaded, std::string> load(GuestMemory& mem, std::span<const std::byte> image,
                                        const Header& h, const Params& p) {
  if (p.ram_size >= (uint64_t{1} << 32) || p.ram_size < 0x10'0000)
    return std::unexpected("multiboot: RAM must be between 1 MiB and 4 GiB (the information is 32-bit)");
  Loaded out;
  if ((h.flags & kHeaderFlagAddress) != 0) {
    auto r = load_by_address(mem, image, h);
    if (!r) return r;
    out = *r;
  } else {
    if (image.size() >= 5 && std::to_integer<uint8_t>(image[4]) == 2)
      return std::unexpected("multiboot: an ELF64 image cannot be booted this way (give a 32-bit one, as QEMU says)");
    auto r = load_image(mem, image, kEm386, 0);
    if (!r) return std::unexpected(r.error());
    if (!r->elf) return std::unexpected("multiboot: header without address fields (flag 16) in a non-ELF image");
    out = Loaded{uint32_t(r->entry), kInfoAddr, r->low, r->high};
  }
  // The boot information page: QEMU's, unless the image covers part of it.
  uint64_t page = kMmapAddr;
  if (out.low < kStringsEnd && out.high > kMmapAddr) page = (out.high + kPageSize - 1) & ~(kPageSize - 1);
  if (page + kPageSize > p.ram_size)
    return std::unexpected(fmt::format("multiboot: no RAM for the boot information after the kernel's end {:#x}",
                                       out.high));
  const uint64_t mmap_addr = page, info_addr = page + kInfoOffset, strings_addr = page + kStringsOffset,
                 strings_end = page + kPageSize;
  out.info_addr = uint32_t(info_addr);

  // The memory map as SeaBIOS reports it through INT 15h E820 on QEMU q35 (the source of
  // QEMU's multiboot map): conventional memory up to the 1 KiB EBDA, the BIOS area, RAM
  // from 1 MiB; plus the boot ROM at the top of 4 GiB.
  const std::array<MmapEntry, 5> map{{{0, 0x9'FC00, kMemoryAvailable},
                                      {0x9'FC00, 0x400, kMemoryReserved},
                                      {0xF'0000, 0x1'0000, kMemoryReserved},
                                      {0x10'0000, p.ram_size - 0x10'0000, kMemoryAvailable},
                                      {0xFFFF'0000, 0x1'0000, kMemoryReserved}}};
  for (size_t i = 0; i < map.size(); ++i) {
    const uint64_t a = mmap_addr + i * kMmapEntrySize;
    bool ok = mem.write32(a, kMmapEntrySize - 4).has_value() && mem.write64(a + 4, map[i].base).has_value() &&
              mem.write64(a + 12, map[i].length).has_value() && mem.write32(a + 20, map[i].type).has_value();
    if (!ok) return std::unexpected(fmt::format("multiboot: the memory map at {:#x} is outside RAM", mmap_addr));
  }
  // The module: page-aligned after the kernel (QEMU aligns each module to a page), past
  // the information page when that follows the image, inside RAM that the memory map calls
  // available above 1 MiB, so neither the kernel nor the boot information overlaps it.
  if (p.module) {
    uint64_t start = std::max<uint64_t>((out.high + kPageSize - 1) & ~(kPageSize - 1), 0x10'0000);
    if (start < page + kPageSize && start + p.module->data.size() > page) start = page + kPageSize;
    const uint64_t size = p.module->data.size();
    if (start > p.ram_size || size > p.ram_size - start)
      return std::unexpected(fmt::format(
          "multiboot: the module ({:#x} bytes) does not fit in RAM after the kernel: it would go at {:#x}, and RAM "
          "ends at {:#x}",
          size, start, p.ram_size));
    std::byte* m = mem.host_ptr(start, size);
    if (m == nullptr && size != 0) return std::unexpected(fmt::format("multiboot: the module at {:#x} is outside RAM", start));
    if (size != 0) std::memcpy(m, p.module->data.data(), size);
    out.module_start = start;
    out.module_end = start + size;
  }
  const std::string names = p.cmdline + '\0' + p.loader_name + '\0' +
                            (p.module ? p.module->cmdline + '\0' : std::string());
  if (strings_addr + names.size() > strings_end)
    return std::unexpected(fmt::format("multiboot: command line of {} bytes {}does not fit below {:#x}",
                                       p.cmdline.size(), p.module ? "with the module's string " : "", strings_end));
  std::byte* s = mem.host_ptr(strings_addr, names.size());
  if (s == nullptr) return std::unexpected("multiboot: the command line page is outside RAM");
  std::memcpy(s, names.data(), names.size());

  std::array<uint64_t, kInfo.words()> info{};
  fields::set(info, I_FLAGS, kInfoFlags);
  fields::set(info, I_MEM_LOWER, 640);  // KiB; QEMU (hw/i386/multiboot.c) reports the whole 640 KiB
  fields::set(info, I_MEM_UPPER, (p.ram_size - 0x10'0000) / 1024);
  fields::set(info, I_BOOT_DEVICE, 0x8000'FFFF);  // first BIOS disk, no partition (as QEMU)
  fields::set(info, I_CMDLINE, strings_addr);
  // The module list right after the structure (an empty one without a module).
  const uint64_t mods_addr = info_addr + kInfoSize;
  fields::set(info, I_MODS_COUNT, p.module ? 1 : 0);
  fields::set(info, I_MODS_ADDR, mods_addr);
  if (p.module) {
    const uint64_t string = strings_addr + p.cmdline.size() + 1 + p.loader_name.size() + 1;
    bool ok = mem.write32(mods_addr, uint32_t(out.module_start)).has_value() &&
              mem.write32(mods_addr + 4, uint32_t(out.module_end)).has_value() &&
              mem.write32(mods_addr + 8, uint32_t(string)).has_value() && mem.write32(mods_addr + 12, 0).has_value();
    if (!ok) return std::unexpected("multiboot: the module list is outside RAM");
  }
  fields::set(info, I_MMAP_LENGTH, map.size() * kMmapEntrySize);
  fields::set(info, I_MMAP_ADDR, mmap_addr);
  fields::set(info, I_BOOT_LOADER_NAME, strings_addr + p.cmdline.size() + 1);
  std::byte* d = mem.host_ptr(info_addr, kInfoSize);
  if (d == nullptr) return std::unexpected("multiboot: the information structure is outside RAM");
  for (size_t i = 0; i < kInfoSize; ++i) d[i] = std::byte(uint8_t(info[i / 8] >> (8 * (i % 8))));
  return out;
}

}  // namespace irqremap::arch::multiboot
