#pragma once
// What the processor adds when it delivers an exception (Intel SDM vol. 3A §6.13 "Error
// Code", §6.15 "Exception and Interrupt Reference", §4.7 "Page-Fault Exceptions"), as
// plain functions the vCPU glue uses before it vectors through the IDT
// (interrupt_entry.h).
//
// Unicorn 2.0.1 raises the exception but keeps its error code internal, so the machine
// rebuilds it: #DF and #AC always push 0 (§6.15); #TS/#NP/#SS/#GP push 0, the value for
// faults not caused by a segment selector, which are the only ones a flat 64-bit guest
// raises; #PF's code is rebuilt from the fault address and a walk of the guest's 4-level
// page tables (P: a present translation refused the access; U/S: CPL 3; I/D: the fault
// address is the instruction fetched). W/R cannot be rebuilt from the address alone and
// reads 0 (a read).
#include <cstdint>

#include "remap/guest_memory.h"

namespace irqremap::x86 {

// Vectors that push an error code (§6.13; 21 #CP too).
constexpr bool exception_has_error_code(uint32_t v) {
  return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21;
}
// Contributory exceptions and #PF, which turn into #DF when they occur during delivery
// (§6.15, Interrupt 8, Table 6-5).
constexpr bool double_fault_class(uint32_t v) {
  return v == 0 || (v >= 10 && v <= 14);
}

// #PF error code bits (§4.7, Figure 4-12).
inline constexpr uint32_t kPfPresent = 1u << 0, kPfWrite = 1u << 1, kPfUser = 1u << 2,
                          kPfReserved = 1u << 3, kPfFetch = 1u << 4;

// The error code for `vector` raised at `rip` (CR3 from `cr3`, CR2 = `cr2`, CS = `cs`).
uint32_t exception_error_code(const GuestMemory& mem, uint32_t vector, uint64_t rip, uint64_t cr2,
                              uint16_t cs, uint64_t cr3 = 0);

// Whether the 4-level walk of `linear` from `cr3` ends at a present page (all levels P=1).
bool page_present(const GuestMemory& mem, uint64_t cr3, uint64_t linear);

}  // namespace irqremap::x86
