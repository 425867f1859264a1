#include "arch/arm64/arm64_vcpu.h"

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "arch/arm64/data_access.h"
#include "arch/arm64/raised_exception.h"
#include "arch/common/host_stop.h"
#include "arch/common/unicorn_abort.h"
#include "arch/arm64/id_registers.h"
#include "remap/bits.h"

namespace irqremap::arm64 {

namespace {

constexpr uint32_t kMpidrEl1 = sysreg(3, 0, 0, 0, 5);
constexpr uint32_t kMdscrEl1 = sysreg(2, 0, 0, 2, 2);
constexpr uint32_t kWfi = 0xD503'207F;
constexpr uint32_t kEret = 0xD69F'03E0;
// SCR_EL3 = RW | RES1 (bits 5:4) | NS; HCR_EL2.RW: EL1 is Non-secure AArch64 (Arm ARM
// D17.2.117, D17.2.48), as on a machine without EL2 and EL3. See the header's facts.
constexpr uint64_t kScrEl3 = (uint64_t{1} << 10) | 0x30 | 1;
constexpr uint64_t kHcrEl2Rw = uint64_t{1} << 31;
constexpr uint32_t kDaif = sysreg(3, 3, 4, 2, 1);  // DAIF (MRS/MSR register form)
constexpr uint64_t kMpidrRes1 = uint64_t{1} << 31;  // MPIDR_EL1 bit 31 is RES1

// SPSR_EL1 through the generic coprocessor access (Unicorn 2.0.1 has no register enum).
uc_arm64_cp_reg spsr_el1(uint64_t v = 0) { return uc_arm64_cp_reg{4, 0, 3, 0, 0, v}; }
// uc_arm64_cp_reg is {crn, crm, op0, op1, op2, val}.
uc_arm64_cp_reg cp_reg(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2, uint64_t v = 0) {
  return uc_arm64_cp_reg{crn, crm, op0, op1, op2, v};
}

// The system register an MRS/MSR (register form, Arm ARM C6.2.x) word accesses.
constexpr uint32_t sysreg_of(uint32_t w) {
  return sysreg(2 + ((w >> 19) & 1), (w >> 16) & 7, (w >> 12) & 0xF, (w >> 8) & 0xF, (w >> 5) & 7);
}

// Whether instruction word `w` is an MRS/MSR of a PMU register (pmu.h), which the vCPU
// checks before it runs: it may be UNDEFINED or trapped by PMUSERENR_EL0.
bool is_pmu_access(uint32_t w) {
  if ((w & 0xFFD0'0000) != 0xD510'0000) return false;
  return Pmu::is_pmu_register(sysreg_of(w));
}

// Unicorn's exception numbers (QEMU target/arm EXCP_*) for a readable stop line.
std::string exception_name(uint32_t n) {
  switch (n) {
    case 1: return "undefined instruction";
    case 2: return "SVC";
    case 3: return "prefetch abort";
    case 4: return "data abort";
    case 7: return "breakpoint";
    case 11: return "HVC";
    case 13: return "SMC";
    default: return fmt::format("exception {}", n);
  }
}

}  // namespace

Arm64Vcpu::Arm64Vcpu(unsigned index, uc_engine* uc, GuestMemory& mem, GicCpuInterface& gic,
                     uint64_t mpidr, Trace& trace)
    : index_(index), uc_(uc), mem_(mem), gic_(gic), mpidr_(mpidr), trace_(trace) {
  arch::install_abort_guard();
  uc_hook_add(uc_, &mrs_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&Arm64Vcpu::on_sys), this, 1, 0,
              UC_ARM64_INS_MRS);
  uc_hook_add(uc_, &msr_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&Arm64Vcpu::on_sys), this, 1, 0,
              UC_ARM64_INS_MSR);
  // SYS with op0 = 1 (TLBI, IC, DC, AT): only the broadcast forms matter here, the rest
  // are Unicorn's (on_maintenance returns 0 for all: the engine performs each itself).
  uc_hook_add(uc_, &sys_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&Arm64Vcpu::on_maintenance), this, 1, 0,
              UC_ARM64_INS_SYS);
  uc_hook_add(uc_, &intr_hook_, UC_HOOK_INTR, reinterpret_cast<void*>(&Arm64Vcpu::on_intr), this, 1, 0);
  uc_hook_add(uc_, &unmapped_hook_, UC_HOOK_MEM_UNMAPPED, reinterpret_cast<void*>(&Arm64Vcpu::on_unmapped), this,
              1, 0);
  uc_arm64_cp_reg scr = cp_reg(3, 6, 1, 1, 0, kScrEl3), hcr = cp_reg(3, 4, 1, 1, 0, kHcrEl2Rw);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &scr);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &hcr);
  uc_context_alloc(uc_, &el1_context_);
}

Arm64Vcpu::~Arm64Vcpu() {
  for (uc_hook h : {code_hook_, mrs_hook_, msr_hook_, sys_hook_, intr_hook_, unmapped_hook_, block_hook_, fetch_hook_})
    if (h != 0) uc_hook_del(uc_, h);
  for (uc_hook h : precise_hooks_) uc_hook_del(uc_, h);
  if (watch_hook_ != 0) uc_hook_del(uc_, watch_hook_);
  if (el1_context_) uc_context_free(el1_context_);
}

uint64_t Arm64Vcpu::reg(uc_arm64_reg r) const {
  uint64_t v = 0;
  uc_reg_read(uc_, r, &v);
  return v;
}

void Arm64Vcpu::set_reg(uc_arm64_reg r, uint64_t v) { uc_reg_write(uc_, r, &v); }

uint64_t Arm64Vcpu::pc() const { return reg(UC_ARM64_REG_PC); }

uint32_t Arm64Vcpu::word_at(uint64_t pc) const {
  // The code hook reads every instruction word: remember where the last one came from
  // (a whole RAM region with the MMU off, one 4 KiB page with it on), so the common case
  // is a bounds check and a load, not a region search or a table walk.
  if (pc - code_va_ < code_size_ && code_size_ - (pc - code_va_) >= 4)
    return bits::load_le<uint32_t>(code_host_ + (pc - code_va_));
  // SCTLR_EL1.M alone decides; the other translation registers only matter with it set.
  if ((sysreg_value(3, 0, 1, 0, 0) & 1) == 0) {
    for (const GuestMemory::Region& r : mem_.regions()) {
      if (pc >= r.base && pc - r.base <= r.size - 4) {
        code_va_ = r.base;
        code_size_ = r.size;
        code_host_ = r.host;
        return bits::load_le<uint32_t>(code_host_ + (pc - code_va_));
      }
    }
    return 0;
  }
  // MMU on: the word at a virtual address is read at the physical address the guest's
  // tables give (code at a VA other than its PA: a kernel linked high).
  auto t = walk(pc);
  if (!t) return 0;
  constexpr uint64_t kPage = 0x1000;
  std::byte* host = mem_.host_ptr(t->pa & ~(kPage - 1), kPage);
  if (host == nullptr) return 0;
  code_va_ = pc & ~(kPage - 1);
  code_size_ = kPage;
  code_host_ = host;
  return bits::load_le<uint32_t>(code_host_ + (pc - code_va_));
}

void Arm64Vcpu::forget_code_page() const {
  code_size_ = 0;
  tregs_.reset();
  allowed_.fill(0);
}

void Arm64Vcpu::power_on(uint64_t entry, uint64_t context_id) {
  set_reg(UC_ARM64_REG_PSTATE, kPstateReset);
  set_reg(UC_ARM64_REG_X0, context_id);
  set_reg(UC_ARM64_REG_PC, entry);
  state_ = arch::VcpuState::Running;
  saw_wfi_ = false;
}

void Arm64Vcpu::power_off() {
  state_ = arch::VcpuState::Off;
  if (in_step_) uc_emu_stop(uc_);
}

