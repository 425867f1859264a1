#include "arch/arm64/arm64_vcpu.h"

#include <fmt/format.h>

#include "remap/bits.h"

namespace irqremap::arm64 {

namespace {

constexpr uint32_t kMpidrEl1 = sysreg(3, 0, 0, 0, 5);
constexpr uint32_t kWfi = 0xD503'207F;
constexpr uint32_t kEret = 0xD69F'03E0;
constexpr uint32_t kDaif = sysreg(3, 3, 4, 2, 1);  // DAIF (MRS/MSR register form)
constexpr uint64_t kMpidrRes1 = uint64_t{1} << 31;  // MPIDR_EL1 bit 31 is RES1

// SPSR_EL1 through the generic coprocessor access (Unicorn 2.0.1 has no register enum).
uc_arm64_cp_reg spsr_el1(uint64_t v = 0) { return uc_arm64_cp_reg{4, 0, 3, 0, 0, v}; }

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
  uc_hook_add(uc_, &code_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(&Arm64Vcpu::on_code), this, 1, 0);
  uc_hook_add(uc_, &mrs_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&Arm64Vcpu::on_sys), this, 1, 0,
              UC_ARM64_INS_MRS);
  uc_hook_add(uc_, &msr_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&Arm64Vcpu::on_sys), this, 1, 0,
              UC_ARM64_INS_MSR);
  uc_hook_add(uc_, &intr_hook_, UC_HOOK_INTR, reinterpret_cast<void*>(&Arm64Vcpu::on_intr), this, 1, 0);
}

Arm64Vcpu::~Arm64Vcpu() {
  for (uc_hook h : {code_hook_, mrs_hook_, msr_hook_, intr_hook_})
    if (h != 0) uc_hook_del(uc_, h);
}

uint64_t Arm64Vcpu::reg(uc_arm64_reg r) const {
  uint64_t v = 0;
  uc_reg_read(uc_, r, &v);
  return v;
}

void Arm64Vcpu::set_reg(uc_arm64_reg r, uint64_t v) { uc_reg_write(uc_, r, &v); }

uint64_t Arm64Vcpu::pc() const { return reg(UC_ARM64_REG_PC); }

uint32_t Arm64Vcpu::word_at(uint64_t pc) const {
  // The code hook reads every instruction word: remember the region the last one came
  // from, so the common case is a bounds check and a load, not a region search.
  if (pc - code_base_ < code_size_ && code_size_ - (pc - code_base_) >= 4)
    return bits::load_le<uint32_t>(code_host_ + (pc - code_base_));
  for (const GuestMemory::Region& r : mem_.regions()) {
    if (pc >= r.base && pc - r.base <= r.size - 4) {
      code_base_ = r.base;
      code_size_ = r.size;
      code_host_ = r.host;
      return bits::load_le<uint32_t>(code_host_ + (pc - code_base_));
    }
  }
  return 0;
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
  // after the one that raised it (DESIGN.md "Precision").
  // With PSTATE.I set nothing can be taken now, so the quantum goes on; the unmask
  // (MSR DAIFClr, MSR DAIF, ERET) asks for the boundary itself (on_code, on_sys).
  if (in_step_ && (pstate() & kPstateI) == 0) kick_next_ = true;
}

void Arm64Vcpu::request_stop(arch::StopRequest s) {
  if (!stop_) stop_ = std::move(s);
  uc_emu_stop(uc_);
}

