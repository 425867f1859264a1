#pragma once
// Multiboot v1 (Multiboot Specification 0.6.96), the boot protocol of QEMU's `-kernel` for
// an image that carries a multiboot header: the header the image declares (§3.1), how the
// loader places it (§3.1.3: ELF sections, or the header's address fields when flag 16 is
// set) and the boot information structure the kernel finds in EBX (§3.3). Plain C++ over
// GuestMemory; the CPU state the kernel is entered with is the x86 machine's (boot_rom.h).
//
// The information is laid out where QEMU 7.2 puts it (hw/i386/multiboot.c): the memory
// map at 0x9000 and the structure at 0x9500, both below 640 KiB and outside any image
// linked at 1 MiB or above; the command line and boot-loader name follow at 0x9600.
// An image that itself covers part of that page (kvm-unit-tests' realmode.flat is linked
// at 0x8000) gets the same page layout in the first page after its end instead: QEMU
// keeps the structure at 0x9500 there, but its option ROM (pc-bios/optionrom/multiboot.S)
// copies the kernel after writing it, so the image's bytes win and EBX points into the
// image; QEMU's strings already follow the image's end (rounded up to a page). Here the
// image's bytes win too, and EBX points to an intact structure.
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>

#include "remap/fields.h"
#include "remap/guest_memory.h"

namespace irqremap::arch::multiboot {

inline constexpr uint32_t kHeaderMagic = 0x1BAD'B002;  // §3.1.2
inline constexpr uint32_t kBootMagic = 0x2BAD'B002;    // EAX at entry, §3.2
inline constexpr size_t kSearchBytes = 8192;           // the header lies in the first 8 KiB

inline constexpr uint64_t kMmapAddr = 0x9000, kInfoAddr = 0x9500, kStringsAddr = 0x9600,
                          kStringsEnd = 0xA000;
// Offsets of the three parts in the boot information page, wherever the page is.
inline constexpr uint64_t kPageSize = 0x1000, kInfoOffset = kInfoAddr - kMmapAddr,
                          kStringsOffset = kStringsAddr - kMmapAddr;
inline constexpr size_t kInfoSize = 88;

using fields::Access;
using fields::Field;

// §3.1.1 "The layout of Multiboot header" (offsets in bytes; bits counted from byte 0).
inline constexpr Field H_MAGIC{"magic", 31, 0, Access::RW, "0x1BADB002"};
inline constexpr Field H_FLAGS{"flags", 63, 32, Access::RW,
                               "bit 0 page-align modules, bit 1 memory info, bit 2 video mode, bit 16 address fields valid"};
inline constexpr Field H_CHECKSUM{"checksum", 95, 64, Access::RW, "magic + flags + checksum = 0 (mod 2^32)"};
inline constexpr Field H_HEADER_ADDR{"header_addr", 127, 96, Access::RW, "physical address of the header (flag 16)"};
inline constexpr Field H_LOAD_ADDR{"load_addr", 159, 128, Access::RW, "physical address of the text segment start (flag 16)"};
inline constexpr Field H_LOAD_END_ADDR{"load_end_addr", 191, 160, Access::RW, "end of the data segment; 0: the whole file (flag 16)"};
inline constexpr Field H_BSS_END_ADDR{"bss_end_addr", 223, 192, Access::RW, "end of bss, zero-filled; 0: no bss (flag 16)"};
inline constexpr Field H_ENTRY_ADDR{"entry_addr", 255, 224, Access::RW, "physical entry point (flag 16)"};
inline constexpr Field kHeaderFields[] = {H_MAGIC, H_FLAGS, H_CHECKSUM, H_HEADER_ADDR, H_LOAD_ADDR,
                                          H_LOAD_END_ADDR, H_BSS_END_ADDR, H_ENTRY_ADDR};
static_assert(fields::well_formed(kHeaderFields, 256, true));
inline constexpr fields::Format kHeader{"multiboot-header", "Multiboot header (address fields)",
                                        "Multiboot Specification 0.6.96 §3.1.1", 256, kHeaderFields};
inline constexpr uint32_t kHeaderFlagAddress = 1u << 16;

// §3.3 "Boot information format": the structure EBX points to.
inline constexpr Field I_FLAGS{"flags", 31, 0, Access::RW,
                               "which fields are valid: 0 mem_*, 1 boot_device, 2 cmdline, 3 mods_*, 6 mmap_*, 9 boot_loader_name"};
inline constexpr Field I_MEM_LOWER{"mem_lower", 63, 32, Access::RW, "KiB of lower memory (from 0)"};
inline constexpr Field I_MEM_UPPER{"mem_upper", 95, 64, Access::RW, "KiB of upper memory (from 1 MiB to the first hole)"};
inline constexpr Field I_BOOT_DEVICE{"boot_device", 127, 96, Access::RW, "BIOS drive and partitions"};
inline constexpr Field I_CMDLINE{"cmdline", 159, 128, Access::RW, "physical address of the command line (C string)"};
inline constexpr Field I_MODS_COUNT{"mods_count", 191, 160, Access::RW, "number of modules"};
inline constexpr Field I_MODS_ADDR{"mods_addr", 223, 192, Access::RW, "physical address of the module list"};
inline constexpr Field I_SYMS0{"syms[0]", 255, 224, Access::RW, "a.out tabsize / ELF num (flags 4/5)"};
inline constexpr Field I_SYMS1{"syms[1]", 287, 256, Access::RW, "a.out strsize / ELF size"};
inline constexpr Field I_SYMS2{"syms[2]", 319, 288, Access::RW, "a.out addr / ELF addr"};
inline constexpr Field I_SYMS3{"syms[3]", 351, 320, Access::RW, "ELF shndx"};
inline constexpr Field I_MMAP_LENGTH{"mmap_length", 383, 352, Access::RW, "bytes of memory map"};
inline constexpr Field I_MMAP_ADDR{"mmap_addr", 415, 384, Access::RW, "physical address of the memory map"};
inline constexpr Field I_DRIVES_LENGTH{"drives_length", 447, 416, Access::RW, "bytes of drive structures"};
inline constexpr Field I_DRIVES_ADDR{"drives_addr", 479, 448, Access::RW, "physical address of the drive structures"};
inline constexpr Field I_CONFIG_TABLE{"config_table", 511, 480, Access::RW, "BIOS configuration table"};
inline constexpr Field I_BOOT_LOADER_NAME{"boot_loader_name", 543, 512, Access::RW, "physical address of the loader's name"};
inline constexpr Field I_APM_TABLE{"apm_table", 575, 544, Access::RW, "APM table"};
inline constexpr Field I_VBE_CONTROL_INFO{"vbe_control_info", 607, 576, Access::RW, "VBE controller information (flag 11)"};
inline constexpr Field I_VBE_MODE_INFO{"vbe_mode_info", 639, 608, Access::RW, "VBE mode information"};
inline constexpr Field I_VBE_MODE{"vbe_mode", 655, 640, Access::RW, "current VBE mode"};
inline constexpr Field I_VBE_INTERFACE_SEG{"vbe_interface_seg", 671, 656, Access::RW, "VBE 2.0 protected-mode interface segment"};
inline constexpr Field I_VBE_INTERFACE_OFF{"vbe_interface_off", 687, 672, Access::RW, "its offset"};
inline constexpr Field I_VBE_INTERFACE_LEN{"vbe_interface_len", 703, 688, Access::RW, "its length"};
inline constexpr Field kInfoFields[] = {I_FLAGS, I_MEM_LOWER, I_MEM_UPPER, I_BOOT_DEVICE, I_CMDLINE,
                                        I_MODS_COUNT, I_MODS_ADDR, I_SYMS0, I_SYMS1, I_SYMS2, I_SYMS3, I_MMAP_LENGTH, I_MMAP_ADDR,
                                        I_DRIVES_LENGTH, I_DRIVES_ADDR, I_CONFIG_TABLE,
                                        I_BOOT_LOADER_NAME, I_APM_TABLE, I_VBE_CONTROL_INFO,
                                        I_VBE_MODE_INFO, I_VBE_MODE, I_VBE_INTERFACE_SEG,
                                        I_VBE_INTERFACE_OFF, I_VBE_INTERFACE_LEN};
static_assert(fields::well_formed(kInfoFields, kInfoSize * 8, true));
inline constexpr fields::Format kInfo{"multiboot-info", "Multiboot information structure",
                                      "Multiboot Specification 0.6.96 §3.3", kInfoSize * 8, kInfoFields};

// The info flags QEMU 7.2 sets (memory, boot device, command line, modules, memory map,
// boot-loader name).
inline constexpr uint32_t kInfoFlags = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9);

