// The x86 vCPU's system instructions that Unicorn 2.0.1 gets wrong or does not check
// (x86_vcpu.h): CPUID (cpuid_leaves.h), the CR4.UMIP instructions, MOV to CR4, and the
// debug registers DR0-DR3/DR7 with instruction breakpoints (trapped_insn.h).
#include <fmt/format.h>

#include <algorithm>

#include "arch/common/unicorn_abort.h"
#include "arch/x86/cpuid_leaves.h"
#include "arch/x86/engine_cpuid.h"
#include "arch/x86/x86_vcpu.h"

namespace irqremap::x86 {

void X86Vcpu::update_breakpoints() {
  // SDM vol. 3A §18.2.4: DRn is an instruction breakpoint when DR7's Ln or Gn is set and
  // its R/Wn is 00 (the LENn of an instruction breakpoint is 00).
  std::vector<uint64_t> bps;
  for (unsigned n = 0; n < 4; ++n) {
    const bool enabled = (dr7_ >> (2 * n) & 3) != 0;
    const unsigned rw = unsigned(dr7_ >> (16 + 4 * n)) & 3;
    if (!enabled || rw != 0) continue;
    uint64_t a = 0;
    uc_reg_read(uc_, UC_X86_REG_DR0 + int(n), &a);
    bps.push_back(a);
  }
  if (bps == breakpoints_) return;
  breakpoints_ = std::move(bps);
  if (precise_) return;
  // Fast mode: the blocks are decoded again, with the new addresses as trap sites.
  blocks_.clear();
  recent_.fill(Recent{});
  cur_ = nullptr;
  for (const GuestMemory::Region& reg : mem_.regions()) uc_ctl_remove_cache(uc_, reg.base, reg.base + reg.size);
}

bool X86Vcpu::instruction_breakpoint(uint64_t address) {
  // §18.3.1.1: an instruction breakpoint is a fault before the instruction, unless
  // RFLAGS.RF is set (the handler's IRETQ sets it to go on past the breakpoint).
  if ((rflags() & kRflagsRF) != 0) return false;
  uint64_t hits = 0;
  for (unsigned n = 0; n < 4; ++n) {
    const bool enabled = (dr7_ >> (2 * n) & 3) != 0;
    if (!enabled || (unsigned(dr7_ >> (16 + 4 * n)) & 3) != 0) continue;
    uint64_t a = 0;
    uc_reg_read(uc_, UC_X86_REG_DR0 + int(n), &a);
    if (a == address) hits |= uint64_t{1} << n;
  }
  if (hits == 0) return false;
  // DR6 (§18.2.3): B0-B3 say which breakpoints matched; BD, BS, BT are kept; the other
  // bits read 1.
  uint64_t dr6 = 0;
  uc_reg_read(uc_, UC_X86_REG_DR6, &dr6);
  dr6 = 0xFFFF'0FF0 | (dr6 & 0xE000) | hits;
  uc_reg_write(uc_, UC_X86_REG_DR6, &dr6);
  settle_block(address);
  fault_trapped(1, std::nullopt, fmt::format("instruction breakpoint at {:#x}: #DB", address));
  return true;
}

bool X86Vcpu::check_system_insn(const CheckedInsn& c) {
  uint64_t cr4 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR4, &cr4);
  if (c.op == CheckedOp::Sgdt || c.op == CheckedOp::Sidt || c.op == CheckedOp::Sldt || c.op == CheckedOp::Str ||
      c.op == CheckedOp::Smsw) {
    // SDM vol. 3A §2.5 (CR4.UMIP), SGDT/SIDT/SLDT/STR/SMSW "Protected Mode Exceptions".
    if ((cr4 & kCr4UMIP) == 0) return true;
    const unsigned level = cpl();
    if (level == 0) return true;
    fault_trapped(13, 0, fmt::format("{} at CPL {} with CR4.UMIP set: #GP(0)", mnemonic(c.op), level));
    return false;
  }
  // At CPL > 0 Unicorn raises #GP(0) itself for MOV to/from CRn and DRn.
  if (cpl() != 0) return true;
  static constexpr int kRegs[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
                                    UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
                                    UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                                    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
  if (c.op == CheckedOp::MovToDrAddr) {
    uint64_t value = 0;
    uc_reg_read(uc_, kRegs[c.gpr & 15], &value);
    if (!code64()) value = uint32_t(value);
    uc_reg_write(uc_, UC_X86_REG_DR0 + c.dr, &value);
    update_breakpoints();
    const uint64_t next = rip() + insn_size_;
    uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // performed: skip the instruction
    return false;
  }
  if (c.op == CheckedOp::MovToDr7 || c.op == CheckedOp::MovFromDr7) {
    if (c.dr == 5 && (cr4 & kCr4DE) != 0) return true;  // DR5 with CR4.DE: Unicorn raises #UD
    uint64_t value = 0;
    if (c.op == CheckedOp::MovToDr7) {
      uc_reg_read(uc_, kRegs[c.gpr & 15], &value);
      if (!code64()) value = uint32_t(value);
      // MOV—Move to/from Debug Registers: #GP(0) for a 1 in DR7[63:32] in 64-bit mode.
      if ((value >> 32) != 0) {
        fault_trapped(13, 0, fmt::format("MOV to DR7 of {:#x}: bits 63:32 set: #GP(0)", value));
        return false;
      }
      // SDM vol. 3A §18.2.4: bits 11, 12, 14, 15 read 0, bit 10 reads 1.
      dr7_ = (value & ~uint64_t{0xD800}) | 0x400;
      const uint64_t armed_none = dr7_ & ~uint64_t{0xFF};  // no L0-3/G0-3: see trapped_insn.h
      uc_reg_write(uc_, UC_X86_REG_DR7, &armed_none);
      update_breakpoints();
    } else {
      value = code64() ? dr7_ : uint32_t(dr7_);
      uc_reg_write(uc_, kRegs[c.gpr & 15], &value);
    }
    const uint64_t next = rip() + insn_size_;
    uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // performed: skip the instruction
    return false;
  }
  // MOV to CR4 (MOV—Move to/from Control Registers, "Protected Mode Exceptions"): reserved
  // bits, or clearing PAE in IA-32e mode, are #GP(0).
  uint64_t value = 0;
  uc_reg_read(uc_, kRegs[c.gpr & 15], &value);
  if (!code64()) value = uint32_t(value);  // a 32-bit operand outside 64-bit mode
  const bool apic_on = (apic_.apic_base() & (1u << 11)) != 0;
  const uint64_t reserved = cr4_reserved_bits(machine_cpuid(1, 0, engine_cpuid(1, 0), index_, apic_on),
                                              machine_cpuid(7, 0, engine_cpuid(7, 0), index_, apic_on));
  const char* why = nullptr;
  if ((value & reserved) != 0)
    why = "reserved bit set";
  else if ((cr4 & kCr4PAE) != 0 && (value & kCr4PAE) == 0 && (paging_regs().efer & kEferLMA) != 0)
    why = "PAE cleared in IA-32e mode";  // (Unicorn's 64-bit reset state has PAE clear: no change is no clearing)
  if (why == nullptr) return true;
  fault_trapped(13, 0, fmt::format("MOV to CR4 of {:#x}: {}: #GP(0)", value, why));
  return false;
}

int X86Vcpu::on_cpuid(uc_engine* uc, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  uint64_t rax = 0, rcx = 0;
  uc_reg_read(uc, UC_X86_REG_RAX, &rax);
  uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
  const uint32_t leaf = uint32_t(rax), subleaf = uint32_t(rcx);
  const bool apic_on = (self->apic_.apic_base() & (1u << 11)) != 0;  // IA32_APIC_BASE.EN
  const CpuidRegs r = machine_cpuid(leaf, subleaf, engine_cpuid(leaf, subleaf), self->index_, apic_on);
  // The high halves of RAX, RBX, RCX and RDX are cleared (CPUID "Operation").
  const uint64_t a = r.eax, b = r.ebx, c = r.ecx, d = r.edx;
  uc_reg_write(uc, UC_X86_REG_RAX, &a);
  uc_reg_write(uc, UC_X86_REG_RBX, &b);
  uc_reg_write(uc, UC_X86_REG_RCX, &c);
  uc_reg_write(uc, UC_X86_REG_RDX, &d);
  return 1;  // skip Unicorn's own CPUID
}

}  // namespace irqremap::x86
