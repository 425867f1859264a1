#pragma once
// AArch64 vCPU glue: the AArch64-specific hooks on one CPU's Unicorn engine (the engine,
// the shared RAM mapping, MMIO windows and the scheduler are arch/common's).
//
// Facts about Unicorn 2.0.1 this relies on (checked by tests/arm64/arm64_vcpu_test.cpp):
//  - The engine starts at EL1h with DAIF masked (PSTATE 0x3C5), as QEMU -kernel enters a
//    kernel without EL2.
//  - UC_HOOK_INSN with UC_ARM64_INS_MRS / MSR runs for every MRS/MSR; returning 1 skips
//    the instruction. For registers the emulated Cortex-A57 does not know (the GICv3
//    ICC_* registers: Unicorn has no GIC) the PC does not advance by itself, so the hook
//    moves it past the instruction.
//  - For a register Unicorn does implement (CNTVCT_EL0, CNTV_CTL_EL0, ...) a hook that
//    returns 1 also skips the native access, and moving the PC past the instruction
//    agrees with Unicorn's own advance: the next instruction runs once.
//  - HVC at EL1 without EL2 is UNDEFINED for Unicorn: UC_HOOK_INTR reports exception 1
//    (EXCP_UDEF) with PC at the HVC, nothing vectored. The hook decodes the word there;
//    HVC #0 is a PSCI call (psci.h), emulated and resumed at PC + 4. Any other UNDEFINED
//    instruction stops the run (Unsupported).
//  - WFI ends uc_emu_start with PC after the WFI; the code hook saw it, so the CPU waits
//    for an interrupt.
//  - The engine comes up in Secure state with SCR_EL3.RW = 0, so the EL1&0 regime walks
//    page tables in the AArch32 format and every AArch64 mapping faults. The vCPU sets
//    SCR_EL3.{NS,RW} and HCR_EL2.RW, as on QEMU virt without EL2/EL3, where EL1 is
//    Non-secure AArch64 (Arm ARM D1.1 "Exception levels"); SCR_EL3.HCE stays 0 so HVC
//    stays UNDEFINED to Unicorn and reaches the PSCI hook as today.
//  - Synchronous exceptions are reported to UC_HOOK_INTR and never vectored: SVC (2) with
//    PC after the SVC; UNDEFINED (1) and MMU prefetch aborts (3) with PC at the faulting
//    instruction. An access whose *virtual* address is not in Unicorn's own memory map
//    ends uc_emu_start with UC_ERR_{READ,WRITE,FETCH}_UNMAPPED (PC = the faulting
//    instruction, or the target for a fetch) and the UC_HOOK_MEM_UNMAPPED hook sees the
//    VA, even with the MMU on: Unicorn 2.0.1 looks the VA up before translating
//    (unicorn issue #1718). The vCPU therefore answers a refused access whose VA the
//    guest's tables map onto something backed with an alias page at that VA in this
//    engine (the PA's own RAM page, or a scratch page for MMIO) and runs the
//    instruction again; Unicorn's translation then reaches the PA. Nothing was
//    performed the first time (Unicorn refuses before the access).
//  - Writing UC_ARM64_REG_PSTATE does not rebuild QEMU's cached hflags: the EL used for
//    system-register access checks and for the MMU regime stays the old one until the
//    guest's next MSR or ERET. Entry from EL0 therefore restores an engine context saved
//    at the ERET that left EL1 (EL0 cannot change what hflags depend on), then writes
//    back the registers EL0 can change.
//
// Synchronous exceptions (Arm ARM D1.10; exception_entry.h) are taken to VBAR_EL1 with
// ESR_EL1, FAR_EL1 (aborts), ELR_EL1, SPSR_EL1 as the architecture writes them: SVC,
// undefined instructions (HVC #0 at EL1 is PSCI, not an exception), instruction aborts
// (translation faults; a fetch from a mapped VA with nothing behind its PA is a
// synchronous external abort, FSC 0x10), data aborts on accesses Unicorn reports as
// unmapped (same classification; FAR = the VA). An exception whose vector cannot be
// fetched (VBAR_EL1 = 0 with nothing there) stops the run with one line naming the
// first exception, at its instruction.
//
// Interrupts: before each quantum, `service_interrupts()` asks the CPU interface for a
// signalled LPI. A waiting CPU wakes for it (WFI wakes even with PSTATE.I set, Arm ARM
// D1.16.2). With PSTATE.I clear the IRQ exception is taken as the architecture does it
// (Arm ARM D1.10): ELR_EL1 = PC, SPSR_EL1 = PSTATE, PSTATE.{D,A,I,F} = 1, PSTATE.SP = 1,
// PC = VBAR_EL1 + 0x280 (from EL1h), + 0x080 (from EL1t) or + 0x480 (from EL0, on SP_EL1).
// ERET executes natively.
// A change at this CPU's redistributor or CPU interface (a new pending LPI, EOI, PMR)
// and MSR DAIFClr end the quantum at the next instruction boundary (the code hook of the
// following instruction stops the engine before it runs), so the interrupt is taken with
// ELR_EL1 after the instruction that raised it, and no access is ever performed twice.
#include <unicorn/unicorn.h>

