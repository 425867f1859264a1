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
//    instruction.
//  - Unicorn 2.0.1 looks an access's *virtual* address up in its own memory map before it
//    translates it (unicorn issue #1718), and uses the region found for nothing else. The
//    vCPU therefore maps the unbacked space (arch/common/unbacked_space.h) over every
//    address nothing of the machine occupies, without permissions: any VA the guest's
//    tables produce is found, and an access whose VA lies there reaches the PROT hook
//    first. The vCPU walks the guest's tables for it (decide_unbacked): a PA with nothing
//    behind it is refused before anything is performed (UC_ERR_*_PROT; the PC is the
//    refused instruction because the code hook syncs it, or the fetch target) and taken as
//    a synchronous external abort; everything else goes on through QEMU's own walk, which
//    raises translation, access flag and permission faults precisely itself.
//  - Unicorn 2.0.1 implements software step itself (QEMU's TCG: the hflags bit SS_ACTIVE,
//    computed when hflags are rebuilt, makes a block step one instruction and raise
//    EXCP_UDEF with a Software Step syndrome), but it rebuilds hflags neither after MSR
//    DAIFClr nor after the vCPU writes PSTATE for an exception entry: a stale SS_ACTIVE
//    misses the step after an unmask and raises a spurious step at the vector. So
//    Unicorn's MDSCR_EL1.SS is kept 0 (SS_ACTIVE never set) and the vCPU keeps the
//    guest's MDSCR_EL1 and PSTATE.SS and steps the guest itself (software_step.h).
//    (The MSR DAIFClr half is checked by tests/arm64/fast_mode_test.cpp.)
//  - Writing UC_ARM64_REG_PSTATE does not rebuild QEMU's cached hflags: the EL used for
//    system-register access checks and for the MMU regime stays the old one until the
//    guest's next MSR or ERET. Entry from EL0 therefore restores an engine context saved
//    at the ERET that left EL1 (EL0 cannot change what hflags depend on), then writes
//    back the registers EL0 can change.
//  - An ERET the engine executes does rebuild hflags for the EL it returns to (QEMU's
//    helper_exception_return), whatever wrote the registers before: restoring a snapshot
//    into a fresh engine runs two ERETs from a scratch page for it (vcpu_state.cpp; checked
//    by tests/arm64/snapshot_test.cpp, whose stubs are restored at EL0 and EL1 with FP,
//    MMU and vectors in use).
//  - UC_ARM64_REG_CP_REG writes go through QEMU's raw or write function with no check of
//    the register's type (unicorn_aarch64.c, write_cp_reg): a register QEMU defines as a
//    constant (AFSR0_EL1, AFSR1_EL1, AMAIR_EL1) or a no-op (MDCCINT_EL1, OSDLR_EL1) has
//    no field, so a write lands at offset 0 of the CPU state. Such registers read as
//    their constant (tests/arm64/snapshot_test.cpp) and are never written.
//
// Synchronous exceptions (Arm ARM D1.10; exception_entry.h) are taken to VBAR_EL1 with
// ESR_EL1, FAR_EL1 (aborts), ELR_EL1, SPSR_EL1 as the architecture writes them: SVC,
// undefined instructions (HVC #0 at EL1 is PSCI, not an exception), instruction and data
// aborts: translation, access flag and permission faults as QEMU's walk raises them
// (raised_exception.h), and a synchronous external abort (FSC 0x10, FAR = the VA; Arm ARM
// D8.3 / D17.2.37) for a load, store or fetch whose address translates to a PA with
// nothing behind it, as QEMU virt answers an unassigned address; on a walk whose table
// lies there, an external abort on the walk (FSC 0x14 + level). The one case found after
// the access (a VA outside the unbacked space mapped onto an unbacked PA: a RAM or device
// address remapped onto a hole) is a synchronous external abort at the instruction, with
// ESR.FnV = 1 since the VA is unknown there, the load's destination register holding 0
// (Arm ARM, ESR_ELx ISS encoding for a Data Abort: FAR is UNKNOWN when FnV is 1). An exception whose vector cannot be
// fetched (VBAR_EL1 = 0 with nothing there) stops the run with one line naming the
// first exception, at its instruction.
//
// Execution. Without an instruction trace the vCPU has no per-instruction hook (fast mode);
// what it must see, it sees through these, each checked against libunicorn 2.0.1 by
// tests/arm64/fast_mode_test.cpp:
//  - UC_HOOK_BLOCK runs at the start of every translated block, chained ones included, and
//    a uc_emu_stop from it ends the run before the block executes, with PC at the block.
//    Instructions are counted a block at a time (A64: 4 bytes each); a quantum ends at the
//    first block boundary at or after its limit; an exception inside a block counts the
//    instructions before it (and the one that raised it, as the precise mode does).
//  - The MRS/MSR instruction hooks run with PC synced. Returning 1 for a register Unicorn
//    implements skips the access and the block goes on (the PC is not written: a PC write
//    restarts Unicorn at the written PC after the rest of the block). For a register
//    Unicorn does not know (ICC_*), its block ends at the instruction, and the hook moves
//    the PC past it.
//  - RAM and flash are mapped without execute permission, so every instruction word a
//    block is translated from reaches UC_HOOK_MEM_FETCH_PROT once, at translation
//    (never when the block runs again). A UC_HOOK_CODE hook added there, bounded to that
//    one address, is in the block being translated: ERET (the EL1 context above must be
//    saved before it, and the PMU counts up to it at the old EL) and the PMU registers
//    (the code hook stops before an access that is UNDEFINED or trapped by
//    PMUSERENR_EL0, pmu.h) get one each. No other instruction pays for a hook.
//  - A refused access (unbacked space) stops with a UC_ERR_*_PROT whose PC is the start
//    of a block, not the access, without a code hook. So the vCPU turns a refusal into a
//    fault of QEMU's own walk instead: SCTLR_EL1.M = 1 and TCR_EL1.EPD0 = EPD1 = 1 for the
//    one walk, written raw (no TLB flush), and the access is let through; QEMU raises a
//    translation fault with the PC of the access, and on_intr puts the registers back and
//    takes the external abort the refusal called for.
//  - WFI ends uc_emu_start with the PC after it.
//
// Broadcast maintenance (maintenance_broadcast.h). Every CPU is its own engine, with its own
// TLB and translated code, so what one PE's Inner Shareable maintenance does to the others
// the machine does for it, checked by tests/arm64/smp_coherence_test.cpp:
//  - UC_HOOK_INSN with UC_ARM64_INS_SYS runs for every SYS with op0 = 1 (TLBI, IC, DC, AT)
//    with the PC synced; returning 0 lets the engine perform it.
//  - A TLBI written through uc_reg_write(UC_ARM64_REG_CP_REG) runs the instruction's own
//    write function in that engine (TLBI registers have no raw form), with its operand:
//    each other engine performs the same TLBI, at once (they do not run meanwhile).
//  - uc_ctl_remove_cache(start, end) translates `start` as an instruction fetch of the
//    engine's current regime and drops the translated blocks of that physical range;
//    uc_mem_write drops nothing (Unicorn 2.0.1's invalidate_and_set_dirty is empty), and
//    uc_ctl_flush_tlb is a tb_flush that memsets the whole 1 GiB code buffer (and faults
//    it all in: about 2 s of page clearing each). So for IC IVAU the executing CPU
//    translates the VA, and each other engine drops the line's blocks by its PA:
//    SCTLR_EL1.M cleared raw so the fetch translation is flat, the page's TLB entries
//    dropped before and after (TLBI VAAE1 through the register interface, so neither a
//    stale entry at that VA nor the flat one is used or kept), SCTLR_EL1 put back.
//    IC IALLUIS does the same for every RAM and flash region, whole.
// Interrupts: before each quantum, `service_interrupts()` asks the CPU interface for a
// signalled interrupt. A waiting CPU wakes for it (WFI wakes even with PSTATE.I set, Arm ARM
// D1.16.2). With PSTATE.I clear the IRQ exception is taken as the architecture does it
// (Arm ARM D1.10): ELR_EL1 = PC, SPSR_EL1 = PSTATE, PSTATE.{D,A,I,F} = 1, PSTATE.SP = 1,
// PC = VBAR_EL1 + 0x280 (from EL1h), + 0x080 (from EL1t) or + 0x480 (from EL0, on SP_EL1).
// ERET executes natively. A change at this CPU's redistributor or CPU interface (a new
// pending LPI, EOI, PMR) ends the quantum at the next block boundary, and while an
// interrupt is signalled but masked every block boundary looks at PSTATE.I again: MSR
// DAIFClr, MSR DAIF and ERET each end their block, so the interrupt is taken right after
// the unmask. An interrupt raised by an instruction is thus taken after that instruction
// and at the latest at the end of its translated block — as QEMU's own TCG takes
// interrupts only between blocks; the architecture asks only that it be taken in finite
// time (Arm ARM D1.16 "Interrupt masking": a pending unmasked interrupt is taken "in a
// finite time"). No access is ever performed twice. With an instruction trace (precise
// mode) the code hook of the next instruction stops instead.
#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "arch/arm64/exception_entry.h"
#include "arch/arm64/generic_timer.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/maintenance_broadcast.h"
#include "arch/arm64/pmu.h"
#include "arch/arm64/raised_exception.h"
#include "arch/arm64/self_hosted_debug.h"
#include "arch/arm64/software_step.h"
#include "arch/common/unbacked_space.h"
#include "arch/arm64/stage1_walk.h"
#include "arch/common/scheduler.h"
#include "remap/guest_memory.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

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
  arch::StepResult step(uint64_t max_insns, bool exact = false) override;
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
  // The PE's PMU (pmu.h): every PMU register access is served by it; without one they
  // are UNDEFINED. It counts this CPU's retired instructions (retired()).
  void set_pmu(Pmu& p) { pmu_ = &p; }
  // Instructions this CPU has retired since it was created (in a quantum: up to the last
  // block boundary or exception; see retired_through for a hooked instruction).
  uint64_t retired() const { return retired_base_ + executed_; }
  // Instructions retired so far in the running quantum (0 between quanta): the machine's
  // virtual time counts them so a counter read inside a quantum sees them.
  uint64_t executed_in_quantum() const;

  void set_hvc_handler(HvcHandler h) { hvc_ = std::move(h); }
  // Broadcast maintenance this CPU executed (maintenance_broadcast.h): the machine hands
  // it to every other CPU through apply_remote_maintenance.
  // For IC IVAU, `pa` is the physical address of the line (the VA translated by the CPU
  // that executed it).
  using MaintenanceHandler =
      std::function<void(Arm64Vcpu& from, Broadcast kind, const uc_arm64_cp_reg& op, uint64_t pa)>;
  void set_maintenance_handler(MaintenanceHandler h) { maintenance_ = std::move(h); }
  // Another CPU's broadcast maintenance, applied to this CPU's engine while it does not run
  // (see "Broadcast maintenance" above).
  void apply_remote_maintenance(Broadcast kind, const uc_arm64_cp_reg& op, uint64_t pa);
  // The unbacked space of this CPU's engine (see the facts above); mapped by the first
  // step() if not before. A device window mapped later is carved out of it first.
  std::expected<void, std::string> cover_unbacked_space();
  std::expected<void, std::string> carve_unbacked_space(uint64_t base, uint64_t size);
  const arch::UnbackedSpace* unbacked_space() const { return unbacked_.get(); }
  // Called before each instruction (--trace); leave empty otherwise: it is on the hot path.
  void set_on_insn(std::function<void(uint64_t pc)> f) { on_insn_ = std::move(f); }
  const std::function<void(uint64_t pc)>& on_insn() const { return on_insn_; }
  // Ends the current quantum after the running instruction retires (an interrupt may be
  // due); safe from MMIO and system-register callbacks inside an instruction.
  void kick();
  // Ends the running quantum soon (after this instruction in precise mode, at the end of
  // its block in fast mode) so another CPU gets its turn: an interrupt or a CPU_ON for it.
  void end_quantum() {
    if (!in_step_) return;
    if (precise_) kick_next_ = true;
    else end_quantum_ = true;
  }
  // The guest's MDSCR_EL1 (Unicorn's copy has SS clear; see the facts above).
  uint64_t mdscr() const { return mdscr_; }
  // A stop requested from a hook (PSCI SYSTEM_OFF, fault); the quantum ends.
  void request_stop(arch::StopRequest s);
  // Its part of a machine snapshot (vcpu_state.cpp; docs/SNAPSHOT.md): the PE's power
  // state, the general-purpose, SIMD&FP and EL0/EL1 system registers Unicorn holds, read
  // and written by name, and what the vCPU keeps itself (MDSCR_EL1, PSTATE.SS, DBG*,
  // instruction and exception counts, the last exception entry). Loading is for an
  // engine that has never run: it rebuilds Unicorn's cached state from the registers
  // (see "Restoring" in vcpu_state.cpp).
  void state(snapshot::Io& io);

 private:
  static void on_code(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  // Puts loaded registers into the engine, hflags and the EL1 context included
  // (vcpu_state.cpp); the error says why it could not.
  struct Registers;
  std::expected<void, std::string> write_registers(const Registers& r);
  void read_registers(Registers& r) const;
  // One quantum of at most max_insns instructions (step() minus software step).
  arch::StepResult run_quantum(uint64_t max_insns, bool exact);
  // Software step (software_step.h): the guest's MDSCR_EL1 and PSTATE.SS. While stepping_
  // a quantum runs exactly one instruction.
  uint64_t mdscr_ = 0;
  bool pstate_ss_ = false;
  bool stepping_ = false;
  software_step::State step_state() const;
  // Whether the running quantum must end before the next instruction so that step()
  // deals with software step (a state other than Inactive).
  bool step_due() const {
    return (mdscr_ & software_step::kMdscrSs) != 0 && !stepping_ && step_state() != software_step::State::Inactive;
  }
  // PSTATE.SS after the ERET at `pc` (about to run) returns with SPSR_EL1.
  void on_eret_step();
  static void on_block(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static void on_precise(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static void on_count(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  // Runs the first instructions of the block a budget-bound quantum stopped before, one
  // by one, up to the budget (fast mode; see step()).
  std::optional<uc_err> run_exact_tail();
  static bool on_fetch(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  // Installs the hooks of the mode the first quantum runs in (see "Execution" above).
  void choose_mode();
  // A block is being translated with the instruction at `va`: hooks exactly the
  // instructions the machine must see before they run (ERET, PMU registers).
  void observe_translation(uint64_t va);
  // Instructions of the current block that started before an exception at `pc`.
  void count_partial_block(uint64_t pc, bool pc_started);
  // Puts back what a refusal changed to make QEMU's walk fault (fake_walk_).
  void end_fake_walk();
  static uint32_t on_sys(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self);
  static uint32_t on_maintenance(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* self);
  static void on_intr(uc_engine* uc, uint32_t intno, void* self);
  static bool on_unmapped(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value,
                          void* self);
  bool take_irq();
  // Takes an exception to EL1 (exception_entry.h). `culprit` is the instruction that
  // caused it (for a stop line); `what` names it. False when the run stops instead.
  bool take_exception(ExceptionKind kind, uint32_t esr, std::optional<uint64_t> far, uint64_t return_address,
                      uint64_t culprit, std::string what);
  // Makes Unicorn run at EL1 again after EL0 (see the hflags fact above).
  bool restore_el1_regime();
  TranslationRegs translation_regs() const;
  // The guest's stage 1 translation of `va` now (Arm ARM D8.2), over guest RAM.
  std::expected<Translation, WalkFault> walk(uint64_t va) const;
  uint64_t sysreg_value(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) const;
  // Whether something of the machine (RAM, ROM, a device window) is at `pa`.
  bool physically_backed(uint64_t pa) const { return !unbacked_->contains(pa); }
  // The instruction word at virtual address `pc` (through the guest's tables when the
  // MMU is on); 0 when nothing is there.
  uint32_t word_at(uint64_t pc) const;
  void forget_code_page() const;

  unsigned index_;
  uc_engine* uc_;
  MaintenanceHandler maintenance_;
  // Drops what this engine translated from guest physical [pa, pa + size).
  void forget_code_at(uint64_t pa, uint64_t size);
  // An UNDEFINED or trapped MRS/MSR seen by on_sys (a PMU register), taken after
  // uc_emu_start returns.
  std::optional<uint64_t> undefined_at_;
  std::string undefined_what_;
  // The syndrome and FAR of the exception undefined_at_ takes: Undefined Instruction
  // unless a hardware breakpoint set them (on_breakpoint).
  uint32_t undefined_esr_ = syndrome::uncategorized();
  std::optional<uint64_t> undefined_far_;
  // Self-hosted debug registers (self_hosted_debug.h) and the bounded code hooks on the
  // enabled breakpoints' addresses (fast mode), rebuilt at the next quantum after a write.
  SelfHostedDebug debug_;
  std::vector<uc_hook> breakpoint_hooks_;
  std::vector<uint64_t> breakpoint_hooked_;
  bool breakpoints_dirty_ = false;
  void apply_breakpoints();
  // A breakpoint for the instruction at `va` (now: EL, MDSCR_EL1, PSTATE.D): its number.
  std::optional<unsigned> breakpoint_hit(uint64_t va) const;
  uint32_t contextidr() const;  // CONTEXTIDR_EL1, for linked Context ID breakpoints
  static void on_breakpoint(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  // Watchpoints (self_hosted_debug.h): while one is enabled, every instruction is looked
  // at before it runs (a global code hook in fast mode, on_code in precise mode) and a
  // load or store (data_access.h) that touches a watched byte takes the Watchpoint
  // exception before it is performed. No instruction pays for this otherwise.
  uc_hook watch_hook_ = 0;
  bool watch_mode_ = false;
  void apply_watchpoints();
  // Whether the instruction at `va` hits a watchpoint now (undefined_at_ and its syndrome
  // and FAR are then set).
  bool watch_hit(uint64_t va);
  static void on_watch(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  GuestMemory& mem_;
  GicCpuInterface& gic_;
  GenericTimer* timer_ = nullptr;
  Pmu* pmu_ = nullptr;
  uint64_t retired_base_ = 0;  // instructions retired before the running quantum
  // Retired instructions up to and including the hooked instruction at `pc` (a code hook
  // runs before its instruction; fast mode counted its block at the block's start).
  uint64_t retired_through(uint64_t pc) const;
  // How an access to PMU register `enc` by instruction `w` at `pc` goes: false when it is
  // UNDEFINED or trapped (undefined_at_ and its syndrome are then set).
  bool pmu_access_allowed(uint64_t pc, uint32_t w);
  uint64_t mpidr_;
  Trace& trace_;
  uc_hook code_hook_ = 0, mrs_hook_ = 0, msr_hook_ = 0, sys_hook_ = 0, intr_hook_ = 0, unmapped_hook_ = 0;
  uc_context* el1_context_ = nullptr;  // saved at the last ERET executed at EL1
  bool el1_context_valid_ = false;
  // An access refused in this quantum (decide_unbacked), taken after uc_emu_start returns.
  struct Refused {
    uint64_t va;
    arch::UnbackedSpace::Access access;
    uint32_t fsc;  // ISS.xFSC: external abort (0x10) or external abort on a walk
  };
  std::optional<Refused> refused_;
  std::optional<uint64_t> unmapped_;  // a VA Unicorn found in no region (see step())
  // An access that reached a physical address with nothing behind it through a VA outside
  // the unbacked space (the MMIO backstop): the instruction that made it and the PA.
  struct UnbackedPa {
    uint64_t culprit;
    uint64_t pa;
    bool write;
  };
  std::optional<UnbackedPa> unbacked_pa_;
  // Mapped when the first quantum starts, after the machine has mapped its windows.
  std::unique_ptr<arch::UnbackedSpace> unbacked_;
  bool decide_unbacked(uint64_t va, arch::UnbackedSpace::Access access);
  void on_unbacked_pa(uint64_t pa, arch::UnbackedSpace::Access access);
  // Takes the external abort for refused_ or unbacked_pa_ (false: the run stops instead).
  void take_external_abort(uc_err e);
  // Takes a pending SError interrupt when PSTATE.A allows (false: still pending).
  bool take_serror();
  uint64_t insn_pc_ = 0;  // the instruction the code hook saw last
  // Execution mode: precise (a per-instruction code hook; an instruction trace) or fast
  // (a block hook), decided at the first step.
  bool precise_ = false, mode_chosen_ = false;
  uc_hook block_hook_ = 0, fetch_hook_ = 0;
  std::set<uint64_t> precise_at_;  // addresses with a code hook of their own
  std::vector<uc_hook> precise_hooks_;
  uint64_t block_start_ = 0, pending_ = 0;  // the running block and its instructions
  bool irq_check_ = false;          // look for an unmasked signalled IRQ at the next block
  bool end_quantum_ = false;        // end the quantum at the next block boundary
  std::optional<uint64_t> stop_at_;  // the block a block-hook stop ended the run before
  bool exact_ = false;              // the limit is the run's budget: keep it exactly
  struct Tail {
    uint64_t address, size;
  };
  std::optional<Tail> exact_tail_;  // the block that would have overshot the budget
  bool counting_ = false;           // run_exact_tail: on_count counts, on_block does not
  bool serror_pending_ = false;     // an asynchronous external abort waits for PSTATE.A
  // Whether Unicorn's Cortex-A57 implements a system register (a hooked MRS/MSR of one
  // it does not know ends its block; see the facts above). Filled as registers are seen.
  std::unordered_map<uint32_t, bool> unicorn_knows_;
  bool unicorn_knows(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2);
  // Asks for a quantum boundary after the running instruction (precise mode) or at the
  // end of its block (fast mode), where a signalled unmasked IRQ is taken.
  void boundary();
  bool stopped_before_block_ = false;
  bool exception_in_quantum_ = false;
  std::optional<uint64_t> sys_pc_;  // the MRS/MSR being hooked (its PC is synced)
  // A refused access turned into a fault of QEMU's own walk (fast mode): the registers
  // changed for it, put back when the fault arrives.
  struct FakeWalk {
    uint64_t sctlr, tcr;
  };
  std::optional<FakeWalk> fake_walk_;
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
  // translation_regs()'s cache, and the VA pages decide_unbacked let through (direct
  // mapped), both dropped with word_at's: a quantum or an MSR may change the translation.
  // A page the guest remaps onto nothing without an MSR in between may stay let through
  // (as a TLB entry may until TLB maintenance); its access is then found by the MMIO
  // backstop instead (an SError in fast mode).
  mutable std::optional<TranslationRegs> tregs_;
  static constexpr std::size_t kAllowedPages = 64;
  mutable std::array<uint64_t, kAllowedPages> allowed_{};  // VA page | 1, or 0
  mutable const std::byte* code_host_ = nullptr;
  uint64_t irqs_ = 0;
  uint64_t syncs_ = 0;
  std::optional<arch::StopRequest> stop_;
  std::optional<uint64_t> resume_pc_;
  HvcHandler hvc_;
  std::function<void(uint64_t)> on_insn_;
};

}  // namespace irqremap::arm64