void Arm64Vcpu::kick() {
  // Never stop Unicorn here: a kick comes from inside an instruction (an MMIO store to
  // GITS_TRANSLATER, an MSR to an ICC_* register). Stopped there, Unicorn reports that
  // instruction's own PC, and resuming at it would perform the access again (issue 11:
  // a self-targeted LPI re-raised forever). The code hook of the next instruction ends
  // the quantum before that instruction runs, so the interrupt is taken at the boundary
  // after the one that raised it (docs/DESIGN.md "Machines", precision).
  // With PSTATE.I set nothing can be taken now, so the quantum goes on; the unmask
  // (MSR DAIFClr, MSR DAIF, ERET) asks for the boundary itself (on_code, on_sys). In fast
  // mode every block boundary looks while an interrupt is signalled (on_block).
  if (!in_step_) return;
  if (!precise_) irq_check_ = true;
  else if ((pstate() & kPstateI) == 0) kick_next_ = true;
}

void Arm64Vcpu::boundary() {
  if (precise_) kick_next_ = true;
  else irq_check_ = true;
}

bool Arm64Vcpu::unicorn_knows(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) {
  const uint32_t enc = sysreg(op0, op1, crn, crm, op2);
  if (auto it = unicorn_knows_.find(enc); it != unicorn_knows_.end()) return it->second;
  // Unicorn 2.0.1 reads a register through uc_reg_read with QEMU's raw read, which
  // asserts (aborting the host) for a write-only register it defines: no field, no read
  // function. Those the machine performs are known without asking.
  constexpr uint32_t kWriteOnlyKnown[] = {
      sysreg(3, 3, 9, 12, 4),  // PMSWINC_EL0
      sysreg(2, 0, 1, 0, 4),   // OSLAR_EL1
  };
  for (uint32_t w : kWriteOnlyKnown) {
    if (w == enc) {
      unicorn_knows_.emplace(enc, true);
      return true;
    }
  }
  uc_arm64_cp_reg r = cp_reg(op0, op1, crn, crm, op2);
  const bool known = uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &r) == UC_ERR_OK;
  unicorn_knows_.emplace(enc, known);
  return known;
}

uint64_t Arm64Vcpu::executed_in_quantum() const {
  if (!in_step_) return 0;
  // Fast mode counts whole blocks; inside an MRS/MSR hook the PC is the instruction's, so
  // the running block's instructions up to it count too (as the code hook counts them).
  if (!precise_ && sys_pc_ && *sys_pc_ >= block_start_ && *sys_pc_ - block_start_ < 4 * pending_)
    return executed_ + (*sys_pc_ - block_start_) / 4 + 1;
  return executed_;
}

void Arm64Vcpu::request_stop(arch::StopRequest s) {
  if (!stop_) stop_ = std::move(s);
  uc_emu_stop(uc_);
}

uint64_t Arm64Vcpu::sysreg_value(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) const {
  uc_arm64_cp_reg r = cp_reg(op0, op1, crn, crm, op2);
  uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &r);
  return r.val;
}

std::expected<Translation, WalkFault> Arm64Vcpu::walk(uint64_t va) const {
  return stage1_translate(va, translation_regs(), [this](uint64_t pa) -> std::optional<uint64_t> {
    auto v = mem_.read64(pa);
    return v ? std::optional<uint64_t>(*v) : std::nullopt;
  });
}

TranslationRegs Arm64Vcpu::translation_regs() const {
  if (!tregs_)
    tregs_ = TranslationRegs{sysreg_value(3, 0, 1, 0, 0), sysreg_value(3, 0, 2, 0, 2), reg(UC_ARM64_REG_TTBR0_EL1),
                             reg(UC_ARM64_REG_TTBR1_EL1)};
  return *tregs_;
}

std::expected<void, std::string> Arm64Vcpu::cover_unbacked_space() {
  if (unbacked_) return {};
  auto space = std::make_unique<arch::UnbackedSpace>(
      uc_,
      [this](uint64_t va, arch::UnbackedSpace::Access a) {
        const bool go = decide_unbacked(va, a);
        if (go && a == arch::UnbackedSpace::Access::Fetch && !precise_ && !fake_walk_) observe_translation(va);
        return go;
      },
      [this](uint64_t pa, arch::UnbackedSpace::Access a, unsigned) { on_unbacked_pa(pa, a); });
  if (auto ok = space->cover(); !ok) return ok;
  unbacked_ = std::move(space);
  return {};
}

std::expected<void, std::string> Arm64Vcpu::carve_unbacked_space(uint64_t base, uint64_t size) {
  if (!unbacked_) return {};
  return unbacked_->carve(base, size);
}

bool Arm64Vcpu::decide_unbacked(uint64_t va, arch::UnbackedSpace::Access access) {
  // The same walk QEMU is about to make (Arm ARM D8.2), only to learn whether the access
  // ends on something the machine has. Where it does not, the architecture performs no
  // access: refuse it now, before Unicorn performs anything, and take the abort when the
  // quantum ends.
  constexpr uint64_t kPage = 0x1000;
  uint64_t& allowed = allowed_[(va / kPage) % kAllowedPages];
  if (allowed == ((va & ~(kPage - 1)) | 1)) return true;
  auto t = walk(va);
  uint32_t fsc_value = fsc::kSyncExternal;
  if (!t) {
    // Translation and access flag faults (and granules this walk does not model) are
    // QEMU's to raise, precisely and with its own syndrome.
    if (t.error().kind != WalkFault::Kind::ExternalOnWalk) return true;
    fsc_value = t.error().fsc();  // a table with nothing behind it: external abort on the walk
  } else if (physically_backed(t->pa)) {
    allowed = (va & ~(kPage - 1)) | 1;
    return true;
  }
  if (refused_ || fake_walk_) return false;  // one refusal at a time
  refused_ = Refused{va, access, fsc_value};
  if (precise_) return false;  // UC_ERR_*_PROT with the PC the code hook synced
  // Fast mode: Unicorn's own refusal would leave the PC at the start of a block, so make
  // QEMU's walk fault instead, with the PC of this access (see the facts in the header):
  // stage 1 on, both table walks disabled (TCR_EL1.EPD0/EPD1), written raw for this one
  // walk; on_intr puts them back.
  constexpr uint64_t kEpd0 = uint64_t{1} << 7, kEpd1 = uint64_t{1} << 23;
  const uint64_t sctlr = sysreg_value(3, 0, 1, 0, 0), tcr = sysreg_value(3, 0, 2, 0, 2);
  fake_walk_ = FakeWalk{sctlr, tcr};
  forget_code_page();  // the registers change for this one walk
  uc_arm64_cp_reg m = cp_reg(3, 0, 1, 0, 0, sctlr | 1), t2 = cp_reg(3, 0, 2, 0, 2, tcr | kEpd0 | kEpd1);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &m);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &t2);
  return true;
}

void Arm64Vcpu::end_fake_walk() {
  if (!fake_walk_) return;
  uc_arm64_cp_reg m = cp_reg(3, 0, 1, 0, 0, fake_walk_->sctlr), t = cp_reg(3, 0, 2, 0, 2, fake_walk_->tcr);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &m);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &t);
  fake_walk_.reset();
  forget_code_page();
}

void Arm64Vcpu::on_unbacked_pa(uint64_t pa, arch::UnbackedSpace::Access access) {
  // Reached after the access (its VA lies outside the unbacked space): the instruction
  // completes with a read of 0 or a dropped write; stop before the next one and take the
  // abort at this one. A read made to translate an instruction is told apart when the
  // quantum ends (take_external_abort).
  if (!unbacked_pa_) unbacked_pa_ = UnbackedPa{insn_pc_, pa, access == arch::UnbackedSpace::Access::Write};
  if (in_step_ && precise_) kick_next_ = true;  // fast mode: on_block ends the quantum
}

