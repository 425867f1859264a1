// Fuzz target: the image loaders and the device-tree generator, which read what a user
// hands `irqremap run --kernel` / `--append`. ELF64 and ELF32 images are assembled from the
// input (header and program headers with fuzzed fields, then payload), so the fuzzer
// spends its time past the magic check; raw bytes and multiboot images (a valid checksum,
// fuzzed address fields) go through their loaders too. Malformed input must come back as
// an error message, and a successful load must name bytes inside guest memory.
#include <cstdint>
#include <vector>

#include "arch/arm64/fdt_virt.h"
#include "arch/arm64/virt_map.h"
#include "arch/common/image_loader.h"
#include "arch/common/multiboot.h"
#include "remap/guest_memory.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

// Small RAM: a load that fits is checked the same way, and a run does not spend its time
// faulting in pages the loader zero-fills.
constexpr uint64_t kLowRam = 8ull << 20;  // x86-style: RAM from 0
constexpr uint64_t kArmRam = 0x4000'0000, kArmRamSize = 8ull << 20;

template <typename T>
void put(std::vector<std::byte>& b, std::size_t at, T v) {
  if (b.size() < at + sizeof v) b.resize(at + sizeof v);
  for (std::size_t i = 0; i < sizeof v; ++i) b[at + i] = std::byte(uint8_t(uint64_t(v) >> (8 * i)));
}

// An address loaders may accept: inside one of the layouts' RAM, or anything.
uint64_t address(OpStream& in) {
  switch (in.below(3)) {
    case 0: return in.u32() % kLowRam;
    case 1: return kArmRam + in.u32() % kArmRamSize;
    default: return in.u64();
  }
}
uint64_t length(OpStream& in) { return in.flag() ? in.u16() : in.u64(); }

