// The x86 vCPU's system instructions that Unicorn 2.0.1 gets wrong or does not check
// (x86_vcpu.h): CPUID (cpuid_leaves.h), the CR4.UMIP instructions, MOV to CR4, and the
// debug registers: DR0-DR3/DR7, DR7.GD, instruction, data and I/O breakpoints
// (trapped_insn.h, debug_breakpoints.h).
#include <fmt/format.h>

#include <algorithm>

#include "arch/common/unicorn_abort.h"
#include "arch/x86/cpuid_leaves.h"
#include "arch/x86/engine_cpuid.h"
#include "arch/x86/x86_vcpu.h"

namespace irqremap::x86 {

void X86Vcpu::update_breakpoints() {
  std::array<uint64_t, 4> dr{};
  for (unsigned n = 0; n < 4; ++n) uc_reg_read(uc_, UC_X86_REG_DR0 + int(n), &dr[n]);
  update_data_breakpoints(data_breakpoints(dr7_, dr));
  // SDM vol. 3A §18.2.4: DRn is an instruction breakpoint when DR7's Ln or Gn is set and
  // its R/Wn is 00 (the LENn of an instruction breakpoint is 00).
  std::vector<uint64_t> bps;
  for (unsigned n = 0; n < 4; ++n) {
    const bool enabled = (dr7_ >> (2 * n) & 3) != 0;
    const unsigned rw = unsigned(dr7_ >> (16 + 4 * n)) & 3;
    if (!enabled || rw != 0) continue;
    bps.push_back(dr[n]);
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

void X86Vcpu::update_data_breakpoints(std::vector<DataBreakpoint> bps) {
  const auto same = [](const DataBreakpoint& a, const DataBreakpoint& b) {
    return a.n == b.n && a.on == b.on && a.first == b.first && a.last == b.last;
  };
  if (std::ranges::equal(bps, data_breakpoints_, same)) return;
  data_breakpoints_ = std::move(bps);
  debug_hits_ = 0;
  if (data_hook_ != 0) uc_hook_del(uc_, data_hook_);
  data_hook_ = 0;
  // Memory breakpoints: a read/write hook bounded to the watched bytes, so that no other
  // access takes Unicorn's slow path. Unicorn 2.0.1 passes the hook the access's linear
  // address (cputlb.c load_helper/store_helper: the vaddr, before its own identity
  // "translation") and bounds it by the first byte only, so the range starts 7 bytes
  // early: an 8-byte access that begins below the range and overlaps it is seen too.
  uint64_t lo = ~uint64_t{0}, hi = 0;
  for (const DataBreakpoint& b : data_breakpoints_)
    if (b.on != BreakOn::Io) {
      lo = std::min(lo, b.first < 7 ? 0 : b.first - 7);
      hi = std::max(hi, b.last);
    }
  if (lo <= hi)
    uc_hook_add(uc_, &data_hook_, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, reinterpret_cast<void*>(&X86Vcpu::on_data),
                this, lo, hi);
  // Unicorn 2.0.1's TCG backend decides at translation whether loads and stores call the
  // hooks at all (tcg/i386/tcg-target.inc.c: the inline fast path only while no
  // UC_HOOK_MEM_READ/WRITE exists), so code translated before the hook came would never
  // report, and code translated while it existed stays on the slow path: translate again.
  for (const GuestMemory::Region& reg : mem_.regions()) uc_ctl_remove_cache(uc_, reg.base, reg.base + reg.size);
  // The trap is raised before the next instruction, which only precise mode's per-
  // instruction hook sees: a fast-mode quantum ends at the next block (a MOV to DR7 writes
  // RIP, so that is the next instruction) and the next one runs precise (choose_mode).
  if (!data_breakpoints_.empty() && !precise_) end_quantum_ = true;
}

void X86Vcpu::on_data(uc_engine*, uc_mem_type type, uint64_t address, int size, int64_t, void* p) {
  arch::HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<X86Vcpu*>(p);
  if (!self->precise_) return;  // the quantum ends before it can be reported (above)
  self->debug_hits_ |= data_hits(self->data_breakpoints_, address, unsigned(size), type == UC_MEM_WRITE);
}

void X86Vcpu::io_breakpoint(uint16_t port, int size) {
  // §18.2.4: R/W = 10 is an I/O breakpoint only with CR4.DE = 1 (undefined otherwise:
  // nothing here).
  if (data_breakpoints_.empty() || !precise_) return;
  uint64_t cr4 = 0;
  uc_reg_read(uc_, UC_X86_REG_CR4, &cr4);
  if ((cr4 & kCr4DE) != 0) debug_hits_ |= io_hits(data_breakpoints_, port, unsigned(size));
}

bool X86Vcpu::data_breakpoint_trap(uint64_t address) {
  // §18.3.1.2: data and I/O breakpoints are traps: the instruction that made the access
  // completed, and the #DB's frame holds the next one (`address`, where the code hook is
  // now). DR6 (§18.2.3): B0-B3 say which matched; BD, BS, BT are kept.
  const uint8_t hits = std::exchange(debug_hits_, 0);
  uint64_t dr6 = 0;
  uc_reg_read(uc_, UC_X86_REG_DR6, &dr6);
  dr6 = 0xFFFF'0FF0 | (dr6 & 0xE000) | hits;
  uc_reg_write(uc_, UC_X86_REG_DR6, &dr6);
  fault_trapped(1, std::nullopt, fmt::format("data breakpoint (DR6 {:#x}) before {:#x}: #DB", dr6, address));
  return !error_.has_value();
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
    const unsigned level = cpl();
    if ((cr4 & kCr4UMIP) != 0 && level != 0) {
      fault_trapped(13, 0, fmt::format("{} at CPL {} with CR4.UMIP set: #GP(0)", mnemonic(c.op), level));
      return false;
    }
    if (c.op == CheckedOp::Smsw && c.reg_operand && !code64() && code32_operands() != c.opsize_prefix) {
      // SMSW r32 outside 64-bit code: CR0[31:0], zero-extended as any 32-bit register
      // write (trapped_insn.h says why the vCPU does it).
      uint64_t cr0 = 0;
      uc_reg_read(uc_, UC_X86_REG_CR0, &cr0);
      const uint64_t value = uint32_t(cr0);
      uc_reg_write(uc_, kGprIds[c.gpr & 7], &value);
      const uint64_t next = rip() + insn_size_;
      uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // performed: skip the instruction
      return false;
    }
    return true;
  }
  // At CPL > 0 Unicorn raises #GP(0) itself for MOV to/from CRn and DRn.
  if (cpl() != 0) return true;
  const bool mov_dr = c.op == CheckedOp::MovToDr7 || c.op == CheckedOp::MovFromDr7 ||
                      c.op == CheckedOp::MovToDrAddr || c.op == CheckedOp::MovDrOther;
  if (mov_dr && (c.dr == 4 || c.dr == 5) && (cr4 & kCr4DE) != 0) return true;  // #UD: Unicorn's
  if (mov_dr && (dr7_ & kDr7GD) != 0) {
    // §18.2.4 (GD): a MOV that accesses any debug register is a #DB fault before it, with
    // DR6.BD set; the processor clears GD on entering the handler, so it may use them.
    uint64_t dr6 = 0;
    uc_reg_read(uc_, UC_X86_REG_DR6, &dr6);
    dr6 |= kDr6BD;
    uc_reg_write(uc_, UC_X86_REG_DR6, &dr6);
    dr7_ &= ~kDr7GD;
    const uint64_t armed_none = dr7_ & ~uint64_t{0xFF};
    uc_reg_write(uc_, UC_X86_REG_DR7, &armed_none);
    fault_trapped(1, std::nullopt, fmt::format("{} with DR7.GD set: #DB", mnemonic(c.op)), true);
    return false;
  }
  if (c.op == CheckedOp::MovDrOther) return true;  // performed by Unicorn
  if (c.op == CheckedOp::MovToCr8 || c.op == CheckedOp::MovFromCr8) {
    if (!code64()) return true;  // no REX outside 64-bit code: not this instruction
    uint64_t value = 0;
    if (c.op == CheckedOp::MovToCr8) {
      uc_reg_read(uc_, kGprIds[c.gpr & 15], &value);
      // MOV—Move to/from Control Registers: a 1 in CR8's reserved bits 63:4 is #GP(0).
      if ((value >> 4) != 0) {
        fault_trapped(13, 0, fmt::format("MOV to CR8 of {:#x}: reserved bit set: #GP(0)", value));
        return false;
      }
      apic_.write_cr8(value);
    } else {
      value = apic_.cr8();
      uc_reg_write(uc_, kGprIds[c.gpr & 15], &value);
    }
    const uint64_t next = rip() + insn_size_;
    uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // performed: skip the instruction
    return false;
  }
  if (c.op == CheckedOp::MovToDrAddr) {
    uint64_t value = 0;
    uc_reg_read(uc_, kGprIds[c.gpr & 15], &value);
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
      uc_reg_read(uc_, kGprIds[c.gpr & 15], &value);
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
      uc_reg_write(uc_, kGprIds[c.gpr & 15], &value);
    }
    const uint64_t next = rip() + insn_size_;
    uc_reg_write(uc_, UC_X86_REG_RIP, &next);  // performed: skip the instruction
    return false;
  }
  // MOV to CR4 (MOV—Move to/from Control Registers, "Protected Mode Exceptions"): reserved
  // bits, or clearing PAE in IA-32e mode, are #GP(0).
  uint64_t value = 0;
  uc_reg_read(uc_, kGprIds[c.gpr & 15], &value);
  if (!code64()) value = uint32_t(value);  // a 32-bit operand outside 64-bit mode
  const bool apic_on = (apic_.apic_base() & (1u << 11)) != 0;
  const uint64_t reserved = cr4_reserved_bits(machine_cpuid(1, 0, engine_cpuid(1, 0), index_, apic_on, features_),
                                              machine_cpuid(7, 0, engine_cpuid(7, 0), index_, apic_on, features_));
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
  const CpuidRegs r = machine_cpuid(leaf, subleaf, engine_cpuid(leaf, subleaf), self->index_, apic_on, self->features_);
  // The high halves of RAX, RBX, RCX and RDX are cleared (CPUID "Operation").
  const uint64_t a = r.eax, b = r.ebx, c = r.ecx, d = r.edx;
  uc_reg_write(uc, UC_X86_REG_RAX, &a);
  uc_reg_write(uc, UC_X86_REG_RBX, &b);
  uc_reg_write(uc, UC_X86_REG_RCX, &c);
  uc_reg_write(uc, UC_X86_REG_RDX, &d);
  return 1;  // skip Unicorn's own CPUID
}

}  // namespace irqremap::x86
