#pragma once
// What the processor adds when it delivers an exception (Intel SDM vol. 3A §6.13 "Error
// Code", §6.15 "Exception and Interrupt Reference", §4.7 "Page-Fault Exceptions"), as
// plain functions the vCPU glue uses before it vectors through the IDT
// (interrupt_entry.h).
//
// Unicorn 2.0.1 raises the exception but keeps its error code internal, so the machine
// rebuilds it: #DF and #AC always push 0 (§6.15); #TS/#NP/#SS/#GP raised by Unicorn push
// the code the engine kept in its CPU state (error_code_record.h: a selector for IRETQ to a
// bad CS, 0 for a fault no selector caused); those the machine's own delivery raises
// carry their selector or IDT error code (interrupt_entry.h); #PF's code comes from a walk of the guest's page tables for the access that
// faulted (page_walk.h): P (a present translation refused it), W/R (the vCPU decodes the
// instruction, insn_access.h), U/S (CPL 3), I/D (a fetch, with IA32_EFER.NXE).
#include <cstdint>

#include "arch/x86/page_walk.h"
#include "remap/guest_memory.h"

namespace irqremap::x86 {

// Vectors that push an error code (§6.13; 21 #CP too).
constexpr bool exception_has_error_code(uint32_t v) {
  return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21;
}
// Fault-class exceptions (SDM vol. 3A §6.5, Table 6-1): #DE, #BR, #UD, #NM, coprocessor
// segment overrun (9), #TS, #NP, #SS, #GP, #PF, #MF, #AC, #XM, #VE, #CP. #DB is a fault
// only for an instruction breakpoint or DR7.GD, which its raiser knows (not by vector);
// #BP and #OF are traps, #DF and #MC aborts.
constexpr bool exception_is_fault(uint32_t v) {
  return v == 0 || (v >= 5 && v <= 7) || (v >= 9 && v <= 14) || v == 16 || v == 17 || (v >= 19 && v <= 21);
}
// Contributory exceptions and #PF, which turn into #DF when they occur during delivery
// (§6.15, Interrupt 8, Table 6-5).
constexpr bool double_fault_class(uint32_t v) {
  return v == 0 || (v >= 10 && v <= 14);
}

// The #PF error code for `access` to `cr2` under `regs`. A walk that finds nothing to
// refuse (the tables changed since) still reports the access bits.
uint32_t page_fault_error_code(const GuestMemory& mem, const PagingRegs& regs, uint64_t cr2, PageAccess access);

// Whether a #PF at `cr2` raised by the instruction at `rip` was its fetch: CR2 is the
// instruction's first byte or, for an instruction that crosses into the next page, that
// page's first byte.
constexpr bool fault_is_fetch(uint64_t rip, uint64_t cr2) {
  return cr2 == rip || (cr2 > rip && cr2 - rip < 15 && (cr2 & 0xFFF) == 0);
}

}  // namespace irqremap::x86
