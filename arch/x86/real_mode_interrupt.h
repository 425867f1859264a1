#pragma once
// Interrupt and exception delivery in real-address mode (Intel SDM vol. 3A §20.1.4
// "Interrupt and Exception Handling"): the IDT is the interrupt vector table, 4 bytes per
// vector at IDTR.base + 4 * vector (offset in bytes 0-1, segment in bytes 2-3). The
// processor pushes FLAGS, CS and IP (16 bits each) on SS:SP, clears IF, TF and AC
// (RF too, §17.3.1.1), and continues at the entry's segment:offset. No error code is
// pushed in real mode. An entry past IDTR.limit is #GP, and a fault while delivering
// shuts the processor down (§20.1.4): the vCPU stops the run with the message.
//
// Pure logic over a register snapshot and GuestMemory; the vCPU glue loads and stores the
// registers.
#include <cstdint>
#include <expected>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::x86 {

struct RealModeRegs {
  uint16_t ip = 0, cs = 0, sp = 0, ss = 0;
  uint64_t ss_base = 0;   // SS's descriptor-cache base (selector << 4 once loaded in real mode)
  uint32_t flags = 0;     // EFLAGS; the low 16 bits are pushed
  uint64_t idtr_base = 0;
  uint32_t idtr_limit = 0;
};

inline constexpr uint32_t kEflagsAC = 1u << 18;

// Vectors `vector` through the IVT: on success `regs` holds the handler's CS:IP, the new
// SP and FLAGS, and guest memory the 6-byte frame.
std::expected<void, std::string> enter_real_mode_interrupt(RealModeRegs& regs, GuestMemory& mem, uint8_t vector);

}  // namespace irqremap::x86
