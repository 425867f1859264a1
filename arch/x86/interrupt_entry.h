#pragma once
// Interrupt and exception delivery into a 64-bit guest the way the processor does it
// (Intel SDM vol. 3A §6.14.2 "64-Bit Mode Stack Frame", §6.12.1 "Exception- or
// Interrupt-Handler Procedures"): Unicorn does not vector through the guest IDT itself,
// so the machine does. Pure logic over a register snapshot and GuestMemory, so it is
// tested without Unicorn; the vCPU glue loads and stores the registers.
//
// Supported (and checked, each failure a clear message): gate inside the IDT limit,
// present, 64-bit interrupt or trap gate, handler in the current code segment (the
// stubs run flat at CPL0, so no privilege or CS change happens), IST stacks through the
// TSS. The frame is pushed on a 16-byte aligned stack: SS, RSP, RFLAGS, CS, RIP and, for
// exceptions that have one, the error code. Interrupt gates clear IF; both clear TF, NT
// and RF. Paging is off in the machine's 64-bit reset state, so linear = physical.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::x86 {

struct CpuFrameRegs {
  uint64_t rip = 0, rsp = 0, rflags = 0;
  uint16_t cs = 0, ss = 0;
  uint64_t idtr_base = 0;
  uint32_t idtr_limit = 0;
  uint64_t tr_base = 0;  // TSS base, for IST stacks
};

inline constexpr uint64_t kRflagsIF = 1u << 9, kRflagsTF = 1u << 8, kRflagsNT = 1u << 14,
                          kRflagsRF = 1u << 16, kRflagsVM = 1u << 17;

// Vector `vector` into the guest: on success `regs` holds the handler's RIP, the new RSP
// and RFLAGS; guest memory holds the frame.
std::expected<void, std::string> enter_interrupt(CpuFrameRegs& regs, GuestMemory& mem,
                                                 uint8_t vector,
                                                 std::optional<uint64_t> error_code = {});

}  // namespace irqremap::x86
