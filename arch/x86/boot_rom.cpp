#include "arch/x86/boot_rom.h"

#include <array>
#include <cstring>

#include "remap/bits.h"

namespace irqremap::x86::boot_rom {

namespace {

// Segment descriptors (SDM vol. 3A §3.4.5, Figure 3-8): base 31:24 | G D/B L AVL lim 19:16 |
// P DPL S type | base 23:0 | limit 15:0.
constexpr uint64_t kGdtEntries[] = {
    0,                      // null
    0x00CF'9B00'0000'FFFF,  // 0x08: 32-bit code, base 0, limit 4 GiB (G=1, D=1), execute/read
    0x00CF'9300'0000'FFFF,  // 0x10: 32-bit data, base 0, limit 4 GiB, read/write
    0xFF00'9BFF'0000'FFFF,  // 0x18: 16-bit code, base 0xFFFF0000 (the ROM), limit 64 KiB
    0x0000'9300'0000'FFFF,  // 0x20: 16-bit data, base 0, limit 64 KiB (real-mode sized)
};

// Page-table entries (SDM vol. 3A §4.5, Tables 4-15/4-17/4-18): P | R/W | A, and for the
// 2 MiB page also D and PS, so the walk never needs to write the (read-only) ROM.
constexpr uint64_t kTablePte = 0x23, kLargePagePte = 0xE3;

// The code at kEntry64, assembled from the listing beside each line (AT&T syntax).
constexpr uint8_t kCode[] = {
    // 64-bit mode (Unicorn's reset state: LMA=1, PE=1, PG=0)
    0xB8, 0x00, 0x00, 0xFF, 0xFF,              // mov $0xffff0000,%eax   (kPml4)
    0x0F, 0x22, 0xD8,                          // mov %rax,%cr3
    0x0F, 0x20, 0xE0,                          // mov %cr4,%rax
    0x83, 0xC8, 0x20,                          // or $0x20,%eax          (CR4.PAE)
    0x0F, 0x22, 0xE0,                          // mov %rax,%cr4
    0x0F, 0x20, 0xC0,                          // mov %cr0,%rax
    0x0F, 0xBA, 0xE8, 0x1F,                    // bts $31,%eax           (CR0.PG: paging on)
    0x0F, 0x22, 0xC0,                          // mov %rax,%cr0
    0x0F, 0x01, 0x15, 0x0E, 0xFF, 0xFF, 0xFF,  // lgdt kGdtr(%rip)
    0xFF, 0x2D, 0x28, 0xFF, 0xFF, 0xFF,        // ljmp *kPm32Pointer(%rip) -> 0x08:pm32
    // pm32 (kEntry64 + 0x28): compatibility mode, 32-bit code segment
    0x0F, 0x20, 0xC0,                          // mov %cr0,%eax
    0x0F, 0xBA, 0xF0, 0x1F,                    // btr $31,%eax
    0x0F, 0x22, 0xC0,                          // mov %eax,%cr0          (PG 1->0: LMA=0)
    0xB9, 0x80, 0x00, 0x00, 0xC0,              // mov $0xc0000080,%ecx   (IA32_EFER)
    0x31, 0xC0,                                // xor %eax,%eax
    0x31, 0xD2,                                // xor %edx,%edx
    0x0F, 0x30,                                // wrmsr                  (EFER = 0)
    0x0F, 0x22, 0xE0,                          // mov %eax,%cr4
    0x0F, 0x22, 0xD8,                          // mov %eax,%cr3
    0x31, 0xC9,                                // xor %ecx,%ecx
    0xB8, 0x10, 0x00, 0x00, 0x00,              // mov $0x10,%eax         (kData32)
    0x8E, 0xD8,                                // mov %eax,%ds
    0x8E, 0xC0,                                // mov %eax,%es
    0x8E, 0xE0,                                // mov %eax,%fs
    0x8E, 0xE8,                                // mov %eax,%gs
    0x8E, 0xD0,                                // mov %eax,%ss
    0x85, 0xF6,                                // test %esi,%esi
    0x75, 0x0B,                                // jne rm                 (Path::StartupIpi)
    0xB8, 0x02, 0xB0, 0xAD, 0x2B,              // mov $0x2badb002,%eax   (multiboot magic)
    0xFF, 0x25, 0x58, 0x30, 0xFF, 0xFF,        // jmp *kMultibootEntry
    // rm:
    0x31, 0xF6,                                // xor %esi,%esi
    0xEA, 0x6C, 0x31, 0x00, 0x00, 0x18, 0x00,  // ljmp $0x18,$0x316c     (kCode16:rm16)
    // rm16 (kEntry64 + 0x6C): 16-bit protected mode, CS base = kBase
    0xB8, 0x20, 0x00,                          // mov $0x20,%ax          (kData16)
    0x8E, 0xD8,                                // mov %ax,%ds
    0x8E, 0xC0,                                // mov %ax,%es
    0x8E, 0xE0,                                // mov %ax,%fs
    0x8E, 0xE8,                                // mov %ax,%gs
    0x8E, 0xD0,                                // mov %ax,%ss
    0x0F, 0x20, 0xC0,                          // mov %cr0,%eax
    0x24, 0xFE,                                // and $0xfe,%al
    0x0F, 0x22, 0xC0,                          // mov %eax,%cr0          (PE=0: real mode)
    0x2E, 0x66, 0x0F, 0x01, 0x16, 0x40, 0x30,  // lgdtl %cs:0x3040       (kResetGdtr)
    0x2E, 0x66, 0x0F, 0x01, 0x1E, 0x48, 0x30,  // lidtl %cs:0x3048       (kResetIdtr)
    0x66, 0x31, 0xC0,                          // xor %eax,%eax
    0x8E, 0xD8,                                // mov %ax,%ds
    0x8E, 0xC0,                                // mov %ax,%es
    0x8E, 0xE0,                                // mov %ax,%fs
    0x8E, 0xE8,                                // mov %ax,%gs
    0x8E, 0xD0,                                // mov %ax,%ss
    0x2E, 0xFF, 0x2E, 0x00, 0x40,              // ljmp *%cs:0x4000       (kStartupPointer)
};
static_assert(kEntry64 + 0x28 == kBase + 0x3128 && kCode[0x28] == 0x0F && kCode[0x6C] == 0xB8,
              "the listing's jump targets (pm32 at +0x28, rm16 at +0x6C) must match the bytes");

void put(std::span<std::byte> rom, uint64_t addr, uint64_t value, unsigned bytes) {
  bits::store_le_n(rom.data() + (addr - kBase), bytes, value);
}

}  // namespace

void build(std::span<std::byte> rom) {
  std::memset(rom.data(), 0, rom.size());
  // PML4[0] -> PDPT; PDPT[3] (1 GiB at 0xC000_0000) -> PD; PD[511] = 2 MiB at 0xFFE0_0000.
  put(rom, kPml4, kPdpt | kTablePte, 8);
  put(rom, kPdpt + 3 * 8, kPd | kTablePte, 8);
  put(rom, kPd + 511 * 8, 0xFFE0'0000 | kLargePagePte, 8);
  for (size_t i = 0; i < std::size(kGdtEntries); ++i) put(rom, kGdt + 8 * i, kGdtEntries[i], 8);
  put(rom, kGdtr, sizeof(kGdtEntries) - 1, 2);
  put(rom, kGdtr + 2, kGdt, 8);
  put(rom, kResetGdtr, 0xFFFF, 2);  // SDM vol. 3A §9.1.1, Table 9-1: GDTR/IDTR after INIT
  put(rom, kResetGdtr + 2, 0, 4);
  put(rom, kResetIdtr, 0x3FF, 2);
  put(rom, kResetIdtr + 2, 0, 4);
  put(rom, kPm32Pointer, kEntry64 + 0x28, 4);
  put(rom, kPm32Pointer + 4, kCode32, 2);
  std::memcpy(rom.data() + (kEntry64 - kBase), kCode, sizeof(kCode));
}

void set_multiboot_entry(std::span<std::byte> rom, uint32_t entry) {
  put(rom, kMultibootEntry, entry, 4);
}

}  // namespace irqremap::x86::boot_rom