bool Arm64Vcpu::restore_el1_regime() {
  if (!el1_context_valid_) return false;
  // Everything EL0 can change (Arm ARM D1.6: EL0 cannot write the EL1 system registers
  // that hflags derive from) is carried over; the rest of the saved context is what EL1
  // left at its ERET, which EL0 could not have changed.
  std::array<uint64_t, 31> x{};
  for (unsigned i = 0; i < 29; ++i) x[i] = reg(uc_arm64_reg(UC_ARM64_REG_X0 + i));
  x[29] = reg(UC_ARM64_REG_X29);
  x[30] = reg(UC_ARM64_REG_X30);
  std::array<std::array<uint64_t, 2>, 32> q{};  // Q0..Q31, 128 bits each
  for (unsigned i = 0; i < 32; ++i) uc_reg_read(uc_, uc_arm64_reg(UC_ARM64_REG_Q0 + i), q[i].data());
  uint32_t fpcr = 0, fpsr = 0;
  uc_reg_read(uc_, UC_ARM64_REG_FPCR, &fpcr);
  uc_reg_read(uc_, UC_ARM64_REG_FPSR, &fpsr);
  const uint64_t tpidr_el0 = reg(UC_ARM64_REG_TPIDR_EL0);
  uc_context_restore(uc_, el1_context_);
  forget_code_page();
  for (unsigned i = 0; i < 29; ++i) set_reg(uc_arm64_reg(UC_ARM64_REG_X0 + i), x[i]);
  set_reg(UC_ARM64_REG_X29, x[29]);
  set_reg(UC_ARM64_REG_X30, x[30]);
  for (unsigned i = 0; i < 32; ++i) uc_reg_write(uc_, uc_arm64_reg(UC_ARM64_REG_Q0 + i), q[i].data());
  uc_reg_write(uc_, UC_ARM64_REG_FPCR, &fpcr);
  uc_reg_write(uc_, UC_ARM64_REG_FPSR, &fpsr);
  set_reg(UC_ARM64_REG_TPIDR_EL0, tpidr_el0);
  return true;
}

bool Arm64Vcpu::take_exception(ExceptionKind kind, uint32_t esr, std::optional<uint64_t> far,
                               uint64_t return_address, uint64_t culprit, std::string what) {
  const uint64_t ps = pstate(), from = pc();
  const uint64_t vbar = reg(UC_ARM64_REG_VBAR_EL1);
  auto plan = plan_exception_entry(ExceptionSource{ps, return_address, vbar}, kind);
  auto stop_at_culprit = [&](std::string msg) {
    // Report the instruction that raised it, not wherever the PC got to.
    if (in_step_) resume_pc_ = culprit;
    else set_reg(UC_ARM64_REG_PC, culprit);
    request_stop({arch::StopKind::GuestFault, std::move(msg), 1});
    return false;
  };
  if (!plan) return stop_at_culprit(fmt::format("guest {}: {}", what, plan.error()));
  // An exception raised by the first instruction of the vector just entered: the guest
  // has no vectors there (nothing to fetch, or zeros that are UNDEFINED), and the
  // architecture would take it again to the same vector forever.
  if (last_entry_ && culprit == last_entry_->vector && kind == ExceptionKind::Synchronous) {
    const LastEntry first = *last_entry_;
    last_entry_.reset();
    const bool fetch = syndrome::exception_class(esr) == ExceptionClass::InsnAbortSame ||
                       syndrome::exception_class(esr) == ExceptionClass::InsnAbortLower;
    culprit = first.culprit;
    return stop_at_culprit(fmt::format("guest fault: {} with no exception vector: VBAR_EL1 {:#x} + {:#x} = {:#x} {}",
                                       first.what, vbar, first.vector_offset, first.vector,
                                       fetch ? "cannot be fetched" : fmt::format("raises {} itself", what)));
  }
  const uint64_t sp = reg(UC_ARM64_REG_SP);
  const uint64_t sp_el1 = plan->from_sp_el0 ? reg(UC_ARM64_REG_SP_EL1) : sp;
  // The PMU counted what ran so far at the old EL; from here on at EL1.
  if (pmu_) pmu_->sync(retired(), 1);
  // Exception entry clears PSTATE.SS; SPSR.SS keeps it for an asynchronous exception
  // taken before a stepped instruction ran (Arm ARM D2.12.x), so the return steps it.
  const bool ss = std::exchange(pstate_ss_, false);
  if (ss && kind != ExceptionKind::Synchronous) plan->spsr |= software_step::kSpsrSs;
  if (plan->from_el0 && !restore_el1_regime())
    return stop_at_culprit(fmt::format("guest {} at EL0, which was not entered by ERET: the EL1 regime cannot be restored", what));
  set_reg(UC_ARM64_REG_PSTATE, plan->pstate);
  if (plan->from_sp_el0) {
    // PSTATE writes do not bank SP: move SP_EL0 out and SP_EL1 in by hand.
    set_reg(UC_ARM64_REG_SP_EL0, sp);
    set_reg(UC_ARM64_REG_SP, sp_el1);
  }
  uc_arm64_cp_reg spsr = spsr_el1(plan->spsr);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &spsr);
  set_reg(UC_ARM64_REG_ELR_EL1, plan->elr);
  if (kind == ExceptionKind::Synchronous || kind == ExceptionKind::SError) set_reg(UC_ARM64_REG_ESR_EL1, esr);
  if (far) set_reg(UC_ARM64_REG_FAR_EL1, *far);
  set_reg(UC_ARM64_REG_PC, plan->vector);
  last_entry_ = LastEntry{plan->vector, plan->vector_offset, culprit,
                          kind == ExceptionKind::Synchronous
                              ? fmt::format("{} (ESR_EL1 {:#x}{})", what, esr, far ? fmt::format(", FAR_EL1 {:#x}", *far) : "")
                              : what};
  if (kind == ExceptionKind::Irq) ++irqs_;
  else ++syncs_;
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, fmt::format("cpu{}", index_),
                 fmt::format("{} exception taken: PC {:#x} -> VBAR_EL1+{:#x} = {:#x}{}{}", what, from, plan->vector_offset,
                             plan->vector,
                             kind == ExceptionKind::Synchronous ? fmt::format(" (ESR_EL1 {:#x}{})", esr,
                                                                                  far ? fmt::format(", FAR_EL1 {:#x}", *far) : "")
                                                                : std::string(),
                             state_ == arch::VcpuState::WaitingForInterrupt ? " (woke from WFI)" : ""),
                 {{"cpu", index_}, {"pc", from}, {"vector", plan->vector}}};
  });
  return true;
}

bool Arm64Vcpu::take_irq() {
  // The preferred return address of an interrupt is the next instruction not executed.
  const uint64_t at = pc();
  return take_exception(ExceptionKind::Irq, 0, std::nullopt, at, at, "IRQ");
}

void Arm64Vcpu::service_interrupts() {
  if (state_ == arch::VcpuState::Off) return;
  // Between quanta: the PMU takes in the last quantum's instructions (an overflow raises
  // PPI 23 before the interrupt check below).
  if (pmu_) pmu_->sync(retired(), pstate::el(pstate()));
  if (serror_pending_ && state_ == arch::VcpuState::Running) take_serror();
  if (!gic_.signalled()) return;
  if (state_ == arch::VcpuState::WaitingForInterrupt) {
    state_ = arch::VcpuState::Running;  // WFI wakes even with PSTATE.I set
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, fmt::format("cpu{}", index_), "WFI wake-up: an interrupt is signalled",
                   {{"cpu", index_}}};
    });
  }
  if ((pstate() & kPstateI) == 0) take_irq();
}

software_step::State Arm64Vcpu::step_state() const {
  const uint64_t ps = pstate();
  return software_step::state(mdscr_, pstate::el(ps), (ps & software_step::kSpsrD) != 0, pstate_ss_);
}

void Arm64Vcpu::on_eret_step() {
  if ((mdscr_ & software_step::kMdscrSs) == 0) {
    pstate_ss_ = false;
    return;
  }
  pstate_ss_ = software_step::ss_after_eret(mdscr_, sysreg_value(3, 0, 4, 0, 0));  // SPSR_EL1
}

