// The vCPU's part of a machine snapshot (Arm64Vcpu::state; docs/SNAPSHOT.md).
//
// Saving reads the architected registers by name (uc_reg_read, UC_ARM64_REG_CP_REG), never
// Unicorn's context bytes. Restoring writes them into an engine that has never run, which
// is not enough on its own: QEMU caches what it derives from PSTATE and the system
// registers in env->hflags (the EL, the MMU index, whether FP is trapped, TBI, ...), and
// neither a PSTATE write nor a raw system-register write rebuilds it (see the facts in
// arm64_vcpu.h). An exception return does (QEMU's helper_exception_return rebuilds hflags
// for the EL it returns to). So restoring ends with two ERETs run from a scratch page
// mapped for the purpose, with the MMU off (SCTLR_EL1.M written last):
//   1. from EL1h to EL1h (SPSR_EL1 = EL1h, DAIF masked): hflags are now those of EL1 with
//      the restored registers; the engine context saved here is the EL1 context the vCPU
//      restores on an exception from EL0 (arm64_vcpu.h), as if saved at the guest's ERET;
//   2. from EL1h to the saved PSTATE (EL0t, EL1t or EL1h), with the banked SP_EL0 and
//      SP_EL1 in place, stopping before the next fetch; then PC, ELR_EL1, SPSR_EL1 and
//      SCTLR_EL1 get their saved values.
// tests/arm64/snapshot_test.cpp checks that every register below round-trips through a
// fresh engine and that a machine restored at EL0 with FP enabled runs on identically.
//
// Not saved: the exclusive monitor (Unicorn exposes no register for it). A restored PE
// starts with it in the Open Access state, which the architecture allows at any time: a
// Store-Exclusive may fail for an implementation-defined reason and software retries
// (Arm ARM B2.9 "Synchronization and semaphores"). Unicorn's TLBs and translated blocks are
// rebuilt from guest memory; the word_at/translation caches, the hooks per instruction and
// the set of system registers Unicorn knows are derived and rebuilt as the guest runs.
#include <fmt/format.h>

#include <array>
#include <cstring>

#include "arch/arm64/arm64_vcpu.h"
#include "arch/common/unicorn_abort.h"

