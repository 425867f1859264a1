#pragma once
// What a PC BIOS leaves for real-mode software below 1 MiB, as far as interrupts go
// (QEMU boots every x86 image through SeaBIOS, so images built for it may rely on it):
//  - the interrupt vector table at 0 (Intel SDM vol. 3A §20.1.4): IRQ 0 (vector 08h) to a
//    timer handler that counts ticks in the BIOS data area's dword at 0040:006Ch (as
//    every BIOS since the IBM PC), calls INT 1Ch and ends the interrupt at the 8259
//    (EOI); IRQ 1-7 (09h-0Fh) and IRQ 8-15 (70h-77h) to handlers that only end the
//    interrupt at their PIC(s); every other vector to an IRET;
//  - those handlers in the BIOS area at F000:xxxx (reserved in the memory map the
//    multiboot loader reports).
// The 8259s and the 8254 are programmed to match (pic8259.h bios_setup, pit8254.h
// bios_setup): a real-mode program that enables interrupts and halts is woken by the
// 18.2 Hz tick, as on QEMU. Not done, said once here: the tick counter's midnight
// rollover and every other BIOS service.
#include <cstdint>

#include "remap/guest_memory.h"

namespace irqremap::x86::bios {

inline constexpr uint16_t kSegment = 0xF000;
inline constexpr uint16_t kTimerHandler = 0xFEA5;   // the IBM PC BIOS's INT 08h entry
inline constexpr uint16_t kMasterEoiHandler = 0xFF00;
inline constexpr uint16_t kSlaveEoiHandler = 0xFF10;
inline constexpr uint16_t kIretHandler = 0xFF53;    // the IBM PC BIOS's dummy IRET
inline constexpr uint64_t kTickCount = 0x46C;      // BIOS data area 0040:006Ch

// Writes the vector table and the handlers into guest RAM. False when RAM does not hold
// the first MiB.
bool install(GuestMemory& mem);

}  // namespace irqremap::x86::bios