arch::StepResult Arm64Vcpu::step(uint64_t max_insns, bool exact) {
  using software_step::State;
  if ((mdscr_ & software_step::kMdscrSs) == 0 || state_ != arch::VcpuState::Running) [[likely]]
    return run_quantum(max_insns, exact);
  const uint64_t at = pc();
  const bool same_el = pstate::el(pstate()) == 1;
  switch (step_state()) {
    case State::Inactive: return run_quantum(max_insns, exact);
    case State::ActivePending:
      // Entered without stepping an instruction (an unmask, an exception return with
      // SPSR.SS = 0): the exception comes before the next instruction, ISV = 0.
      if (!take_exception(ExceptionKind::Synchronous, syndrome::software_step(same_el, false, false), std::nullopt, at,
                          at, "software step")) {
        arch::StepResult r{0, std::move(stop_)};
        stop_.reset();
        if (resume_pc_) set_reg(UC_ARM64_REG_PC, *std::exchange(resume_pc_, std::nullopt));
        return r;
      }
      return run_quantum(max_insns, exact);
    case State::ActiveNotPending: break;
  }
  // Active-not-pending: exactly one instruction, then (still active, nothing taken) the
  // Software Step exception with ISV = 1 before the next one (Arm ARM D2.12).
  const uint32_t w = word_at(at);
  const uint64_t taken = syncs_ + irqs_;
  stepping_ = true;
  arch::StepResult r = run_quantum(1, true);
  stepping_ = false;
  if (w != kEret) pstate_ss_ = false;  // an ERET set it from SPSR.SS (on_eret_step)
  if (r.stop || r.executed == 0 || syncs_ + irqs_ != taken || state_ == arch::VcpuState::Off) return r;
  if (state_ == arch::VcpuState::WaitingForInterrupt) state_ = arch::VcpuState::Running;  // the step ends the WFI
  if (step_state() != State::ActivePending) return r;
  const uint64_t next = pc();
  const bool same = pstate::el(pstate()) == 1;
  if (!take_exception(ExceptionKind::Synchronous, syndrome::software_step(same, true, software_step::is_load_exclusive(w)),
                      std::nullopt, next, at, "software step")) {
    r.stop = std::move(stop_);
    stop_.reset();
    if (resume_pc_) set_reg(UC_ARM64_REG_PC, *std::exchange(resume_pc_, std::nullopt));
  }
  return r;
}

arch::StepResult Arm64Vcpu::run_quantum(uint64_t max_insns, bool exact) {
  forget_code_page();  // another CPU (or this one, last quantum) may have changed the tables
  retired_base_ += executed_;
  executed_ = 0;
  saw_wfi_ = false;
  kick_next_ = false;
  refused_.reset();
  unbacked_pa_.reset();
  undefined_at_.reset();
  pending_ = 0;
  end_quantum_ = false;
  stopped_before_block_ = false;
  exception_in_quantum_ = false;
  stop_at_.reset();
  exact_ = exact;
  exact_tail_.reset();
  if (!unbacked_) {
    if (auto ok = cover_unbacked_space(); !ok)
      return arch::StepResult{0, arch::StopRequest{arch::StopKind::Unsupported, ok.error(), 1}};
  }
  if (!mode_chosen_) choose_mode();
  if (breakpoints_dirty_) apply_breakpoints();
  // A signalled interrupt this quantum cannot take yet (PSTATE.I) is looked for at every
  // block boundary until the unmask.
  irq_check_ = !precise_ && gic_.signalled().has_value();
  in_step_ = true;
  // The quantum is counted by our own hooks (on_code, on_block), not by Unicorn's
  // `count`: Unicorn would add a per-instruction hook for it. `until` is an address no
  // instruction has, so no PC (flash at 0 included) ends the run.
  limit_ = max_insns;
  const uint64_t start = pc();
  const std::optional<uc_err> ran = arch::guarded_emu_start(uc_, start, ~uint64_t{0}, 0, 0);
  in_step_ = false;
  end_fake_walk();  // a refusal whose fault never came (the run ended first)
  executed_ += pending_;  // the last block ran whole (an exception counted its part)
  pending_ = 0;
  if (stop_at_) set_reg(UC_ARM64_REG_PC, *stop_at_);
  std::optional<uc_err> ran_all = ran;
  if (ran && *ran == UC_ERR_OK && exact_tail_ && !stop_ && !undefined_at_ && state_ == arch::VcpuState::Running)
    ran_all = run_exact_tail();
  if (!ran_all) {
    return arch::StepResult{executed_,
                            arch::StopRequest{arch::StopKind::Unsupported, arch::unicorn_abort_message(start, "PC"), 1}};
  }
  const uc_err e = *ran_all;
  if (resume_pc_) {
    set_reg(UC_ARM64_REG_PC, *resume_pc_);
    resume_pc_.reset();
  }
  arch::StepResult r{executed_, std::nullopt};
  if (undefined_at_) {
    // An UNDEFINED system-register access (on_sys): the Undefined Instruction exception,
    // ELR = the instruction (Arm ARM D1.10.4); nothing after it ran, nor was fetched.
    const uint64_t at = *std::exchange(undefined_at_, std::nullopt);
    const uint32_t esr = std::exchange(undefined_esr_, syndrome::uncategorized());
    const std::optional<uint64_t> far = std::exchange(undefined_far_, std::nullopt);
    refused_.reset();
    unbacked_pa_.reset();
    if (!stop_) take_exception(ExceptionKind::Synchronous, esr, far, at, at, std::exchange(undefined_what_, {}));
    if (stop_) {
      r.stop = std::move(stop_);
      stop_.reset();
    }
    return r;
  }
  if (state_ == arch::VcpuState::Off && !stop_) return r;  // PSCI CPU_OFF ended the quantum
  if (stop_) {
    r.stop = std::move(stop_);
    stop_.reset();
    return r;
  }
  const bool refused = (e == UC_ERR_READ_PROT || e == UC_ERR_WRITE_PROT || e == UC_ERR_FETCH_PROT) && refused_;
  if (refused || (e == UC_ERR_OK && unbacked_pa_)) {
    take_external_abort(e);
    if (stop_) {
      if (resume_pc_) set_reg(UC_ARM64_REG_PC, *resume_pc_);
      resume_pc_.reset();
      r.stop = std::move(stop_);
      stop_.reset();
    }
    return r;
  }
  refused_.reset();
  unbacked_pa_.reset();
  if (unmapped_) {
    // Cannot happen while the unbacked space covers every address; said plainly if it does.
    r.stop = arch::StopRequest{arch::StopKind::GuestFault,
                               fmt::format("guest access to VA {:#x} outside Unicorn's memory map", *unmapped_),
                               1};
    unmapped_.reset();
    return r;
  }
  if (e != UC_ERR_OK) {
    const bool invalid = e == UC_ERR_INSN_INVALID;
    r.stop = arch::StopRequest{invalid ? arch::StopKind::Unsupported : arch::StopKind::GuestFault,
                               invalid ? "invalid or unsupported instruction"
                                       : fmt::format("guest fault: {}", uc_strerror(e)),
                               1};
    return r;
  }
  // WFI ends uc_emu_start with PC past it. (A quantum ending exactly on the WFI leaves PC
  // at it; it then runs first in the next quantum.)
  // Fast mode: only WFI ends uc_emu_start by itself without an error.
  const bool wfi_ended = precise_ ? saw_wfi_ : !stopped_before_block_;
  if (wfi_ended && state_ == arch::VcpuState::Running && word_at(pc() - 4) == kWfi)
    state_ = arch::VcpuState::WaitingForInterrupt;
  return r;
}

void Arm64Vcpu::count_partial_block(uint64_t pc, bool pc_started) {
  if (pc >= block_start_ && pc - block_start_ < 4 * pending_) executed_ += (pc - block_start_) / 4 + (pc_started ? 1 : 0);
  else executed_ += pending_;  // raised at the start of the next block: this one ran whole
  pending_ = 0;
}

void Arm64Vcpu::choose_mode() {
  mode_chosen_ = true;
  precise_ = bool(on_insn_);
  if (precise_) {
    uc_hook_add(uc_, &code_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(&Arm64Vcpu::on_code), this, 1, 0);
    return;
  }
  uc_hook_add(uc_, &block_hook_, UC_HOOK_BLOCK, reinterpret_cast<void*>(&Arm64Vcpu::on_block), this, 1, 0);
  // RAM and flash without execute permission: every instruction word translated from
  // them reaches on_fetch once (see the facts in the header).
  for (const GuestMemory::Region& r : mem_.regions())
    uc_mem_protect(uc_, r.base, r.size, r.read_only ? UC_PROT_READ : (UC_PROT_READ | UC_PROT_WRITE));
  uc_hook_add(uc_, &fetch_hook_, UC_HOOK_MEM_FETCH_PROT, reinterpret_cast<void*>(&Arm64Vcpu::on_fetch), this, 1, 0);
}

