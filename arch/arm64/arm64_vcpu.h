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
//
// Interrupts: before each quantum, `service_interrupts()` asks the CPU interface for a
// signalled LPI. A waiting CPU wakes for it (WFI wakes even with PSTATE.I set, Arm ARM
// D1.16.2). With PSTATE.I clear the IRQ exception is taken as the architecture does it
// (Arm ARM D1.10): ELR_EL1 = PC, SPSR_EL1 = PSTATE, PSTATE.{D,A,I,F} = 1, PSTATE.SP = 1,
// PC = VBAR_EL1 + 0x280 (from EL1h) or + 0x080 (from EL1t). ERET executes natively.
// A change at this CPU's redistributor or CPU interface (a new pending LPI, EOI, PMR)
// and MSR DAIFClr end the quantum at the next instruction boundary (the code hook of the
// following instruction stops the engine before it runs), so the interrupt is taken with
// ELR_EL1 after the instruction that raised it, and no access is ever performed twice.
#include <unicorn/unicorn.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "arch/arm64/generic_timer.h"
#include "arch/arm64/gic_cpu_interface.h"
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
  bool take_irq();
  uint32_t word_at(uint64_t pc) const;

  unsigned index_;
  uc_engine* uc_;
  GuestMemory& mem_;
  GicCpuInterface& gic_;
  GenericTimer* timer_ = nullptr;
  uint64_t mpidr_;
  Trace& trace_;
  uc_hook code_hook_ = 0, mrs_hook_ = 0, msr_hook_ = 0, intr_hook_ = 0;
  arch::VcpuState state_ = arch::VcpuState::Off;
  bool in_step_ = false;
  bool saw_wfi_ = false;
  bool kick_next_ = false;
  uint64_t executed_ = 0;
  uint64_t limit_ = 0;  // instructions this quantum may retire
  // word_at's cache: the guest memory region the last instruction word came from.
  mutable uint64_t code_base_ = 0, code_size_ = 0;
  mutable const std::byte* code_host_ = nullptr;
  uint64_t irqs_ = 0;
  std::optional<arch::StopRequest> stop_;
  std::optional<uint64_t> resume_pc_;
  HvcHandler hvc_;
  std::function<void(uint64_t)> on_insn_;
};

}  // namespace irqremap::arm64
