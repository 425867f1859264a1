#pragma once
// The x86-64 machine's memory and I/O map (q35-like where q35 has the part; docs/DESIGN.md
// "Machines"). Guest firmware uses these addresses directly (guest-fw/x86/lib/machine.h
// repeats them for C; a test checks the two agree).
//
//   0x0000_0000  RAM (kRamSize by default)  images load at 0x0010_0000 (1 MiB)
//   0xFEA0_0000  PCI memory window, 2 MiB, where BARs decode:
//   0xFEA0_0000    edu BAR0 1 MiB (00:01.0, requester ID 0x0008), as SeaBIOS places it
//   0xFEB0_0000  IMSDEV  64 KiB   irqremap's common device, requester ID 00:03.0 (its BAR0)
//   0xFEC0_0000  IOAPIC   4 KiB   I/O APIC, 24 pins
//   I/O 0x0CF8   PCI configuration mechanism #1 (0xCF8 address, 0xCFC..0xCFF data)
//   0xFED9_0000  DMAR     4 KiB   VT-d remapping unit, as on QEMU q35
//   0xFEDF_0000  WAKEUP   4 KiB   ACPI multiprocessor wakeup mailbox (ACPI 6.4 §5.2.12.19)
//   0xFEE0_0000  LAPIC    4 KiB   local APIC, each CPU sees its own (xAPIC MMIO)
//   0xFF00_0000  TESTDEV 64 KiB   pc-testdev iomem (pc_testdev.h: also I/O 0xE0..0xEB, 0x2000..0x2017)
//   0xFFFF_0000  BOOTROM 16 KiB   boot ROM (boot_rom.h); 0xFFFF_4000 per-CPU start-up pointer
//   I/O 0x0510   fw_cfg           QEMU firmware configuration (selector, data at 0x511)
//   I/O 0x00F4   isa-debug-exit   exit status (value << 1) | 1
//   I/O 0x03F8   COM1 16550 UART  transmit to stdout or a capture
#include <cstdint>

#include "remap/msi.h"

namespace irqremap::x86::map {

inline constexpr uint64_t kRamBase = 0;
inline constexpr uint64_t kRamSize = 32ull << 20;
// RAM lies below the device window; 2 MiB holds an image at 1 MiB and the boot information.
inline constexpr uint64_t kMinRamSize = 2ull << 20;
inline constexpr uint64_t kMaxRamSize = 3ull << 30;
inline constexpr uint64_t kKernelLoad = 0x0010'0000;
inline constexpr uint64_t kPciWindow = 0xFEA0'0000;
inline constexpr uint64_t kPciWindowSize = 0x20'0000;
inline constexpr uint64_t kEduBar0 = 0xFEA0'0000;
inline constexpr uint16_t kEduRid = make_rid(0, 1, 0);
inline constexpr uint64_t kIoApicBase = 0xFEC0'0000;
inline constexpr uint16_t kPciConfigPort = 0xCF8;
inline constexpr uint64_t kDeviceBase = 0xFEB0'0000;
inline constexpr uint64_t kDeviceSize = 0x1'0000;
inline constexpr uint16_t kDeviceRid = make_rid(0, 3, 0);
inline constexpr uint64_t kVtdBase = 0xFED9'0000;
inline constexpr uint64_t kVtdSize = 0x1000;
inline constexpr uint64_t kWakeupMailbox = 0xFEDF'0000;
inline constexpr uint64_t kLapicBase = 0xFEE0'0000;
inline constexpr uint16_t kDebugExitPort = 0xF4;
inline constexpr uint16_t kCom1Port = 0x3F8;
inline constexpr unsigned kMaxCpus = 8;

}  // namespace irqremap::x86::map