void Arm64Vcpu::observe_translation(uint64_t va) {
  // An instruction the machine must see before it runs gets a code hook of its own,
  // bounded to its address: Unicorn checks for one right after this fetch, so the block
  // being translated already calls it. The cap keeps a guest that scatters such words
  // (a fuzzer) from growing Unicorn's hook list without end; past it, ERET no longer saves
  // the EL1 context and a PMU access is taken at the end of its block.
  constexpr std::size_t kMaxPreciseHooks = 4096;
  if (precise_at_.contains(va) || precise_at_.size() >= kMaxPreciseHooks) return;
  const uint32_t w = word_at(va);
  if (w != kEret && !is_pmu_access(w)) return;
  uc_hook h = 0;
  if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&Arm64Vcpu::on_precise), this, va, va) != UC_ERR_OK)
    return;
  precise_hooks_.push_back(h);
  precise_at_.insert(va);
}

bool Arm64Vcpu::on_fetch(uc_engine*, uc_mem_type, uint64_t address, int, int64_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  // The unbacked space decides for its own addresses (decide_unbacked observes those).
  if (self->unbacked_ && self->unbacked_->contains(address)) return false;
  self->observe_translation(address);
  return true;
}

void Arm64Vcpu::on_block(uc_engine*, uint64_t address, uint32_t size, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  // A refusal QEMU did not fault on (its TLB still held the page): nothing to take.
  if (self->fake_walk_) {
    self->end_fake_walk();
    self->refused_.reset();
  }
  self->executed_ += self->pending_;  // the block before ran whole
  self->pending_ = 0;
  // The vector's first block is running; after it the entry is done.
  if (self->last_entry_ && address != self->last_entry_->vector) self->last_entry_.reset();
  if (self->counting_) {  // run_exact_tail counts each instruction itself
    if (self->stepping_ && self->executed_ >= self->limit_) {
      // The stepped instruction branched (or took an exception): stop at the next block.
      self->stop_at_ = address;
      self->stopped_before_block_ = true;
      uc_emu_stop(self->uc_);
    }
    return;
  }
  // A host stop (Ctrl-C, SIGTERM: host_stop.h) ends even a long quantum at the next block.
  bool stop = self->stop_.has_value() || self->end_quantum_ || self->unbacked_pa_.has_value() ||
              self->executed_ >= self->limit_ || self->state_ != arch::VcpuState::Running ||
              arch::host_stop_request() != 0;
  if (!stop && self->exact_ && self->executed_ + size / 4 > self->limit_) {
    // This block would run past the budget: stop before it, then run its first
    // instructions one by one (run_exact_tail).
    self->exact_tail_ = Tail{address, size};
    stop = true;
  }
  // Software step may be due (an unmask, an exception return, MDSCR_EL1.SS): step() acts.
  if (!stop && self->step_due()) stop = true;
  if (!stop && self->irq_check_) {
    // An interrupt is (or may be) signalled: take it here once PSTATE.I lets it in.
    if (self->gic_.signalled()) stop = (self->pstate() & kPstateI) == 0;
    else self->irq_check_ = false;
  }
  if (stop) {
    // Ends the run before this block executes; with a code hook anywhere in the engine
    // Unicorn does not put the PC back at the block itself, so step() does.
    self->stop_at_ = address;
    self->stopped_before_block_ = true;
    uc_emu_stop(self->uc_);
    return;
  }
  self->block_start_ = address;
  self->pending_ = size / 4;
}

std::optional<uc_err> Arm64Vcpu::run_exact_tail() {
  // A code hook bounded to the block, and the block translated again so that it calls
  // it; both undone afterwards, so the block runs hook-free again. Fewer instructions
  // than the block holds are left, so the run ends inside it (a block branches only at
  // its end) or at an exception, which on_intr handles as in any quantum.
  const Tail t = *std::exchange(exact_tail_, std::nullopt);
  uc_hook h = 0;
  if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&Arm64Vcpu::on_count), this, t.address,
                  t.address + t.size - 1) != UC_ERR_OK)
    return UC_ERR_OK;  // the quantum ends at the block boundary instead
  uc_ctl_remove_cache(uc_, t.address, t.address + t.size);
  counting_ = true;
  stopped_before_block_ = false;
  stop_at_.reset();
  in_step_ = true;
  std::optional<uc_err> ran = arch::guarded_emu_start(uc_, t.address, ~uint64_t{0}, 0, 0);
  in_step_ = false;
  counting_ = false;
  end_fake_walk();
  uc_hook_del(uc_, h);
  uc_ctl_remove_cache(uc_, t.address, t.address + t.size);
  return ran;
}

void Arm64Vcpu::on_count(uc_engine*, uint64_t, uint32_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  if (self->executed_ >= self->limit_) {
    self->stopped_before_block_ = true;  // not a WFI: the budget ended the run
    uc_emu_stop(self->uc_);              // before this instruction (the code hook synced PC)
    return;
  }
  ++self->executed_;
}

void Arm64Vcpu::on_precise(uc_engine*, uint64_t address, uint32_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  const uint32_t w = self->word_at(address);
  if (w == kEret) {
    // Keep the EL1 engine state (its hflags) for the next exception from EL0.
    if (self->el1_context_ && pstate::el(self->pstate()) == 1)
      self->el1_context_valid_ = uc_context_save(self->uc_, self->el1_context_) == UC_ERR_OK;
    // The PMU counts up to the ERET at this EL, then at the EL it returns to (SPSR_EL1.M[3:2]).
    if (self->pmu_)
      self->pmu_->sync(self->retired_through(address), pstate::el(self->sysreg_value(3, 0, 4, 0, 0)));
    self->on_eret_step();
    return;
  }
  if (is_pmu_access(w)) {
    // Stop before an access that is UNDEFINED or trapped (pmu.h); step() takes the
    // exception with ELR = this instruction. An allowed one goes on to on_sys.
    if (self->pmu_access_allowed(address, w)) return;
    self->count_partial_block(address, true);
    uc_emu_stop(self->uc_);
  }
}

uint64_t Arm64Vcpu::retired_through(uint64_t pc) const {
  if (precise_ || counting_) return retired_base_ + executed_;  // on_code / on_count counted it
  if (pc >= block_start_ && pc - block_start_ < 4 * pending_) return retired_base_ + executed_ + (pc - block_start_) / 4 + 1;
  return retired_base_ + executed_;
}

bool Arm64Vcpu::pmu_access_allowed(uint64_t pc, uint32_t w) {
  const uint32_t enc = sysreg_of(w);
  const bool is_read = (w & (1u << 21)) != 0;
  const unsigned el = pstate::el(pstate());
  const Pmu::Check c = pmu_ ? pmu_->check(enc, is_read, el) : Pmu::Check::Undefined;
  if (c == Pmu::Check::Ok) return true;
  undefined_at_ = pc;
  undefined_esr_ = c == Pmu::Check::TrapToEl1 ? syndrome::sysreg_trap(w) : syndrome::uncategorized();
  undefined_what_ = fmt::format("{} {} at EL{} ({})", is_read ? "MRS" : "MSR", Pmu::name(enc), el,
                                c == Pmu::Check::TrapToEl1 ? "trapped by PMUSERENR_EL0" : "UNDEFINED");
  return false;
}

uint32_t Arm64Vcpu::contextidr() const { return uint32_t(sysreg_value(3, 0, 13, 0, 1)); }  // CONTEXTIDR_EL1

std::optional<unsigned> Arm64Vcpu::breakpoint_hit(uint64_t va) const {
  constexpr uint64_t kPstateD = 1u << 9;
  const uint64_t ps = pstate();
  const uint64_t mdscr = sysreg_value(2, 0, 0, 2, 2);  // MDSCR_EL1
  return debug_.breakpoint_hit(va, pstate::el(ps), mdscr, (ps & kPstateD) != 0, contextidr());
}