namespace irqremap::arm64 {

namespace {

// A system register Unicorn's Cortex-A57 holds that software at EL1 can write (Arm ARM
// D17.2 names), read and written raw through UC_ARM64_REG_CP_REG. SCTLR_EL1, ELR_EL1
// and SPSR_EL1 are in the table but written at the end of restoring (see above). Left out:
// the registers QEMU defines as constants or no-ops (AFSR0_EL1, AFSR1_EL1, AMAIR_EL1 read
// as zero and ignore writes; MDCCINT_EL1, OSDLR_EL1 are NOPs): Unicorn 2.0.1's raw write
// checks no register type, so writing one of those stores the value at offset 0 of its
// CPU state (AArch32 R0) instead of nowhere. Never write them.
struct SysregRecord {
  const char* name;
  uint32_t op0, op1, crn, crm, op2;
};
constexpr SysregRecord kSysregs[] = {
    {"SCTLR_EL1", 3, 0, 1, 0, 0},       {"CPACR_EL1", 3, 0, 1, 0, 2},   {"TTBR0_EL1", 3, 0, 2, 0, 0},
    {"TTBR1_EL1", 3, 0, 2, 0, 1},       {"TCR_EL1", 3, 0, 2, 0, 2},     {"SPSR_EL1", 3, 0, 4, 0, 0},
    {"ELR_EL1", 3, 0, 4, 0, 1},         {"ESR_EL1", 3, 0, 5, 2, 0},     {"FAR_EL1", 3, 0, 6, 0, 0},
    {"PAR_EL1", 3, 0, 7, 4, 0},         {"MAIR_EL1", 3, 0, 10, 2, 0},   {"VBAR_EL1", 3, 0, 12, 0, 0},
    {"CONTEXTIDR_EL1", 3, 0, 13, 0, 1}, {"TPIDR_EL1", 3, 0, 13, 0, 4},  {"CNTKCTL_EL1", 3, 0, 14, 1, 0},
    {"CSSELR_EL1", 3, 2, 0, 0, 0},      {"TPIDR_EL0", 3, 3, 13, 0, 2},  {"TPIDRRO_EL0", 3, 3, 13, 0, 3},
    {"OSLSR_EL1", 2, 0, 1, 1, 4},
};
constexpr std::size_t kSysregCount = std::size(kSysregs);
constexpr std::size_t kSctlr = 0, kSpsr = 5, kElr = 6, kOslsr = kSysregCount - 1;
// OSLSR_EL1 is read-only; the OS lock it reports (OSLK, bit 1) is set through OSLAR_EL1.
constexpr uint64_t kOslk = 1u << 1;

uc_arm64_cp_reg cp(const SysregRecord& r, uint64_t v = 0) { return uc_arm64_cp_reg{r.crn, r.crm, r.op0, r.op1, r.op2, v}; }

// A page nothing of the machine occupies (QEMU virt's platform bus, absent here:
// virt_map.h), mapped only while the ERETs of a restore run.
constexpr uint64_t kScratch = 0x0C00'0000;
constexpr uint32_t kEret = 0xD69F'03E0;
constexpr uint64_t kPstateMask = 0x1F;  // PSTATE.M[4:0]: nRW and the EL and SP selection

}  // namespace

struct Arm64Vcpu::Registers {
  std::array<uint64_t, 31> x{};
  uint64_t sp_el0 = 0, sp_el1 = 0, pc = 0, pstate = 0;
  std::array<unsigned __int128, 32> v{};
  uint32_t fpcr = 0, fpsr = 0;
  std::array<uint64_t, kSysregCount> sys{};
};

void Arm64Vcpu::read_registers(Registers& r) const {
  for (unsigned i = 0; i < 29; ++i) r.x[i] = reg(uc_arm64_reg(UC_ARM64_REG_X0 + i));
  r.x[29] = reg(UC_ARM64_REG_X29);
  r.x[30] = reg(UC_ARM64_REG_X30);
  r.pc = reg(UC_ARM64_REG_PC);
  r.pstate = reg(UC_ARM64_REG_PSTATE) & 0xFFFF'FFFF;
  // SP is the stack pointer PSTATE selects (EL1h: SP_EL1, otherwise SP_EL0); the other
  // one is in its bank.
  const bool h = (r.pstate & 1) != 0 && pstate::el(r.pstate) != 0;
  r.sp_el0 = h ? reg(UC_ARM64_REG_SP_EL0) : reg(UC_ARM64_REG_SP);
  r.sp_el1 = h ? reg(UC_ARM64_REG_SP) : reg(UC_ARM64_REG_SP_EL1);
  for (unsigned i = 0; i < 32; ++i) {
    uint64_t q[2] = {};
    uc_reg_read(uc_, uc_arm64_reg(UC_ARM64_REG_Q0 + i), q);
    r.v[i] = (unsigned __int128)q[1] << 64 | q[0];
  }
  uc_reg_read(uc_, UC_ARM64_REG_FPCR, &r.fpcr);
  uc_reg_read(uc_, UC_ARM64_REG_FPSR, &r.fpsr);
  for (std::size_t i = 0; i < kSysregCount; ++i) {
    uc_arm64_cp_reg c = cp(kSysregs[i]);
    uc_reg_read(uc_, UC_ARM64_REG_CP_REG, &c);
    r.sys[i] = c.val;
  }
}

std::expected<void, std::string> Arm64Vcpu::write_registers(const Registers& r) {
  if (mode_chosen_ || unbacked_)
    return std::unexpected("the CPU has run: a snapshot is restored into a machine that never ran");
  for (std::size_t i = 0; i < kSysregCount; ++i) {
    if (i == kOslsr) continue;
    uc_arm64_cp_reg c = cp(kSysregs[i], i == kSctlr ? r.sys[i] & ~uint64_t{1} : r.sys[i]);  // MMU off for now
    if (uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &c) != UC_ERR_OK)
      return std::unexpected(fmt::format("Unicorn does not take {}", kSysregs[i].name));
  }
  uc_arm64_cp_reg oslar{0, 0, 2, 0, 4, r.sys[kOslsr] & kOslk ? 1u : 0u};  // OSLAR_EL1.OSLK
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &oslar);
  // Unicorn's MDSCR_EL1 never has SS (arm64_vcpu.h); the guest's is mdscr_.
  uc_arm64_cp_reg m{0, 2, 2, 0, 2, mdscr_ & ~software_step::kMdscrSs};
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &m);
  for (unsigned i = 0; i < 29; ++i) set_reg(uc_arm64_reg(UC_ARM64_REG_X0 + i), r.x[i]);
  set_reg(UC_ARM64_REG_X29, r.x[29]);
  set_reg(UC_ARM64_REG_X30, r.x[30]);
  for (unsigned i = 0; i < 32; ++i) {
    uint64_t q[2] = {uint64_t(r.v[i]), uint64_t(r.v[i] >> 64)};
    uc_reg_write(uc_, uc_arm64_reg(UC_ARM64_REG_Q0 + i), q);
  }
  uc_reg_write(uc_, UC_ARM64_REG_FPCR, &r.fpcr);
  uc_reg_write(uc_, UC_ARM64_REG_FPSR, &r.fpsr);

  // The two ERETs (see the top of this file).
  if (uc_mem_map(uc_, kScratch, 0x1000, UC_PROT_READ | UC_PROT_EXEC) != UC_ERR_OK)
    return std::unexpected(fmt::format("the scratch page at {:#x} is taken", kScratch));
  const uint32_t code[3] = {kEret, kEret, 0};
  uc_mem_write(uc_, kScratch, code, sizeof code);
  auto eret = [&](uint64_t to_pc, uint64_t to_pstate) -> bool {
    set_reg(UC_ARM64_REG_ELR_EL1, to_pc);
    uc_arm64_cp_reg spsr = cp(kSysregs[kSpsr], to_pstate & ~uint64_t{1u << 21 | 1u << 20});  // no SS, no IL
    uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &spsr);
    const uint64_t from = pc();
    const std::optional<uc_err> e = arch::guarded_emu_start(uc_, from, to_pc, 0, 0);
    return e && *e == UC_ERR_OK && pc() == to_pc && (reg(UC_ARM64_REG_PSTATE) & kPstateMask) == (to_pstate & kPstateMask);
  };
  set_reg(UC_ARM64_REG_PSTATE, kPstateReset);
  set_reg(UC_ARM64_REG_SP_EL0, r.sp_el0);
  set_reg(UC_ARM64_REG_SP, r.sp_el1);  // EL1h: SP is SP_EL1
  set_reg(UC_ARM64_REG_PC, kScratch);
  bool ok = eret(kScratch + 4, kPstateReset);
  if (ok && el1_context_) uc_context_save(uc_, el1_context_);
  ok = ok && eret(kScratch + 8, r.pstate);
  uc_mem_unmap(uc_, kScratch, 0x1000);
  uc_ctl_remove_cache(uc_, kScratch, kScratch + 0x1000);
  if (!ok) return std::unexpected(fmt::format("the engine does not return to PSTATE {:#x}", r.pstate));
  set_reg(UC_ARM64_REG_PC, r.pc);
  set_reg(UC_ARM64_REG_ELR_EL1, r.sys[kElr]);
  uc_arm64_cp_reg spsr = cp(kSysregs[kSpsr], r.sys[kSpsr]), sctlr = cp(kSysregs[kSctlr], r.sys[kSctlr]);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &spsr);
  uc_reg_write(uc_, UC_ARM64_REG_CP_REG, &sctlr);  // a TLB flush, no hflags bit depends on M
  forget_code_page();
  return {};
}

