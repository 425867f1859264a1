#pragma once
// What QEMU recorded about the synchronous exception Unicorn 2.0.1 just reported.
//
// Unicorn reports an exception to UC_HOOK_INTR by number only (QEMU's EXCP_*) and never
// enters the vector, so ESR_EL1 and FAR_EL1 are not written. QEMU did compute them: the
// syndrome (the ESR value, ISS included: for a data abort ISV/SAS/SRT/SF/WnR and the
// FSC) and the faulting virtual address sit in the CPU state as `exception.{syndrome,
// fsr, vaddress}`, which uc_context_save copies with the rest. Their offset in that copy
// is found once per process by taking a known SVC in a scratch engine (the syndrome of
// SVC #0x5A5A is 0x56005A5A: EC 0x15, IL, imm16), so nothing depends on a guessed
// structure layout; if the probe does not find exactly one match, raised_exception()
// answers nullopt and callers fall back to what they can work out themselves.
#include <unicorn/unicorn.h>

#include <cstdint>
#include <optional>

namespace irqremap::arm64 {

struct RaisedException {
  uint32_t syndrome = 0;  // the ESR_ELx value the architecture writes (Arm ARM D17.2.37)
  uint64_t vaddress = 0;  // the FAR_ELx value for aborts (the faulting virtual address)
};

// The syndrome and fault address of the exception `uc` is reporting now (call it from
// the UC_HOOK_INTR hook).
std::optional<RaisedException> raised_exception(uc_engine* uc);

}  // namespace irqremap::arm64
