#pragma once
// The machine's boot ROM at the top of 4 GiB (where a PC's BIOS sits): the code that takes
// a vCPU from Unicorn's x86-64 reset state into the state a PC boot protocol promises.
//
// Why it exists: Unicorn 2.0.1's UC_MODE_64 engine starts with EFER.LMA=1, CR0.PE=1 and
// CR0.PG=0, and its register writes for CS/SS/DS/ES and CR0 store raw values without
// updating the CPU's mode flags. Only guest instructions change modes, and the processor
// leaves IA-32e mode only when paging goes from on to off (SDM vol. 3A §10.8.5 "Initializing
// IA-32e Mode": clearing CR0.PG deactivates IA-32e mode). So the ROM turns paging on with
// its own identity map of the ROM, far-jumps to a 32-bit code segment, turns paging off
// (LMA becomes 0) and clears EFER. QEMU does the same job with its multiboot option ROM.
// Engines opened in UC_MODE_32 or UC_MODE_16 cannot be used instead: they do not report
// long mode (CPUID.80000001h:EDX.LM) and so refuse EFER.LME, and the image must switch to
// long mode itself.
//
// Two paths, chosen by ESI when the vCPU enters `kEntry64` (see boot_entry()):
//  - ESI = 0, multiboot (Multiboot 0.6.96 §3.2 "Machine state"): 32-bit protected mode,
//    paging off, CS = 0x08 and DS/ES/FS/GS/SS = 0x10 flat 4 GiB descriptors from the ROM's
//    GDT, EAX = 0x2BADB002, EBX = what the host put in EBX (the information structure),
//    then a jump to the 32-bit entry stored at `kMultibootEntry`.
//  - ESI = 1, start-up IPI (SDM vol. 3A §9.4.4.1 / §11.6.1 "Start-Up"): real mode with
//    the reset values GDTR = {0, 0xFFFF}, IDTR = {0, 0x3FF}, data segments 0 and 16-bit,
//    then a far jump through the pointer at `kStartupPointer`: a per-CPU page the machine
//    serves with IP = 0 and CS = vector << 8, so the AP starts at vector << 12.
// Every general register but EAX/EBX (multiboot) is 0 at the target, as after INIT.
#include <cstddef>
#include <cstdint>
#include <span>

namespace irqremap::x86::boot_rom {

inline constexpr uint64_t kBase = 0xFFFF'0000;     // ROM base, also the 16-bit CS base
inline constexpr uint64_t kSize = 0x4000;          // page tables, GDT, code
inline constexpr uint64_t kPml4 = kBase + 0x0000;  // identity map of the ROM's 2 MiB
inline constexpr uint64_t kPdpt = kBase + 0x1000;
inline constexpr uint64_t kPd = kBase + 0x2000;
inline constexpr uint64_t kGdt = kBase + 0x3000;
inline constexpr uint64_t kGdtr = kBase + 0x3030;         // 10-byte pseudo-descriptor
inline constexpr uint64_t kResetGdtr = kBase + 0x3040;    // {limit 0xFFFF, base 0}
inline constexpr uint64_t kResetIdtr = kBase + 0x3048;    // {limit 0x3FF, base 0}
inline constexpr uint64_t kPm32Pointer = kBase + 0x3050;  // m16:32 to the 32-bit code
inline constexpr uint64_t kMultibootEntry = kBase + 0x3058;  // 32-bit entry (host writes)
inline constexpr uint64_t kEntry64 = kBase + 0x3100;
// Per-CPU start-up pointer page (m16:16), outside the ROM so each CPU sees its own.
inline constexpr uint64_t kStartupPointer = kBase + 0x4000;
inline constexpr uint64_t kStartupPageSize = 0x1000;

// GDT selectors the ROM defines (the 32-bit ones are what the multiboot image sees in CS/DS).
inline constexpr uint16_t kCode32 = 0x08, kData32 = 0x10, kCode16 = 0x18, kData16 = 0x20;

// Fills `rom` (kSize bytes, mapped at kBase) with the page tables, GDT, pseudo-descriptors
// and code. The multiboot entry at kMultibootEntry is 0 until set_multiboot_entry().
void build(std::span<std::byte> rom);
void set_multiboot_entry(std::span<std::byte> rom, uint32_t entry);

// The ESI value that selects a path at kEntry64.
enum class Path : uint32_t { Multiboot = 0, StartupIpi = 1 };

}  // namespace irqremap::x86::boot_rom