void Arm64Vcpu::apply_watchpoints() {
  const bool want = debug_.any_watchpoint();
  if (want == watch_mode_) return;
  watch_mode_ = want;
  if (!precise_) {
    if (want) uc_hook_add(uc_, &watch_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(&Arm64Vcpu::on_watch), this, 1, 0);
    else if (watch_hook_ != 0) uc_hook_del(uc_, std::exchange(watch_hook_, 0));
  }
  // Blocks translated before (without the hook, or with it) are translated again.
  for (const GuestMemory::Region& r : mem_.regions()) uc_ctl_remove_cache(uc_, r.base, r.base + r.size);
}

bool Arm64Vcpu::watch_hit(uint64_t va) {
  const uint32_t w = word_at(va);
  const auto access = decode_data_access(w, va, [this](unsigned n) {
    if (n == 31) return reg(UC_ARM64_REG_SP);
    if (n == 29) return reg(UC_ARM64_REG_X29);
    if (n == 30) return reg(UC_ARM64_REG_X30);
    return reg(uc_arm64_reg(UC_ARM64_REG_X0 + n));
  });
  if (!access) return false;
  constexpr uint64_t kPstateD = 1u << 9;
  const uint64_t ps = pstate();
  const auto hit = debug_.watchpoint_hit(access->va, access->size, access->write, pstate::el(ps), mdscr_,
                                         (ps & kPstateD) != 0, contextidr());
  if (!hit) return false;
  // Taken before the access is performed (Arm ARM D2.10.5), ELR = the instruction.
  undefined_at_ = va;
  undefined_esr_ = syndrome::watchpoint(pstate::el(ps) == 1, access->write);
  undefined_far_ = hit->far;
  undefined_what_ = fmt::format("watchpoint {} ({} of {} bytes at {:#x})", hit->n, access->write ? "store" : "load",
                                access->size, access->va);
  return true;
}

void Arm64Vcpu::on_watch(uc_engine*, uint64_t address, uint32_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  if (self->counting_ && self->executed_ >= self->limit_) return;  // on_count stops here
  if (!self->watch_hit(address)) return;
  if (self->counting_) ++self->executed_;
  else self->count_partial_block(address, true);
  uc_emu_stop(self->uc_);
}

void Arm64Vcpu::apply_breakpoints() {
  // Outside uc_emu_start: hooks change and translations of the old and new addresses go,
  // so the next translation of each calls (or no longer calls) on_breakpoint.
  breakpoints_dirty_ = false;
  apply_watchpoints();
  for (uc_hook h : breakpoint_hooks_) uc_hook_del(uc_, h);
  breakpoint_hooks_.clear();
  for (uint64_t va : breakpoint_hooked_) uc_ctl_remove_cache(uc_, va, va + 4);
  breakpoint_hooked_ = debug_.breakpoint_addresses();
  for (uint64_t va : breakpoint_hooked_) {
    uc_ctl_remove_cache(uc_, va, va + 4);
    if (precise_) continue;  // on_code looks at every instruction anyway
    uc_hook h = 0;
    if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&Arm64Vcpu::on_breakpoint), this, va, va + 3) ==
        UC_ERR_OK)
      breakpoint_hooks_.push_back(h);
  }
}

void Arm64Vcpu::on_breakpoint(uc_engine*, uint64_t address, uint32_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  // run_exact_tail's count hook comes after this one and stops the run at the budget:
  // leave that instruction to it.
  if (self->counting_ && self->executed_ >= self->limit_) return;
  auto n = self->breakpoint_hit(address);
  if (!n) return;
  // Taken before the instruction (Arm ARM D2.9): stop here; step() takes the exception
  // with ELR = this instruction, counted as started as an Undefined Instruction is (a
  // stop request skips the hooks after this one, the count hook included).
  if (self->counting_) ++self->executed_;
  else self->count_partial_block(address, true);
  const bool same_el = pstate::el(self->pstate()) == 1;
  self->undefined_at_ = address;
  self->undefined_esr_ = syndrome::breakpoint(same_el);
  self->undefined_far_ = 0;  // UNKNOWN in the architecture; QEMU writes 0
  self->undefined_what_ = fmt::format("hardware breakpoint {} at {:#x}", *n, address);
  uc_emu_stop(self->uc_);
}

void Arm64Vcpu::on_code(uc_engine*, uint64_t address, uint32_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  if (self->kick_next_) {
    // The previous instruction asked for a boundary (kick(), MSR DAIFClr): stop before
    // this one so a signalled IRQ is taken with ELR_EL1 = this PC. Stopping in the code
    // hook ends the quantum before the hooked instruction executes.
    self->kick_next_ = false;
    uc_emu_stop(self->uc_);
    return;
  }
  if (self->step_due()) [[unlikely]] {
    uc_emu_stop(self->uc_);  // step() takes the step exception or steps this instruction
    return;
  }
  if (self->executed_ == self->limit_) {
    uc_emu_stop(self->uc_);  // the quantum is used up: end it before this instruction
    return;
  }
  ++self->executed_;
  self->insn_pc_ = address;
  if (!self->breakpoint_hooked_.empty()) [[unlikely]] {
    if (auto n = self->breakpoint_hit(address)) {
      const bool same_el = pstate::el(self->pstate()) == 1;
      self->undefined_at_ = address;
      self->undefined_esr_ = syndrome::breakpoint(same_el);
      self->undefined_far_ = 0;
      self->undefined_what_ = fmt::format("hardware breakpoint {} at {:#x}", *n, address);
      uc_emu_stop(self->uc_);
      return;
    }
  }
  if (self->watch_mode_ && self->watch_hit(address)) [[unlikely]] {
    uc_emu_stop(self->uc_);  // step() takes the Watchpoint exception at this instruction
    return;
  }
  // The vector's first instruction is running; after it the entry is done.
  if (self->last_entry_ && ++self->last_entry_->fetched > 1) self->last_entry_.reset();
  if (self->on_insn_) [[unlikely]] self->on_insn_(address);
  const uint32_t w = self->word_at(address);
  if (w == kEret && self->el1_context_ && pstate::el(self->pstate()) == 1) {
    // Keep the EL1 engine state (its hflags) for the next exception from EL0.
    self->el1_context_valid_ = uc_context_save(self->uc_, self->el1_context_) == UC_ERR_OK;
  }
  if (w == kEret && self->pmu_)  // counts up to the ERET at this EL (see on_precise)
    self->pmu_->sync(self->retired_through(address), pstate::el(self->sysreg_value(3, 0, 4, 0, 0)));
  if (w == kEret) self->on_eret_step();
  if (is_pmu_access(w) && !self->pmu_access_allowed(address, w)) {
    uc_emu_stop(self->uc_);  // before it; step() takes the exception (ELR = this instruction)
    return;
  }
  if (w == kWfi) {
    self->saw_wfi_ = true;
  } else if ((w & 0xFFFF'F0FF) == 0xD503'40FF || w == kEret) {
    // MSR DAIFClr, #imm or ERET (which may restore PSTATE.I = 0): an IRQ signalled while
    // masked must be taken right after the unmask.
    self->kick_next_ = true;
  }
}

uint32_t Arm64Vcpu::on_maintenance(uc_engine*, uc_arm64_reg, const uc_arm64_cp_reg* cp, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  const Broadcast kind = broadcast_of(cp->op1, cp->crn, cp->crm, cp->op2);
  if (kind == Broadcast::None || !self->maintenance_) return 0;
  uint64_t pa = 0;
  if (kind == Broadcast::CodeLine) {
    // The line by its PA (the other engines may be in another address space). A VA that
    // does not translate invalidates nothing: there is no code there to forget.
    const auto t = self->walk(cp->val);
    if (!t) return 0;
    pa = t->pa;
  }
  self->maintenance_(*self, kind, *cp, pa);
  return 0;  // this engine performs it itself (for IC: nothing; its own stores already
             // dropped what it had translated from them)
}

void Arm64Vcpu::apply_remote_maintenance(Broadcast kind, const uc_arm64_cp_reg& op, uint64_t pa) {
  switch (kind) {
    case Broadcast::Tlbi: {
      uc_arm64_cp_reg cp = op;
      uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &cp);
      forget_code_page();
      break;
    }
    case Broadcast::CodeLine: {
      constexpr uint64_t kLine = 64;  // at least CTR_EL0.IminLine; more is allowed
      forget_code_at(pa & ~(kLine - 1), kLine);
      break;
    }
    case Broadcast::CodeAll:
      for (const GuestMemory::Region& r : mem_.regions()) forget_code_at(r.base, r.size);
      break;
    case Broadcast::None: break;
  }
}

