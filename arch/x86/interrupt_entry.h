#pragma once
// Interrupt and exception delivery in IA-32e mode the way the processor does it (Intel SDM
// vol. 3A §6.12.1 "Exception- or Interrupt-Handler Procedures", §6.14 "Exception and
// Interrupt Handling in 64-bit Mode", and the INT n/INTO/INT3/INT1 instruction page's
// "Operation"): Unicorn does not vector through the guest IDT itself, so the machine does.
// Pure logic over a register snapshot and GuestMemory, tested without Unicorn; the vCPU
// glue loads and stores the registers (and the hidden parts of CS and SS,
// segment_state.h).
//
// The checks, each an architected fault with the error code of §6.13 (EXT is bit 0, set
// unless the event is a software interrupt; IDT bit 1 for a gate, a selector's index and
// TI otherwise):
//  - the 16-byte gate lies inside IDTR.limit and is a 64-bit interrupt or trap gate:
//    otherwise #GP(vector*8 + 2 + EXT);
//  - for INT n, INT3 and INTO, gate DPL >= CPL: otherwise #GP(vector*8 + 2);
//  - the gate is present: otherwise #NP(vector*8 + 2 + EXT);
//  - its selector is not null (#GP(EXT)), lies inside the GDT or LDT (#GP(selector + EXT)),
//    names a code segment with DPL <= CPL (#GP(selector + EXT)) that is present
//    (#NP(selector + EXT)) and is 64-bit code, L = 1 and D = 0 (#GP(selector + EXT));
//  - the handler's RIP is canonical (#GP(EXT));
//  - a non-conforming segment with DPL < CPL changes privilege: the new CPL is its DPL and
//    the stack comes from the 64-bit TSS (RSPn for the new CPL, or ISTn when the gate
//    names one), whose bytes must lie inside TR.limit (#TS(TR selector + EXT)); SS is
//    then the null selector with RPL = new CPL (§6.14.4). A gate's IST switches the stack
//    without a privilege change too (§6.14.5). A non-canonical new RSP is #SS(EXT).
// The frame is pushed on the new stack aligned to 16 bytes (§6.14.2): SS, RSP, RFLAGS
// (RF set for a fault, InterruptEvent::fault), CS, RIP and, for exceptions that have one,
// the error code. Interrupt gates clear IF;
// both clear TF, NT, RF and VM. A frame or table that lies outside guest RAM is no
// architected fault here (the machine treats it as a fault during delivery: #DF).
// Descriptor tables, the TSS and the new stack are addressed by linear address (§3.5.1:
// the tables' base addresses are linear; §3.4.2), so with paging on they go through the
// guest's page tables as supervisor-mode accesses (§4.6: implicit supervisor-mode
// accesses): a `LinearMemory` does the translation, and a page fault there is a #PF of the
// delivery (error code and CR2), which the machine treats as any fault during delivery
// (#DF after a contributory one or a #PF, §6.15 Table 6-5).
#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::x86 {

struct TableReg {
  uint64_t base = 0;
  uint32_t limit = 0;
};

struct CpuFrameRegs {
  uint64_t rip = 0, rsp = 0, rflags = 0;
  uint16_t cs = 0, ss = 0;
  unsigned cpl = 0;
  TableReg idtr, gdtr, ldtr;
  TableReg tr;  // the TSS, as TR's hidden part holds it
  uint16_t tr_selector = 0;
};

inline constexpr uint64_t kRflagsIF = 1u << 9, kRflagsTF = 1u << 8, kRflagsNT = 1u << 14,
                          kRflagsRF = 1u << 16, kRflagsVM = 1u << 17;

// What is being delivered.
struct InterruptEvent {
  uint8_t vector = 0;
  std::optional<uint64_t> error_code;  // pushed when present
  bool software = false;  // INT n, INT3, INTO: gate DPL checked, EXT = 0 in fault codes
  // A fault-class exception: the RFLAGS image pushed has RF = 1 (SDM vol. 3A §18.3.1.1,
  // "for any fault-class exception except a debug exception generated in response to an
  // instruction breakpoint"), so the handler's IRETQ restarts the instruction without a
  // second instruction-breakpoint #DB. INT n, INT3 and INTO push RF = 0 (they clear it as
  // they start); traps, aborts, NMI and interrupts push RF as it is.
  bool fault = false;
};

// What the processor loaded: CS's descriptor (for its hidden part), and whether SS changed.
struct InterruptEntry {
  // nullopt: the gate names the null selector while CS is null too, Unicorn's 64-bit reset
  // state (no GDT; boot_rom.h), which keeps its flat CPL 0 code segment.
  std::optional<uint64_t> cs_descriptor;
  bool stack_switched = false;  // privilege change: SS = null | new CPL
};

// Why delivery did not happen: the architected fault (vector, error code; CR2 for a #PF),
// or none when a table or the frame lies outside guest RAM.
struct DeliveryFault {
  std::optional<uint8_t> vector;
  uint32_t error_code = 0;
  std::string what;
  std::optional<uint64_t> cr2;  // a #PF's linear address
};

// Memory as delivery reaches it: 8-byte reads and writes by linear address.
class LinearMemory {
 public:
  virtual ~LinearMemory() = default;
  virtual std::expected<uint64_t, DeliveryFault> read64(uint64_t linear) = 0;
  virtual std::expected<void, DeliveryFault> write64(uint64_t linear, uint64_t value) = 0;
};

// Linear = physical: paging off, and the tests of the pure logic.
class PhysicalMemory final : public LinearMemory {
 public:
  explicit PhysicalMemory(GuestMemory& mem) : mem_(mem) {}
  std::expected<uint64_t, DeliveryFault> read64(uint64_t a) override;
  std::expected<void, DeliveryFault> write64(uint64_t a, uint64_t v) override;

 private:
  GuestMemory& mem_;
};

// Vector `event` into the guest: on success `regs` holds the handler's RIP, CS, CPL, the
// new RSP, SS and RFLAGS; guest memory holds the frame. On a fault `regs` is unchanged.
std::expected<InterruptEntry, DeliveryFault> enter_interrupt(CpuFrameRegs& regs, LinearMemory& mem,
                                                             const InterruptEvent& event);
// The same with linear = physical.
std::expected<InterruptEntry, DeliveryFault> enter_interrupt(CpuFrameRegs& regs, GuestMemory& mem,
                                                             const InterruptEvent& event);

// The old form: an exception or interrupt (not software), for callers that only deliver.
std::expected<void, std::string> enter_interrupt(CpuFrameRegs& regs, GuestMemory& mem, uint8_t vector,
                                                 std::optional<uint64_t> error_code = {});

}  // namespace irqremap::x86