bool Arm64Vcpu::take_irq() {
  const uint64_t ps = pstate(), from = pc();
  const uint64_t mode = ps & 0xF;
  uc_arm64_cp_reg spsr = spsr_el1(ps);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &spsr);
  set_reg(UC_ARM64_REG_ELR_EL1, from);
  uint64_t offset = 0x280;  // IRQ, current EL with SP_ELx
  if (mode == kPstateEl1t) {
    // From EL1t the handler runs on SP_EL1: bank SP by hand, PSTATE writes do not.
    offset = 0x080;
    const uint64_t sp0 = reg(UC_ARM64_REG_SP), sp1 = reg(UC_ARM64_REG_SP_EL1);
    set_reg(UC_ARM64_REG_PSTATE, (ps & ~uint64_t{0xF}) | 0x3C0 | kPstateEl1h);
    set_reg(UC_ARM64_REG_SP_EL0, sp0);
    set_reg(UC_ARM64_REG_SP, sp1);
  } else if (mode == kPstateEl1h) {
    set_reg(UC_ARM64_REG_PSTATE, (ps & ~uint64_t{0xF}) | 0x3C0 | kPstateEl1h);
  } else {
    request_stop({arch::StopKind::Unsupported,
                  fmt::format("IRQ taken from PSTATE mode {:#x} (only EL1 is modelled)", mode), 1});
    return false;
  }
  const uint64_t vbar = reg(UC_ARM64_REG_VBAR_EL1);
  set_reg(UC_ARM64_REG_PC, vbar + offset);
  ++irqs_;
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, fmt::format("cpu{}", index_),
                 fmt::format("IRQ exception taken: PC {:#x} -> VBAR_EL1+{:#x} = {:#x}{}", from, offset,
                             vbar + offset, state_ == arch::VcpuState::WaitingForInterrupt ? " (woke from WFI)" : ""),
                 {{"cpu", index_}, {"pc", from}, {"vector", vbar + offset}}};
  });
  return true;
}