void Arm64Vcpu::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pe");
  arch::VcpuState st = state_;
  io.field("power", st);
  io.check(st <= arch::VcpuState::WaitingForInterrupt, "a CPU is Off (0), Running (1) or WaitingForInterrupt (2)");
  Registers r;
  if (io.saving()) read_registers(r);
  {
    snapshot::Io::Group gp(io, "core");
    for (unsigned i = 0; i < 31; ++i) io.field(fmt::format("X{}", i), r.x[i]);
    io.field("SP_EL0", r.sp_el0);
    io.field("SP_EL1", r.sp_el1);
    io.field("PC", r.pc);
    // NZCV, DAIF, M (EL and SPSel); PSTATE.SS is the vCPU's (below).
    io.field("PSTATE", r.pstate);
    const uint64_t m = r.pstate & kPstateMask;
    io.check(m == 0x0 || m == kPstateEl1t || m == kPstateEl1h, "PSTATE.M is EL0t, EL1t or EL1h (AArch64, no EL2)");
    io.check((r.pstate >> 32) == 0, "PSTATE bits above 31");
    io.field("PSTATE.SS", pstate_ss_);
  }
  {
    snapshot::Io::Group gf(io, "fp");
    for (unsigned i = 0; i < 32; ++i) io.field(fmt::format("V{}", i), r.v[i]);
    io.field("FPCR", r.fpcr);
    io.field("FPSR", r.fpsr);
  }
  {
    snapshot::Io::Group gs(io, "sysregs");
    for (std::size_t i = 0; i < kSysregCount; ++i) io.field(kSysregs[i].name, r.sys[i]);
    io.field("MDSCR_EL1", mdscr_);  // the guest's, SS included
  }
  debug_.state(io);
  {
    snapshot::Io::Group gv(io, "vcpu");
    uint64_t retired = retired_base_ + executed_;
    io.field("retired", retired);
    io.field("irqs_taken", irqs_);
    io.field("sync_exceptions_taken", syncs_);
    io.field("serror_pending", serror_pending_);
    bool el1_ctx = el1_context_valid_;
    io.field("el1_context_valid", el1_ctx);
    // The last exception entry, to tell a vector that cannot be fetched (arm64_vcpu.h).
    bool entry = last_entry_.has_value();
    LastEntry e = last_entry_.value_or(LastEntry{});
    io.field("last_entry", entry);
    io.field("last_entry.vector", e.vector);
    io.field("last_entry.vector_offset", e.vector_offset);
    io.field("last_entry.culprit", e.culprit);
    io.text("last_entry.what", e.what, 4096);
    io.field("last_entry.fetched", e.fetched);
    if (!io.loading() || !io.ok()) return;
    if (auto ok = write_registers(r); !ok) {
      io.fail(ok.error());
      return;
    }
    state_ = st;
    retired_base_ = retired;
    executed_ = 0;
    el1_context_valid_ = el1_ctx && el1_context_ != nullptr;
    last_entry_ = entry ? std::optional<LastEntry>(e) : std::nullopt;
    // The breakpoint and watchpoint hooks are installed by the first quantum, once the
    // execution mode is chosen.
    breakpoints_dirty_ = !debug_.breakpoint_addresses().empty() || debug_.any_watchpoint();
  }
}

}  // namespace irqremap::arm64