#include <cstdint>
#include <functional>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "arch/arm64/exception_entry.h"
#include "arch/arm64/generic_timer.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/raised_exception.h"
#include "arch/common/va_aliases.h"
#include "arch/arm64/stage1_walk.h"
#include "arch/common/scheduler.h"
#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arm64 {

inline constexpr uint64_t kPstateI = 1u << 7;
inline constexpr uint64_t kPstateEl1h = 0x5, kPstateEl1t = 0x4;
inline constexpr uint64_t kPstateReset = 0x3C5;  // EL1h, D A I F masked

class Arm64Vcpu final : public arch::Vcpu {
 public:
  // HVC #imm from this CPU: x0..x3 in, x0 out; the handler may stop the engine.
  using HvcHandler = std::function<void(Arm64Vcpu& cpu, uint16_t imm)>;

  Arm64Vcpu(unsigned index, uc_engine* uc, GuestMemory& mem, GicCpuInterface& gic, uint64_t mpidr,
            Trace& trace);
  ~Arm64Vcpu() override;
  Arm64Vcpu(const Arm64Vcpu&) = delete;
  Arm64Vcpu& operator=(const Arm64Vcpu&) = delete;

  // Power-on state: PC = entry, x0 = context_id, PSTATE = EL1h with DAIF masked, running.
  void power_on(uint64_t entry, uint64_t context_id);
  void power_off();

  // arch::Vcpu
  unsigned index() const override { return index_; }
  arch::VcpuState state() const override { return state_; }
  void service_interrupts() override;
  arch::StepResult step(uint64_t max_insns) override;
  uint64_t pc() const override;

  uint64_t reg(uc_arm64_reg r) const;
  void set_reg(uc_arm64_reg r, uint64_t v);
  uint64_t pstate() const { return reg(UC_ARM64_REG_PSTATE); }
  uc_engine* engine() const { return uc_; }
  GicCpuInterface& gic() { return gic_; }
  // IRQ exceptions taken so far.
  uint64_t irqs_taken() const { return irqs_; }
  // Synchronous exceptions taken so far.
  uint64_t sync_exceptions_taken() const { return syncs_; }

  // The PE's generic timer: its CNT* registers are then served by it through the MRS/MSR
  // hook (without one, Unicorn's own host-time counter would answer).
  void set_timer(GenericTimer& t) { timer_ = &t; }
  // Instructions retired so far in the running quantum (0 between quanta): the machine's
  // virtual time counts them so a counter read inside a quantum sees them.
  uint64_t executed_in_quantum() const { return in_step_ ? executed_ : 0; }

