#include "arch/x86/x86_vcpu.h"

#include <fmt/format.h>

#include "arch/x86/interrupt_entry.h"

namespace irqremap::x86 {

std::string exception_name(uint32_t v) {
  static constexpr const char* kNames[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD",
                                           "#NM", "#DF", "CSO", "#TS", "#NP", "#SS", "#GP",
                                           "#PF", "15",  "#MF", "#AC", "#MC", "#XM", "#VE",
                                           "#CP"};
  if (v < std::size(kNames)) return kNames[v];
  return fmt::format("vector {:#04x}", v);
}

X86Vcpu::X86Vcpu(unsigned index, uc_engine* uc, GuestMemory& mem, LocalApic& apic, IoPortBus& io)
    : index_(index), uc_(uc), mem_(mem), apic_(apic), io_(io) {
  uc_hook_add(uc_, &code_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(&X86Vcpu::on_code), this,
              1, 0);
  uc_hook_add(uc_, &in_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&X86Vcpu::on_in), this, 1,
              0, UC_X86_INS_IN);
  uc_hook_add(uc_, &out_hook_, UC_HOOK_INSN, reinterpret_cast<void*>(&X86Vcpu::on_out), this, 1,
              0, UC_X86_INS_OUT);
  uc_hook_add(uc_, &intr_hook_, UC_HOOK_INTR, reinterpret_cast<void*>(&X86Vcpu::on_intr), this,
              1, 0);
}

X86Vcpu::~X86Vcpu() {
  for (uc_hook h : {code_hook_, in_hook_, out_hook_, intr_hook_})
    if (h != 0) uc_hook_del(uc_, h);
}

void X86Vcpu::reset(uint64_t entry, uint64_t stack) {
  uint64_t rflags = 2;
  uc_reg_write(uc_, UC_X86_REG_RIP, &entry);
  uc_reg_write(uc_, UC_X86_REG_RSP, &stack);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &rflags);
  running_ = true;
  halted_ = false;
  sti_shadow_ = false;
}

arch::VcpuState X86Vcpu::state() const {
  if (!running_) return arch::VcpuState::Off;
  return halted_ ? arch::VcpuState::WaitingForInterrupt : arch::VcpuState::Running;
}

arch::StepResult X86Vcpu::step(uint64_t max_insns) {
  arch::StepResult r;
  if (error_) {
    r.stop = arch::StopRequest{arch::StopKind::GuestFault, *take_error(), 1};
    return r;
  }
  executed_ = 0;
  const uc_err e = uc_emu_start(uc_, rip(), 0, 0, max_insns);
  r.executed = executed_;
  if (auto err = take_error())
    r.stop = arch::StopRequest{arch::StopKind::GuestFault, *err, 1};
  else if (e == UC_ERR_INSN_INVALID)
    r.stop = arch::StopRequest{arch::StopKind::Unsupported, "invalid or unsupported instruction", 1};
  else if (e != UC_ERR_OK)
    r.stop = arch::StopRequest{arch::StopKind::GuestFault, fmt::format("guest fault: {}", uc_strerror(e)), 1};
  return r;
}

uint64_t X86Vcpu::rip() const {
  uint64_t v = 0;
  uc_reg_read(uc_, UC_X86_REG_RIP, &v);
  return v;
}

uint64_t X86Vcpu::rflags() const {
  uint64_t v = 0;
  uc_reg_read(uc_, UC_X86_REG_RFLAGS, &v);
  return v;
}

void X86Vcpu::fail(std::string what) {
  if (!error_) error_ = std::move(what);
  uc_emu_stop(uc_);
}