void Arm64Vcpu::service_interrupts() {
  if (state_ == arch::VcpuState::Off) return;
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

arch::StepResult Arm64Vcpu::step(uint64_t max_insns) {
  executed_ = 0;
  saw_wfi_ = false;
  kick_next_ = false;
  in_step_ = true;
  // The quantum is counted by our own code hook (on_code), not by Unicorn's `count`:
  // Unicorn would add a second per-instruction hook for it. `until` is an address no
  // instruction has, so no PC (flash at 0 included) ends the run.
  limit_ = max_insns;
  const uc_err e = uc_emu_start(uc_, pc(), ~uint64_t{0}, 0, 0);
  in_step_ = false;
  if (resume_pc_) {
    set_reg(UC_ARM64_REG_PC, *resume_pc_);
    resume_pc_.reset();
  }
  arch::StepResult r{executed_, std::nullopt};
  if (state_ == arch::VcpuState::Off && !stop_) return r;  // PSCI CPU_OFF ended the quantum
  if (stop_) {
    r.stop = std::move(stop_);
    stop_.reset();
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
  if (saw_wfi_ && state_ == arch::VcpuState::Running && word_at(pc() - 4) == kWfi)
    state_ = arch::VcpuState::WaitingForInterrupt;
  return r;
}

void Arm64Vcpu::on_code(uc_engine*, uint64_t address, uint32_t, void* p) {
  auto* self = static_cast<Arm64Vcpu*>(p);
  if (self->kick_next_) {
    // The previous instruction asked for a boundary (kick(), MSR DAIFClr): stop before
    // this one so a signalled IRQ is taken with ELR_EL1 = this PC. Stopping in the code
    // hook ends the quantum before the hooked instruction executes.
    self->kick_next_ = false;
    uc_emu_stop(self->uc_);
    return;
  }
  if (self->executed_ == self->limit_) {
    uc_emu_stop(self->uc_);  // the quantum is used up: end it before this instruction
    return;
  }
  ++self->executed_;
  if (self->on_insn_) [[unlikely]] self->on_insn_(address);
  const uint32_t w = self->word_at(address);
  if (w == kWfi) {
    self->saw_wfi_ = true;
  } else if ((w & 0xFFFF'F0FF) == 0xD503'40FF || w == kEret) {
    // MSR DAIFClr, #imm or ERET (which may restore PSTATE.I = 0): an IRQ signalled while
    // masked must be taken right after the unmask.
    self->kick_next_ = true;
  }
}

uint32_t Arm64Vcpu::on_sys(uc_engine*, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* p) {
  auto* self = static_cast<Arm64Vcpu*>(p);
  const uint32_t enc = sysreg(cp->op0, cp->op1, cp->crn, cp->crm, cp->op2);
  const uint64_t pc = self->pc();
  const uint32_t word = self->word_at(pc);
  const bool is_read = (word & (1u << 21)) != 0;  // MRS has L=1 (Arm ARM C6.2.x)
  const bool to_xzr = reg == UC_ARM64_REG_XZR;
  if (enc == kMpidrEl1 && is_read) {
    if (!to_xzr) self->set_reg(reg, kMpidrRes1 | self->mpidr_);
  } else if (GicCpuInterface::handles(enc)) {
    if (is_read) {
      auto v = self->gic_.read(enc);
      if (!v) {
        self->request_stop({arch::StopKind::Unsupported,
                            fmt::format("MRS of write-only {}", GicCpuInterface::name(enc)), 1});
        return 1;
      }
      if (!to_xzr) self->set_reg(reg, *v);
    } else {
      if (!self->gic_.write(enc, cp->val)) {
        self->request_stop({arch::StopKind::Unsupported,
                            fmt::format("MSR to read-only {}", GicCpuInterface::name(enc)), 1});
        return 1;
      }
      self->kick();  // EOI, PMR, IGRPEN1 may let an interrupt through
    }
  } else if (self->timer_ != nullptr && GenericTimer::handles(enc)) {
    // The counter is virtual time, not Unicorn's host clock (DESIGN.md: runs are
    // deterministic), so every CNT* access is served by the model, even those Unicorn
    // would execute itself.
    if (is_read) {
      const auto v = self->timer_->read(enc);
      if (v && !to_xzr) self->set_reg(reg, *v);
    } else {
      if (!self->timer_->write(enc, cp->val)) {
        self->request_stop({arch::StopKind::Unsupported,
                            fmt::format("MSR to read-only {}", GenericTimer::name(enc)), 1});
        return 1;
      }
      self->kick();  // a new deadline: the machine re-plans the quantum, a PPI may be due
    }
  } else {
    // MSR DAIF, Xt may unmask IRQs: ask for the boundary after it (kick() would see the
    // old, masked PSTATE.I).
    if (enc == kDaif && !is_read) self->kick_next_ = true;
    return 0;  // a register Unicorn implements: execute natively
  }
  self->set_reg(UC_ARM64_REG_PC, pc + 4);  // performed: skip the instruction
  return 1;
}

void Arm64Vcpu::on_intr(uc_engine*, uint32_t intno, void* p) {
  auto* self = static_cast<Arm64Vcpu*>(p);
  const uint64_t pc = self->pc();
  const uint32_t w = self->word_at(pc);
  // HVC #imm16: 1101 0100 000 imm16 000 10
  if (intno == 1 && (w & 0xFFE0'001F) == 0xD400'0002 && self->hvc_) {
    self->hvc_(*self, uint16_t((w >> 5) & 0xFFFF));
    // Resume at the preferred return address of HVC. A PC write from a hook restarts
    // Unicorn's loop and drops a pending uc_emu_stop, so when the call ended this CPU's
    // quantum (CPU_OFF, SYSTEM_OFF) the PC is moved after uc_emu_start returns.
    if (self->stop_ || self->state_ == arch::VcpuState::Off) self->resume_pc_ = pc + 4;
    else self->set_reg(UC_ARM64_REG_PC, pc + 4);
    return;
  }
  self->request_stop({intno == 1 ? arch::StopKind::Unsupported : arch::StopKind::GuestFault,
                      fmt::format("guest {} (Unicorn exception {})", exception_name(intno), intno), 1});
}

}  // namespace irqremap::arm64