void Arm64Vcpu::forget_code_at(uint64_t pa, uint64_t size) {
  const uint64_t sctlr = sysreg_value(3, 0, 1, 0, 0);
  // TLBI VAAE1 (op1 0, CRn 8, CRm 7, op2 3): VA[55:12] in bits 43:0, every ASID.
  uc_arm64_cp_reg tlbi = cp_reg(1, 0, 8, 7, 3, (pa >> 12) & ((uint64_t{1} << 44) - 1));
  if (sctlr & 1) {
    uc_arm64_cp_reg flat = cp_reg(3, 0, 1, 0, 0, sctlr & ~uint64_t{1});
    uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &flat);
    uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &tlbi);
  }
  uc_ctl_remove_cache(uc_, pa, pa + size);
  if (sctlr & 1) {
    uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &tlbi);
    uc_arm64_cp_reg back = cp_reg(3, 0, 1, 0, 0, sctlr);
    uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &back);
  }
  forget_code_page();
}

uint32_t Arm64Vcpu::on_sys(uc_engine*, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  const uint32_t enc = sysreg(cp->op0, cp->op1, cp->crn, cp->crm, cp->op2);
  const uint64_t pc = self->pc();
  const uint32_t word = self->word_at(pc);
  const bool is_read = (word & (1u << 21)) != 0;  // MRS has L=1 (Arm ARM C6.2.x)
  struct SysPc {  // the PC is synced here: executed_in_quantum() counts up to it
    Arm64Vcpu* v;
    ~SysPc() { v->sys_pc_.reset(); }
  } sys_pc_guard{self};
  self->sys_pc_ = pc;
  const bool to_xzr = reg == UC_ARM64_REG_XZR;
  const bool el1 = pstate::el(self->pstate()) == 1;  // the debug registers are EL1's
  if (!is_read) self->forget_code_page();  // SCTLR_EL1, TTBRn_EL1, TCR_EL1 may change
  if (enc == kMpidrEl1 && is_read) {
    if (!to_xzr) self->set_reg(reg, kMpidrRes1 | self->mpidr_);
  } else if (enc == kMdscrEl1 && el1) {
    // The guest's MDSCR_EL1; Unicorn gets it without SS (see the facts in the header).
    // At EL0 the access is UNDEFINED: Unicorn's own access check raises it.
    if (is_read) {
      if (!to_xzr) self->set_reg(reg, self->mdscr_);
    } else {
      self->mdscr_ = cp->val;
      uc_arm64_cp_reg m = cp_reg(2, 0, 0, 2, 2, cp->val & ~software_step::kMdscrSs);
      uc_reg_write(self->uc_, UC_ARM64_REG_CP_REG, &m);
      self->boundary();  // step() looks at the step state at the next boundary
      if (!self->precise_) self->end_quantum_ = true;
    }
  } else if (SelfHostedDebug::handles(enc) && el1) {
    // Kept here, never by Unicorn (self_hosted_debug.h: its breakpoint insertion kills
    // the host). A changed breakpoint takes effect from the next quantum: the write is
    // followed by a context synchronization (ISB, an exception return) before software
    // may rely on it (Arm ARM D2.x), and ISB ends Unicorn's block, so the quantum ends
    // there.
    if (is_read) {
      if (!to_xzr) self->set_reg(reg, self->debug_.read(enc));
    } else {
      // Any write may change the breakpoint hooks or switch watchpoints on or off.
      self->debug_.write(enc, cp->val);
      self->breakpoints_dirty_ = true;
      if (!self->precise_) self->end_quantum_ = true;
    }
  } else if (GicCpuInterface::handles(enc)) {
    if (is_read) {
      auto v = self->gic_.read(enc);
      if (!v) {
        self->resume_pc_ = pc;  // the stop line names this instruction
        self->request_stop({arch::StopKind::Unsupported,
                            fmt::format("MRS of write-only {}", GicCpuInterface::name(enc)), 1});
        return 1;
      }
      if (!to_xzr) self->set_reg(reg, *v);
    } else {
      if (!self->gic_.write(enc, cp->val)) {
        self->resume_pc_ = pc;
        self->request_stop({arch::StopKind::Unsupported,
                            fmt::format("MSR to read-only {}", GicCpuInterface::name(enc)), 1});
        return 1;
      }
      self->kick();  // EOI, PMR, IGRPEN1 may let an interrupt through
    }
  } else if (self->timer_ != nullptr && GenericTimer::handles(enc)) {
    // The counter is virtual time, not Unicorn's host clock (docs/DESIGN.md: runs are
    // deterministic), so every CNT* access is served by the model, even those Unicorn
    // would execute itself.
    if (is_read) {
      const auto v = self->timer_->read(enc);
      if (v && !to_xzr) self->set_reg(reg, *v);
    } else {
      if (!self->timer_->write(enc, cp->val)) {
        self->resume_pc_ = pc;
        self->request_stop({arch::StopKind::Unsupported,
                            fmt::format("MSR to read-only {}", GenericTimer::name(enc)), 1});
        return 1;
      }
      // A new deadline: a PPI may be due. kick() ends the quantum only when it could be
      // taken now; with IRQs masked the unmask (or a WFI) asks for the boundary itself.
      self->kick();
      // The quantum was sized before this deadline existed (Arm64Machine::quantum_limit):
      // end it where the counter reaches it, as a quantum started now would end.
      if (auto n = self->timer_->insns_to_deadline())
        self->limit_ = std::min(self->limit_, self->executed_in_quantum() + std::max<uint64_t>(*n, 1));
    }
  } else if (Pmu::is_pmu_register(enc)) {
    // Served by the PMU model (pmu.h), never by Unicorn's host-clock counters. An access
    // that is UNDEFINED or trapped is normally stopped before it runs (on_precise, on_code);
    // here only past the cap on precise hooks, where the rest of the block runs first.
    if (!self->pmu_access_allowed(pc, word)) {
      if (self->precise_) self->kick_next_ = true;
      else self->end_quantum_ = true;
      return 1;
    }
    const unsigned el = pstate::el(self->pstate());
    const uint64_t now = self->retired_base_ + self->executed_in_quantum();
    if (is_read) {
      const uint64_t v = self->pmu_->read(enc, now, el);
      if (!to_xzr) self->set_reg(reg, v);
    } else {
      self->pmu_->write(enc, cp->val, now, el);
      self->kick();  // an overflow interrupt may now be asserted
      // A counter may now overflow sooner than the quantum was sized for.
      if (auto n = self->pmu_->insns_to_overflow())
        self->limit_ = std::min(self->limit_, self->executed_in_quantum() + std::max<uint64_t>(*n, 1));
    }
  } else if (is_read && id_registers::has_override(enc)) {
    // ID_AA64PFR0_EL1, ID_PFR1_EL1, ID_AA64DFR0_EL1, ID_DFR0_EL1: Unicorn's value with the
    // fields of id_registers.h.
    const uint64_t v =
        id_registers::value(enc, self->sysreg_value(cp->op0, cp->op1, cp->crn, cp->crm, cp->op2));
    if (!to_xzr) self->set_reg(reg, v);
  } else {
    // MSR DAIF, Xt may unmask IRQs: ask for the boundary after it (kick() would see the
    // old, masked PSTATE.I).
    if (enc == kDaif && !is_read) self->boundary();
    return 0;  // a register Unicorn implements: execute natively
  }
  // Performed: skip the instruction. For a register Unicorn implements, returning 1 does
  // (and the block goes on); one it does not know ends its block here, and Unicorn goes
  // on at the PC written (see the facts in the header).
  if (!self->unicorn_knows(cp->op0, cp->op1, cp->crn, cp->crm, cp->op2)) self->set_reg(UC_ARM64_REG_PC, pc + 4);
  return 1;
}