bool X86Vcpu::vector_into_guest(uint8_t vector, std::string_view what) {
  CpuFrameRegs r;
  uint64_t cs = 0, ss = 0;
  uc_reg_read(uc_, UC_X86_REG_RIP, &r.rip);
  uc_reg_read(uc_, UC_X86_REG_RSP, &r.rsp);
  uc_reg_read(uc_, UC_X86_REG_RFLAGS, &r.rflags);
  uc_reg_read(uc_, UC_X86_REG_CS, &cs);
  uc_reg_read(uc_, UC_X86_REG_SS, &ss);
  r.cs = uint16_t(cs);
  r.ss = uint16_t(ss);
  uc_x86_mmr idtr{}, tr{};
  uc_reg_read(uc_, UC_X86_REG_IDTR, &idtr);
  uc_reg_read(uc_, UC_X86_REG_TR, &tr);
  r.idtr_base = idtr.base;
  r.idtr_limit = idtr.limit;
  r.tr_base = tr.base;
  const uint64_t from = r.rip;
  if (auto ok = enter_interrupt(r, mem_, vector); !ok) {
    error_ = fmt::format("cannot deliver {}: {}", what, ok.error());
    halted_ = false;  // the next step reports it
    return false;
  }
  uc_reg_write(uc_, UC_X86_REG_RIP, &r.rip);
  uc_reg_write(uc_, UC_X86_REG_RSP, &r.rsp);
  uc_reg_write(uc_, UC_X86_REG_RFLAGS, &r.rflags);
  ++taken_[vector];
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, fmt::format("cpu{}", index_),
                 fmt::format("{} taken: vector {:#04x} through the IDT, RIP {:#x} -> {:#x}{}", what,
                             vector, from, r.rip, halted_ ? " (woke from HLT)" : ""),
                 {{"vector", vector}, {"cpu", index_}, {"taken", 1}}};
  });
  halted_ = false;
  return true;
}

bool X86Vcpu::take_interrupt() {
  if (!running_ || error_) return false;
  if (apic_.take_nmi()) return vector_into_guest(2, "NMI");
  if ((rflags() & kRflagsIF) == 0 || sti_shadow_) return false;
  const auto v = apic_.acknowledge();
  if (!v) return false;
  return vector_into_guest(*v, "interrupt");
}

bool X86Vcpu::msr_access(uint64_t address, bool write) {
  uint64_t rcx = 0, rax = 0, rdx = 0;
  uc_reg_read(uc_, UC_X86_REG_RCX, &rcx);
  const uint32_t msr = uint32_t(rcx);
  if (!LocalApic::handles_msr(msr)) return false;  // executes natively
  if (write) {
    uc_reg_read(uc_, UC_X86_REG_RAX, &rax);
    uc_reg_read(uc_, UC_X86_REG_RDX, &rdx);
    const uint64_t value = (rdx << 32) | uint32_t(rax);
    if (!apic_.msr_write(msr, value)) {
      fail(fmt::format("WRMSR {:#x} <- {:#x} raised #GP(0) (SDM §11.12)", msr, value));
      return true;
    }
  } else {
    const auto v = apic_.msr_read(msr);
    if (!v) {
      fail(fmt::format("RDMSR {:#x} raised #GP(0) (SDM §11.12)", msr));
      return true;
    }
    rax = uint32_t(*v);
    rdx = *v >> 32;
    uc_reg_write(uc_, UC_X86_REG_RAX, &rax);
    uc_reg_write(uc_, UC_X86_REG_RDX, &rdx);
  }
  const uint64_t next = address + 2;
  uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // skip the instruction: it has been performed
  return true;
}

void X86Vcpu::on_code(uc_engine*, uint64_t address, uint32_t size, void* p) {
  auto* self = static_cast<X86Vcpu*>(p);
  ++self->executed_;
  if (self->on_insn_) self->on_insn_(address, size);
  self->sti_shadow_ = false;
  if (size > 2) return;
  const std::byte* b = self->mem_.host_ptr(address, size);
  if (b == nullptr) return;
  const uint8_t b0 = std::to_integer<uint8_t>(b[0]);
  if (size == 1 && b0 == 0xFB) {
    self->sti_shadow_ = true;  // SDM STI: interrupts recognised after the next instruction
  } else if (size == 1 && b0 == 0xF4) {
    self->halted_ = true;  // HLT itself then ends uc_emu_start
  } else if (size == 2 && b0 == 0x0F) {
    const uint8_t b1 = std::to_integer<uint8_t>(b[1]);
    if (b1 == 0x32 || b1 == 0x30) self->msr_access(address, b1 == 0x30);
  }
}

uint32_t X86Vcpu::on_in(uc_engine*, uint32_t port, int size, void* p) {
  auto* self = static_cast<X86Vcpu*>(p);
  return self->io_.in(uint16_t(port), unsigned(size));
}

void X86Vcpu::on_out(uc_engine*, uint32_t port, int size, uint32_t value, void* p) {
  auto* self = static_cast<X86Vcpu*>(p);
  self->io_.out(uint16_t(port), unsigned(size), value);
  if (self->after_out_) self->after_out_();
}

void X86Vcpu::on_intr(uc_engine*, uint32_t intno, void* p) {
  auto* self = static_cast<X86Vcpu*>(p);
  self->fail(fmt::format("guest exception {} (vector {})", exception_name(intno), intno));
}

}  // namespace irqremap::x86