// §3.3 memory map entry: size (of the rest, 20), base_addr, length, type (1 = RAM).
inline constexpr uint32_t kMmapEntrySize = 24;
inline constexpr uint32_t kMemoryAvailable = 1, kMemoryReserved = 2;

struct Header {
  uint32_t offset = 0;  // file offset of the magic
  uint32_t flags = 0;
  uint32_t header_addr = 0, load_addr = 0, load_end_addr = 0, bss_end_addr = 0, entry_addr = 0;
};

// The first header in the first 8 KiB whose checksum is right (32-bit aligned), if any.
std::optional<Header> find_header(std::span<const std::byte> image);

// §3.3 module list entry: mod_start, mod_end (exclusive), string (the module's command
// line), reserved; 16 bytes.
inline constexpr uint32_t kModuleEntrySize = 16;

// One boot module (QEMU -initrd with a multiboot kernel): its bytes and the string the
// kernel sees for it (QEMU: the file name).
struct Module {
  std::span<const std::byte> data;
  std::string cmdline;
};

struct Params {
  uint64_t ram_size = 0;       // RAM from 0 (below 4 GiB)
  std::string cmdline;         // QEMU passes "<kernel file> <-append>"
  std::string loader_name = "irqremap";
  std::optional<Module> module;
};

struct Loaded {
  uint32_t entry = 0;
  uint32_t info_addr = kInfoAddr;  // EBX: kInfoAddr, or after the image when it covers it
  uint64_t low = 0, high = 0;  // the kernel's bytes in guest memory
  uint64_t module_start = 0, module_end = 0;  // the module's bytes, when there is one
};

// Loads a multiboot kernel (ELF32 EM_386 by its program headers, or by the header's
// address fields when flag 16 is set) and writes the information structure, memory map,
// command line and loader name in the boot information page (at kMmapAddr, or the first
// page after the image when the image covers any of kMmapAddr..kStringsEnd). A module goes
// where QEMU 7.2 puts it (hw/i386/multiboot.c): at the first page boundary after the
// kernel's end (after the information page when that follows the image), its entry in the
// module list right after the information structure, its string after the loader's name;
// mods_count = 1 (info flag 3 is set either way, as QEMU does). Errors: ELF64 (QEMU: "give
// a 32bit one"), segments outside RAM, no RAM for the information page after such an
// image, a module that does not fit in RAM from 1 MiB up after the kernel, a command line
// and module string too long for the info page, RAM of 4 GiB or more.
std::expected<Loaded, std::string> load(GuestMemory& mem, std::span<const std::byte> image,
                                        const Header& header, const Params& params);

}  // namespace irqremap::arch::multiboot