void Arm64Vcpu::on_intr(uc_engine*, uint32_t intno, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  const uint64_t pc = self->pc();
  const uint64_t ps = self->pstate();
  const bool same_el = pstate::el(ps) == 1;
  // Unicorn's exception numbers are QEMU's EXCP_* (target/arm/cpu.h).
  constexpr uint32_t kExcpUdef = 1, kExcpSwi = 2, kExcpPrefetchAbort = 3, kExcpDataAbort = 4;
  if (!self->precise_) {
    // The block was counted whole when it started: count what ran of it. Unicorn reports
    // SVC with the PC after it, every other exception at its instruction, which the
    // precise mode counts as started.
    self->count_partial_block(pc, intno != kExcpSwi);
    self->exception_in_quantum_ = true;
  }
  if (self->fake_walk_) {
    // The walk fault made for a refused access (decide_unbacked): PC is that access (or
    // the fetch target). Put the registers back and take the abort the refusal calls for.
    self->end_fake_walk();
    if (self->refused_ && (intno == kExcpDataAbort || intno == kExcpPrefetchAbort)) {
      const Refused f = *std::exchange(self->refused_, std::nullopt);
      const bool fetch = f.access == arch::UnbackedSpace::Access::Fetch;
      const uint32_t esr = fetch ? syndrome::insn_abort(same_el, f.fsc)
                                 : syndrome::data_abort(same_el, f.access == arch::UnbackedSpace::Access::Write, f.fsc);
      self->take_exception(ExceptionKind::Synchronous, esr, f.va, pc, pc, fetch ? "instruction abort" : "data abort");
      return;
    }
  }
  if (intno == kExcpUdef) {
    const uint32_t w = self->word_at(pc);
    // HVC #imm16: 1101 0100 000 imm16 000 10. At EL1 it is the PSCI conduit; at EL0 HVC
    // is UNDEFINED (Arm ARM C6.2.99) and taken as such below.
    if ((w & 0xFFE0'001F) == 0xD400'0002 && same_el && self->hvc_) {
      self->hvc_(*self, uint16_t((w >> 5) & 0xFFFF));
      // Resume at the preferred return address of HVC. A PC write from a hook restarts
      // Unicorn's loop and drops a pending uc_emu_stop, so when the call ended this CPU's
      // quantum (CPU_OFF, SYSTEM_OFF) the PC is moved after uc_emu_start returns.
      if (self->stop_ || self->state_ == arch::VcpuState::Off) self->resume_pc_ = pc + 4;
      else self->set_reg(UC_ARM64_REG_PC, pc + 4);
      return;
    }
    // Undefined instruction: EC 0x00, ELR = the instruction (Arm ARM D1.10.4).
    self->take_exception(ExceptionKind::Synchronous, syndrome::uncategorized(), std::nullopt, pc, pc,
                         "undefined instruction");
    return;
  }
  if (intno == kExcpSwi) {
    // Unicorn reports SVC with PC already past it, the preferred return address. The
    // immediate comes from QEMU's syndrome (the instruction word at a VA is not always
    // readable at the same PA); from the word itself when that is unavailable.
    uint32_t esr = 0;
    if (auto x = self->raised()) esr = x->syndrome;
    else esr = syndrome::svc64(uint16_t((self->word_at(pc - 4) >> 5) & 0xFFFF));
    self->take_exception(ExceptionKind::Synchronous, esr, std::nullopt, pc, pc - 4, "SVC");
    return;
  }
  if (intno == kExcpPrefetchAbort) {
    // An MMU fault on the fetch at PC (Unicorn had the VA in its map): classify it by
    // walking the tables; a walk that succeeds means a permission fault.
    auto t = self->walk(pc);
    const uint32_t ifsc = t ? fsc::permission(t->level) : t.error().fsc();
    self->take_exception(ExceptionKind::Synchronous, syndrome::insn_abort(same_el, ifsc), pc, pc, pc,
                         "instruction abort");
    return;
  }
  if (intno == kExcpDataAbort) {
    // A translation, permission or access-flag fault on a VA Unicorn had in its map.
    // Unicorn says only "data abort"; QEMU's syndrome (ISV/SAS/SRT/SF/WnR and the DFSC)
    // and fault address come from the CPU state (raised_exception.h). ELR = the load or
    // store itself (Arm ARM D1.10.4), where Unicorn's PC is.
    if (auto x = self->raised()) {
      self->take_exception(ExceptionKind::Synchronous, x->syndrome, x->vaddress, pc, pc, "data abort");
      return;
    }
  }
  // Without QEMU's record a data abort has no address; breakpoints and the rest are not
  // modelled.
  self->request_stop({intno == kExcpUdef ? arch::StopKind::Unsupported : arch::StopKind::GuestFault,
                      fmt::format("guest {} (Unicorn exception {}; not modelled)", exception_name(intno), intno), 1});
}

bool Arm64Vcpu::on_unmapped(uc_engine*, uc_mem_type, uint64_t address, int, int64_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<Arm64Vcpu*>(p);
  // Only recorded here; step() says it in the stop line.
  self->unmapped_ = address;
  return false;
}

void Arm64Vcpu::take_external_abort(uc_err e) {
  const bool same_el = pstate::el(pstate()) == 1;
  if (refused_) {
    // Refused before it was performed: PC is the refused instruction (the code hook synced
    // it) or, for a fetch, the target whose first instruction could not be fetched.
    const Refused f = *std::exchange(refused_, std::nullopt);
    unbacked_pa_.reset();
    const uint64_t at = pc();
    const bool fetch = f.access == arch::UnbackedSpace::Access::Fetch;
    if (fetch && e != UC_ERR_FETCH_PROT) return;  // refused during a translation that then did not run
    const uint32_t esr = fetch ? syndrome::insn_abort(same_el, f.fsc)
                               : syndrome::data_abort(same_el, f.access == arch::UnbackedSpace::Access::Write, f.fsc);
    take_exception(ExceptionKind::Synchronous, esr, f.va, at, at, fetch ? "instruction abort" : "data abort");
    return;
  }
  // Found after the access (on_unbacked_pa). When it was the fetch of the instruction at
  // PC (Unicorn translated the backstop's zeros; the code hook stopped before running
  // them), an instruction abort there with FAR = PC.
  const UnbackedPa u = *std::exchange(unbacked_pa_, std::nullopt);
  const uint64_t at = pc();
  auto t = walk(at);
  if (t && !physically_backed(t->pa)) {
    take_exception(ExceptionKind::Synchronous, syndrome::insn_abort(same_el, fsc::kSyncExternal), at, at, at,
                   "instruction abort");
    return;
  }
  // Otherwise a load or store. The precise mode knows the instruction: a synchronous
  // external abort at it, FAR unknown. Fast mode counted the block, not the instruction,
  // so it reports the abort asynchronously, as an SError interrupt (Arm ARM D1.x: an
  // External abort may be reported synchronously or asynchronously; the choice is the
  // implementation's), taken now or when PSTATE.A allows.
  constexpr uint32_t kFnV = 1u << 10;  // ISS.FnV: FAR is not valid
  if (!precise_) {
    serror_pending_ = true;
    take_serror();
    return;
  }
  take_exception(ExceptionKind::Synchronous, syndrome::data_abort(same_el, u.write, fsc::kSyncExternal) | kFnV,
                 std::nullopt, u.culprit, u.culprit,
                 fmt::format("data abort (PA {:#x} has nothing behind it)", u.pa));
}

bool Arm64Vcpu::take_serror() {
  constexpr uint64_t kPstateA = 1u << 8;
  if (!serror_pending_ || (pstate() & kPstateA) != 0) return false;
  serror_pending_ = false;
  // ESR_EL1 for an SError interrupt: EC 0x2F, IDS = 0, DFSC 0b010001 (asynchronous SError).
  constexpr uint32_t kEcSError = 0x2F, kDfscAsyncSError = 0x11;
  const uint32_t esr = (kEcSError << 26) | syndrome::kIl | kDfscAsyncSError;
  const uint64_t at = pc();
  return take_exception(ExceptionKind::SError, esr, std::nullopt, at, at, "SError (an access reached nothing)");
}

}  // namespace irqremap::arm64