  void set_hvc_handler(HvcHandler h) { hvc_ = std::move(h); }
  // Called before each instruction (--trace); leave empty otherwise: it is on the hot path.
  void set_on_insn(std::function<void(uint64_t pc)> f) { on_insn_ = std::move(f); }
  // Ends the current quantum after the running instruction retires (an interrupt may be
  // due); safe from MMIO and system-register callbacks inside an instruction.
  void kick();
  // A stop requested from a hook (PSCI SYSTEM_OFF, fault); the quantum ends.
  void request_stop(arch::StopRequest s);

 private:
  static void on_code(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static uint32_t on_sys(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self);
  static void on_intr(uc_engine* uc, uint32_t intno, void* self);
  static bool on_unmapped(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value,
                          void* self);
  bool take_irq();
  // Takes an exception to EL1 (exception_entry.h). `culprit` is the instruction that
  // caused it (for a stop line); `what` names it. False when the run stops instead.
  bool take_exception(ExceptionKind kind, uint32_t esr, std::optional<uint64_t> far, uint64_t return_address,
                      uint64_t culprit, std::string what);
  // The synchronous exception for an access Unicorn reported as unmapped.
  void take_unmapped_abort(uc_err e);
  // Makes Unicorn run at EL1 again after EL0 (see the hflags fact above).
  bool restore_el1_regime();
  TranslationRegs translation_regs() const;
  uint64_t sysreg_value(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) const;
  bool physically_backed(uint64_t pa) const;
  // The instruction word at virtual address `pc` (through the guest's tables when the
  // MMU is on); 0 when nothing is there.
  uint32_t word_at(uint64_t pc) const;
  void forget_code_page() const;

  unsigned index_;
  uc_engine* uc_;
  // An UNDEFINED MRS/MSR seen by on_sys (pmu_absent.h), taken after uc_emu_start returns.
  std::optional<uint64_t> undefined_at_;
  std::string undefined_what_;
  GuestMemory& mem_;
  GicCpuInterface& gic_;
  GenericTimer* timer_ = nullptr;
  uint64_t mpidr_;
  Trace& trace_;
  uc_hook code_hook_ = 0, mrs_hook_ = 0, msr_hook_ = 0, intr_hook_ = 0, unmapped_hook_ = 0;
  uc_context* el1_context_ = nullptr;  // saved at the last ERET executed at EL1
  bool el1_context_valid_ = false;
  struct Unmapped {
    uint64_t address;
    bool write;
  };
  std::optional<Unmapped> unmapped_;  // the access Unicorn refused in this quantum
  // Alias pages mapped at virtual addresses (see the Unicorn facts above).
  arch::VaAliases aliases_{arch::VaAliases::kArm64MaxPages};
  struct FreeDeleter {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, FreeDeleter> scratch_page_;  // behind aliases of MMIO pages
  bool map_alias(uint64_t va, uint64_t pa);
  // QEMU's record of the exception being reported (raised_exception.h).
  std::optional<RaisedException> raised() const { return raised_exception(uc_); }
  // The last exception entry, to tell a vector that cannot be fetched.
  struct LastEntry {
    uint64_t vector;
    uint64_t vector_offset;
    uint64_t culprit;
    std::string what;
    unsigned fetched = 0;  // instructions started since the entry
  };
  std::optional<LastEntry> last_entry_;
  arch::VcpuState state_ = arch::VcpuState::Off;
  bool in_step_ = false;
  bool saw_wfi_ = false;
  bool kick_next_ = false;
  uint64_t executed_ = 0;
  uint64_t limit_ = 0;  // instructions this quantum may retire
  // word_at's cache: where the last instruction word came from (VA range -> host bytes).
  // Dropped at every quantum and at every MSR, so a changed translation is seen.
  mutable uint64_t code_va_ = 0, code_size_ = 0;
  mutable const std::byte* code_host_ = nullptr;
  uint64_t irqs_ = 0;
  uint64_t syncs_ = 0;
  std::optional<arch::StopRequest> stop_;
  std::optional<uint64_t> resume_pc_;
  HvcHandler hvc_;
  std::function<void(uint64_t)> on_insn_;
};

}  // namespace irqremap::arm64