std::vector<std::byte> elf(OpStream& in, bool is64) {
  static constexpr uint16_t kMachines[] = {arch::kEmX86_64, arch::kEmAarch64, arch::kEm386};
  std::vector<std::byte> b;
  const unsigned phnum = in.below(5);
  const std::size_t eh = is64 ? 64 : 52, ph = is64 ? 56 : 32;
  put<uint32_t>(b, 0, 0x464C'457F);  // "\x7fELF"
  put<uint8_t>(b, 4, in.flag() ? (is64 ? 2 : 1) : in.u8());  // EI_CLASS
  put<uint8_t>(b, 5, in.u8() == 0xFF ? 2 : 1);                 // EI_DATA
  put<uint8_t>(b, 6, 1);
  put<uint16_t>(b, 16, 2);  // ET_EXEC
  put<uint16_t>(b, 18, in.flag() ? kMachines[in.below(3)] : in.u16());
  if (is64) {
    put<uint64_t>(b, 24, address(in));
    put<uint64_t>(b, 32, in.flag() ? eh : in.u64());  // e_phoff
    put<uint16_t>(b, 54, in.flag() ? uint16_t(ph) : in.u16());
    put<uint16_t>(b, 56, uint16_t(phnum));
  } else {
    put<uint32_t>(b, 24, uint32_t(address(in)));
    put<uint32_t>(b, 28, in.flag() ? uint32_t(eh) : in.u32());
    put<uint16_t>(b, 42, in.flag() ? uint16_t(ph) : in.u16());
    put<uint16_t>(b, 44, uint16_t(phnum));
  }
  for (unsigned i = 0; i < phnum; ++i) {
    const std::size_t at = eh + i * ph;
    const uint32_t type = in.flag() ? 1 : in.u32();  // PT_LOAD
    const uint64_t offset = in.flag() ? in.u8() : in.u64(), paddr = address(in);
    const uint64_t filesz = length(in), memsz = in.flag() ? filesz + in.u8() : length(in);
    if (is64) {
      put<uint32_t>(b, at, type);
      put<uint64_t>(b, at + 8, offset);
      put<uint64_t>(b, at + 16, paddr);
      put<uint64_t>(b, at + 24, paddr);
      put<uint64_t>(b, at + 32, filesz);
      put<uint64_t>(b, at + 40, memsz);
    } else {
      put<uint32_t>(b, at, type);
      put<uint32_t>(b, at + 4, uint32_t(offset));
      put<uint32_t>(b, at + 8, uint32_t(paddr));
      put<uint32_t>(b, at + 12, uint32_t(paddr));
      put<uint32_t>(b, at + 16, uint32_t(filesz));
      put<uint32_t>(b, at + 20, uint32_t(memsz));
    }
  }
  return b;
}

// A multiboot header with a right checksum somewhere in the first 8 KiB.
void multiboot_header(OpStream& in, std::vector<std::byte>& b) {
  const std::size_t at = 4 * in.below(64);
  const uint32_t flags = in.flag() ? arch::multiboot::kHeaderFlagAddress | in.below(8) : in.u32();
  put<uint32_t>(b, at, arch::multiboot::kHeaderMagic);
  put<uint32_t>(b, at + 4, flags);
  put<uint32_t>(b, at + 8, uint32_t(0) - arch::multiboot::kHeaderMagic - flags);
  for (unsigned i = 0; i < 5; ++i) {
    const uint32_t v = in.flag() ? uint32_t(0x10'0000 + in.u16() * 16) : in.u32();
    put<uint32_t>(b, at + 12 + 4 * i, v);
  }
}

void append_payload(OpStream& in, std::vector<std::byte>& b) {
  const std::size_t n = in.u8() * 16u;
  for (std::size_t i = 0; i < n && !in.done(); ++i) b.push_back(std::byte(in.u8()));
}

void check(const GuestMemory& mem, const arch::LoadedImage& img) {
  if (img.high < img.low) __builtin_trap();
  if (img.high > img.low && !mem.region_at(img.low)) __builtin_trap();
}
}  // namespace

void run(OpStream& in) {
  GuestMemory mem;
  const bool arm = in.flag();
  if (arm) {
    if (!mem.add_rom(0, 0x10'0000, "flash") || !mem.add_ram(kArmRam, kArmRamSize, "ram")) __builtin_trap();
  } else if (!mem.add_ram(0, kLowRam, "ram")) {
    __builtin_trap();
  }
  const uint64_t raw_base = arm ? arm64::virt::kKernelLoad : 0x10'0000;
  switch (in.below(5)) {
    case 0: {  // raw bytes, whatever they start with
      auto bytes = in.rest();
      auto r = arch::load_image(mem, std::as_bytes(bytes), arm ? arch::kEmAarch64 : arch::kEmX86_64, raw_base);
      if (r) check(mem, *r);
      break;
    }
    case 1:
    case 2: {
      const bool is64 = in.below(2) == 0;
      auto image = elf(in, is64);
      append_payload(in, image);
      const uint16_t machine = is64 ? (arm ? arch::kEmAarch64 : arch::kEmX86_64) : arch::kEm386;
      auto r = arch::load_image(mem, image, machine, raw_base);
      if (r) check(mem, *r);
      break;
    }
    case 3: {  // multiboot: an ELF32 or a flat image with a header
      auto image = in.flag() ? elf(in, false) : std::vector<std::byte>{};
      append_payload(in, image);
      multiboot_header(in, image);
      append_payload(in, image);
      if (auto h = arch::multiboot::find_header(image)) {
        arch::multiboot::Params p;
        p.ram_size = arm ? 0 : kLowRam;
        p.cmdline = in.text(255);
        auto r = arch::multiboot::load(mem, image, *h, p);
        if (r && r->high < r->low) __builtin_trap();
      }
      break;
    }
    case 4: {  // the device tree of a configuration
      arm64::VirtFdtConfig cfg;
      cfg.cpus = 1 + in.below(arm64::virt::kMaxCpus);
      cfg.ram_size = in.flag() ? (uint64_t(1 + in.u16()) << 20) : in.u64() % arm64::virt::kRamWindowSize;
      cfg.device = in.flag();
      cfg.bootargs = in.text(255);
      while (in.flag() && cfg.bootargs.size() < 0x20'0000) cfg.bootargs += cfg.bootargs + "x";
      auto blob = arm64::build_virt_fdt(cfg);
      if (blob && blob->size() != arm64::kVirtFdtSize) __builtin_trap();
      break;
    }
  }
}

}  // namespace irqremap::fuzz
