#pragma once
// Unicorn 2.0.1 glue: forgetting the exception "in flight" once the machine has delivered it.
//
// When the engine raises an exception it first runs QEMU's nested-exception check
// (target/i386/excp_helper.c, check_exception): it remembers a contributory exception
// (#DE, #TS, #NP, #SS, #GP) or a #PF as "in flight", turns a second one that arrives while
// the first is in flight into #DF, and a fault while #DF is in flight into a triple fault
// (SDM vol. 3A §6.15, Interrupt 8, Table 6-5). QEMU forgets the exception when its own
// delivery has finished; Unicorn hands exceptions to UC_HOOK_INTR and never delivers them,
// so the record is never cleared: after one #GP the guest's next #GP arrives as #DF, and the
// one after silently ends uc_emu_start (a triple fault is a reset request, which Unicorn
// ignores). The machine delivers exceptions itself (exception_delivery.h), so after each
// delivery it clears the record, as QEMU's delivery would.
//
// Unicorn has no API for the field. It is part of the CPU state that uc_context_save copies,
// so its offset in a saved context is found once by experiment on a scratch engine: the
// field reads -1 after reset, 0 after a #DE and 8 (#DF) after a second #DE.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <expected>
#include <string>

namespace irqremap::x86 {

class ExceptionInFlight {
 public:
  // The offset, found on first use (one scratch engine, three instructions).
  static std::expected<ExceptionInFlight, std::string> locate();

  size_t offset() const { return offset_; }
  // Reads the record in `scratch` after saving `uc`'s state into it (-1 = none).
  int read(uc_engine* uc, uc_context* scratch) const;
  // Sets the record to "none" (-1). `scratch` is a context allocated for `uc`.
  void clear(uc_engine* uc, uc_context* scratch) const;

 private:
  explicit ExceptionInFlight(size_t offset) : offset_(offset) {}
  size_t offset_;
};

}  // namespace irqremap::x86
