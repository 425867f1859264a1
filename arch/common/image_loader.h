#pragma once
// Loads a guest kernel into GuestMemory: an ELF64 little-endian executable (an ELF32 one
// when `machine` is EM_386, as multiboot kernels are) (every PT_LOAD
// segment at its physical address p_paddr, .bss zero-filled, entry = e_entry; System V
// gABI "ELF Header" / "Program Header") or, when the file does not start with the ELF
// magic, a raw image copied to `raw_base` and entered at its first byte (as QEMU -kernel
// does for a flat binary). Malformed input is an error message, never a crash: short
// header, wrong class/endianness/machine, program headers or segments outside the file,
// segments outside guest memory, no PT_LOAD. Segments may land in read-only regions (a
// ROM such as the AArch64 virt flash, where an lld-linked ELF puts its headers), as
// QEMU's loader fills ROM too, and may cross from one region into an adjacent one.
#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::arch {

inline constexpr uint16_t kEm386 = 3;      // e_machine EM_386 (ELF32 multiboot kernels)
inline constexpr uint16_t kEmX86_64 = 62;   // e_machine EM_X86_64
inline constexpr uint16_t kEmAarch64 = 183; // e_machine EM_AARCH64

struct LoadedImage {
  uint64_t entry = 0;
  bool elf = false;
  unsigned segments = 0;  // PT_LOAD segments loaded (0 for a raw image)
  uint64_t low = 0;       // lowest guest-physical byte loaded
  uint64_t high = 0;      // one past the highest
};

std::expected<LoadedImage, std::string> load_image(GuestMemory& mem, std::span<const std::byte> image,
                                                   uint16_t machine, uint64_t raw_base);

}  // namespace irqremap::arch
