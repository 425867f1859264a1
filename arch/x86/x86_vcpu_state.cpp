// The x86-64 vCPU's part of a machine snapshot (x86_vcpu.h "state"). Records are named as
// SDM vol. 3A spells the registers; the MSRs by their architectural names (vol. 4).
//
// A snapshot is taken between quanta, never inside uc_emu_start, so nothing of a running
// step (the block being counted, the #PF scratch page, the exact-budget tail) exists then.
// Saving reads the engine through uc_reg_read; loading collects every record first and
// writes the engine only when the whole stream was read (io.ok()).
#include <fmt/format.h>

#include <array>
#include <cstring>

#include "snapshot/state_io.h"
#include "arch/x86/engine_context.h"
#include "arch/x86/x86_vcpu.h"

namespace irqremap::x86 {
namespace {

struct Reg {
  const char* name;
  int id;
};
constexpr Reg kGprs[] = {
    {"RAX", UC_X86_REG_RAX}, {"RBX", UC_X86_REG_RBX}, {"RCX", UC_X86_REG_RCX}, {"RDX", UC_X86_REG_RDX},
    {"RSI", UC_X86_REG_RSI}, {"RDI", UC_X86_REG_RDI}, {"RBP", UC_X86_REG_RBP}, {"RSP", UC_X86_REG_RSP},
    {"R8", UC_X86_REG_R8},   {"R9", UC_X86_REG_R9},   {"R10", UC_X86_REG_R10}, {"R11", UC_X86_REG_R11},
    {"R12", UC_X86_REG_R12}, {"R13", UC_X86_REG_R13}, {"R14", UC_X86_REG_R14}, {"R15", UC_X86_REG_R15},
    {"RIP", UC_X86_REG_RIP}, {"RFLAGS", UC_X86_REG_RFLAGS},
};
constexpr Reg kControl[] = {{"CR0", UC_X86_REG_CR0}, {"CR2", UC_X86_REG_CR2}, {"CR3", UC_X86_REG_CR3},
                            {"CR4", UC_X86_REG_CR4}};
// DR7 is the vCPU's own (x86_vcpu.h: Unicorn never gets its enables).
constexpr Reg kDebug[] = {{"DR0", UC_X86_REG_DR0}, {"DR1", UC_X86_REG_DR1}, {"DR2", UC_X86_REG_DR2},
                          {"DR3", UC_X86_REG_DR3}, {"DR6", UC_X86_REG_DR6}};
constexpr uint32_t kMsrEfer = 0xC000'0080;
// The MSRs the guest writes that Unicorn performs natively and holds (RDMSR/WRMSR of
// IA32_APIC_BASE, x2APIC and IA32_TSC are the vCPU's: local_apic.h, time_stamp_counter.h;
// IA32_FS_BASE/IA32_GS_BASE are the FS/GS hidden bases, saved with the segments).
struct Msr {
  const char* name;
  uint32_t index;
};
constexpr Msr kMsrs[] = {
    {"IA32_SYSENTER_CS", 0x174},   {"IA32_SYSENTER_ESP", 0x175},   {"IA32_SYSENTER_EIP", 0x176},
    {"IA32_MISC_ENABLE", 0x1A0},   {"IA32_PAT", 0x277},            {"IA32_MTRR_DEF_TYPE", 0x2FF},
    {"IA32_MTRR_FIX64K_00000", 0x250}, {"IA32_MTRR_FIX16K_80000", 0x258}, {"IA32_MTRR_FIX16K_A0000", 0x259},
    {"IA32_MTRR_FIX4K_C0000", 0x268},  {"IA32_MTRR_FIX4K_C8000", 0x269},  {"IA32_MTRR_FIX4K_D0000", 0x26A},
    {"IA32_MTRR_FIX4K_D8000", 0x26B},  {"IA32_MTRR_FIX4K_E0000", 0x26C},  {"IA32_MTRR_FIX4K_E8000", 0x26D},
    {"IA32_MTRR_FIX4K_F0000", 0x26E},  {"IA32_MTRR_FIX4K_F8000", 0x26F},
    {"IA32_MTRR_PHYSBASE0", 0x200}, {"IA32_MTRR_PHYSMASK0", 0x201}, {"IA32_MTRR_PHYSBASE1", 0x202},
    {"IA32_MTRR_PHYSMASK1", 0x203}, {"IA32_MTRR_PHYSBASE2", 0x204}, {"IA32_MTRR_PHYSMASK2", 0x205},
    {"IA32_MTRR_PHYSBASE3", 0x206}, {"IA32_MTRR_PHYSMASK3", 0x207}, {"IA32_MTRR_PHYSBASE4", 0x208},
    {"IA32_MTRR_PHYSMASK4", 0x209}, {"IA32_MTRR_PHYSBASE5", 0x20A}, {"IA32_MTRR_PHYSMASK5", 0x20B},
    {"IA32_MTRR_PHYSBASE6", 0x20C}, {"IA32_MTRR_PHYSMASK6", 0x20D}, {"IA32_MTRR_PHYSBASE7", 0x20E},
    {"IA32_MTRR_PHYSMASK7", 0x20F},
    {"IA32_STAR", 0xC000'0081},    {"IA32_LSTAR", 0xC000'0082},    {"IA32_CSTAR", 0xC000'0083},
    {"IA32_FMASK", 0xC000'0084},   {"IA32_KERNEL_GS_BASE", 0xC000'0102}, {"IA32_TSC_AUX", 0xC000'0103},
};
constexpr const char* kSegNames[] = {"ES", "CS", "SS", "DS", "FS", "GS"};
constexpr int kStRegs[] = {UC_X86_REG_ST0, UC_X86_REG_ST1, UC_X86_REG_ST2, UC_X86_REG_ST3,
                           UC_X86_REG_ST4, UC_X86_REG_ST5, UC_X86_REG_ST6, UC_X86_REG_ST7};

// Everything the file holds for one CPU, gathered before any of it reaches the engine.
struct CpuRecord {
  std::array<uint64_t, std::size(kGprs)> gprs{};
  std::array<uint64_t, std::size(kControl)> control{};
  uint64_t efer = 0;
  std::array<uint64_t, std::size(kDebug)> debug{};
  uint64_t dr7 = 0;
  std::array<uint64_t, std::size(kMsrs)> msrs{};
  SegmentCaches segs{};
  uc_x86_mmr ldtr{}, tr{}, gdtr{}, idtr{};
  uint16_t fpcw = 0, fpsw = 0, fptag = 0, fcs = 0, fds = 0, fop = 0;
  uint64_t fip = 0, fdp = 0;
  std::array<std::array<uint8_t, 10>, 8> st{};
  uint32_t mxcsr = 0;
  std::array<std::array<uint8_t, 16>, 16> xmm{};
  int32_t exception_in_flight = -1;
  ModeRegisters mode;  // sse_enabled, cpl, code64, code32, stack32 (segment_state.h)
};

void visit(snapshot::Io& io, CpuRecord& r) {
  {
    snapshot::Io::Group g(io, "gprs");
    for (size_t i = 0; i < std::size(kGprs); ++i) io.field(kGprs[i].name, r.gprs[i]);
  }
  {
    snapshot::Io::Group g(io, "control");
    for (size_t i = 0; i < std::size(kControl); ++i) io.field(kControl[i].name, r.control[i]);
    io.field("IA32_EFER", r.efer);
  }
  {
    snapshot::Io::Group g(io, "debug");
    for (size_t i = 0; i < std::size(kDebug); ++i) io.field(kDebug[i].name, r.debug[i]);
    io.field("DR7", r.dr7);
  }
  {
    snapshot::Io::Group g(io, "msrs");
    for (size_t i = 0; i < std::size(kMsrs); ++i) io.field(kMsrs[i].name, r.msrs[i]);
  }
  {
    // The mode code runs in (segment_state.h ModeRegisters): the CPL (SDM vol. 3A §5.5),
    // IA-32e 64-bit mode (CS.L, §5.2.1), the default operand and stack sizes (CS.D, SS.B).
    snapshot::Io::Group g(io, "mode");
    uint8_t cpl = uint8_t(r.mode.cpl);
    io.field("CPL", cpl);
    io.check(cpl <= 3, "a CPL above 3");
    r.mode.cpl = cpl & 3;
    io.field("64-bit_mode", r.mode.code64);
    io.field("CS.D", r.mode.code32);
    io.field("SS.B", r.mode.stack32);
  }
  {
    // SDM vol. 3A §3.4.3: the visible selector and the hidden base, limit and attributes
    // (the descriptor's high dword as loaded).
    snapshot::Io::Group g(io, "segments");
    for (size_t i = 0; i < r.segs.size(); ++i) {
      snapshot::Io::Group s(io, kSegNames[i]);
      io.field("selector", r.segs[i].selector);
      io.field("base", r.segs[i].base);
      io.field("limit", r.segs[i].limit);
      io.field("attributes", r.segs[i].flags);
    }
    for (auto [name, m] : {std::pair{"LDTR", &r.ldtr}, std::pair{"TR", &r.tr}}) {
      snapshot::Io::Group s(io, name);
      uint16_t sel = m->selector;
      io.field("selector", sel);
      m->selector = sel;
      io.field("base", m->base);
      io.field("limit", m->limit);
      io.field("attributes", m->flags);
    }
    for (auto [name, m] : {std::pair{"GDTR", &r.gdtr}, std::pair{"IDTR", &r.idtr}}) {
      snapshot::Io::Group s(io, name);
      io.field("base", m->base);
      io.field("limit", m->limit);
      io.check(m->limit <= 0xFFFF, "a descriptor-table limit above 16 bits");
    }
  }
  {
    // x87 FPU and SSE state (SDM vol. 1 §8.1, §10.2).
    snapshot::Io::Group g(io, "fpu");
    io.field("FCW", r.fpcw);
    io.field("FSW", r.fpsw);
    io.field("FTW", r.fptag);
    for (size_t i = 0; i < r.st.size(); ++i) io.bytes(fmt::format("ST{}", i), std::span(r.st[i]));
    io.field("FIP", r.fip);
    io.field("FCS", r.fcs);
    io.field("FDP", r.fdp);
    io.field("FDS", r.fds);
    io.field("FOP", r.fop);
    io.field("MXCSR", r.mxcsr);
    // Whether SSE instructions execute (segment_state.h ModeRegisters: not always CR4.OSFXSR).
    io.field("SSE_enabled", r.mode.sse_enabled);
    for (size_t i = 0; i < r.xmm.size(); ++i) io.bytes(fmt::format("XMM{}", i), std::span(r.xmm[i]));
  }
  // The exception the engine counts as being delivered (exception_in_flight.h): always none
  // between quanta (the vCPU clears it after each delivery), saved so a file says so.
  io.field("exception_in_flight", r.exception_in_flight);
  io.check(r.exception_in_flight >= -1 && r.exception_in_flight < 32, "an exception in flight that is no vector");
}

// The descriptor-table, x87 and SSE registers Unicorn reads and writes by name, one list
// for both directions (saving reads them, loading writes them, in this order; Unicorn
// 2.0.1's writes of these are independent of one another: an ST register write leaves the
// tag word alone).
template <typename Access>
void engine_registers(CpuRecord& r, Access&& at) {
  at(UC_X86_REG_LDTR, &r.ldtr);
  at(UC_X86_REG_TR, &r.tr);
  at(UC_X86_REG_GDTR, &r.gdtr);
  at(UC_X86_REG_IDTR, &r.idtr);
  at(UC_X86_REG_FPCW, &r.fpcw);
  at(UC_X86_REG_FPSW, &r.fpsw);
  for (size_t i = 0; i < r.st.size(); ++i) at(kStRegs[i], r.st[i].data());
  at(UC_X86_REG_FPTAG, &r.fptag);
  at(UC_X86_REG_FIP, &r.fip);
  at(UC_X86_REG_FCS, &r.fcs);
  at(UC_X86_REG_FDP, &r.fdp);
  at(UC_X86_REG_FDS, &r.fds);
  at(UC_X86_REG_FOP, &r.fop);
  at(UC_X86_REG_MXCSR, &r.mxcsr);
  for (size_t i = 0; i < r.xmm.size(); ++i) at(UC_X86_REG_XMM0 + int(i), r.xmm[i].data());
}

}  // namespace

std::optional<uint32_t> X86Vcpu::engine_hflags() const {
  if (!segments_ || scratch_context_ == nullptr) return std::nullopt;
  return segments_->hflags(uc_, scratch_context_);
}

void X86Vcpu::state(snapshot::Io& io) {
  snapshot::Io::Group cpu(io, fmt::format("cpu{}", index_));
  if (!segments_ || scratch_context_ == nullptr) {
    io.fail("this vCPU cannot load segment state into Unicorn (segment_state.h)");
    return;
  }
  CpuRecord r;
  if (io.saving()) {
    for (size_t i = 0; i < std::size(kGprs); ++i) uc_reg_read(uc_, kGprs[i].id, &r.gprs[i]);
    for (size_t i = 0; i < std::size(kControl); ++i) uc_reg_read(uc_, kControl[i].id, &r.control[i]);
    uc_x86_msr efer{kMsrEfer, 0};
    uc_reg_read(uc_, UC_X86_REG_MSR, &efer);
    r.efer = efer.value;
    for (size_t i = 0; i < std::size(kDebug); ++i) uc_reg_read(uc_, kDebug[i].id, &r.debug[i]);
    r.dr7 = dr7_;
    for (size_t i = 0; i < std::size(kMsrs); ++i) {
      uc_x86_msr m{kMsrs[i].index, 0};
      uc_reg_read(uc_, UC_X86_REG_MSR, &m);
      r.msrs[i] = m.value;
    }
    r.segs = segments_->read_all(uc_, scratch_context_);
    engine_registers(r, [this](int id, void* v) { uc_reg_read(uc_, id, v); });
    if (in_flight_) r.exception_in_flight = in_flight_->read(uc_, scratch_context_);
    segments_->read_mode(uc_, scratch_context_, r.mode);
  }
  visit(io, r);

  // The vCPU's own state.
  snapshot::Io::Group own(io, "vcpu");
  io.field("running", running_);  // false: off, or waiting for SIPI (SDM vol. 3A §9.4.4)
  io.field("halted", halted_);    // HLT executed, waiting for an interrupt
  io.field("STI_shadow", sti_shadow_);  // blocking by STI, MOV SS or POP SS (SDM vol. 3A §6.8.3)
  io.field("MOV_SS_shadow", movss_shadow_);  // ... by MOV SS / POP SS: NMIs wait too
  io.field("NMI_blocked", nmi_blocked_);  // an NMI handler runs until the next IRET (§6.7.1)
  uint64_t tsc_offset = tsc_.offset();
  io.field("IA32_TSC_offset", tsc_offset);  // the counter's difference to the machine's clock
  io.field("instructions_entered", entered_);
  io.field("PAUSE_stall", stalled_);  // instruction-times PAUSEs held the CPU (pause_latency.h)
  io.bytes("interrupts_taken", std::as_writable_bytes(std::span(taken_)));
  io.field("startup_vector", startup_page_.vector);
  io.field("precise_only", sites_full_);  // the fast mode's trap sites overflowed once
  io.field("DR6_pending", debug_hits_);   // data-breakpoint hits whose #DB trap is due
  bool has_error = error_.has_value();
  std::string error = error_.value_or("");
  io.field("stop_pending", has_error);
  io.text("stop_reason", error, 4096);
  io.check((debug_hits_ & ~0xFu) == 0, "DR6 hits outside B0-B3");
  // The VA alias runs (x86_vcpu.h "linear address"; arch/common/va_aliases.h): this CPU's
  // TLB. They are saved and mapped again at once rather than rebuilt as the restored CPU
  // faults into them: a run may hold a translation the tables no longer give (one the
  // guest changed without invalidating, as a TLB may hold, SDM vol. 3A §4.10.4.2), and
  // mapping one is a traced event, so rebuilding lazily would trace, and possibly
  // translate, differently from the uninterrupted run.
  bool fetch_watch = fetch_hook_ != 0;
  io.field("fetch_watch", fetch_watch);  // fast mode's execute-permission watch installed
  std::vector<arch::VaAliases::RunView> runs;
  if (io.saving()) runs = aliases_.list();
  const size_t n = io.count("alias_runs", runs.size(), arch::VaAliases::kX86MaxRuns + arch::VaAliases::kX86MachinePieces);
  if (io.loading()) runs.assign(n, {});
  for (size_t i = 0; i < runs.size(); ++i) {
    auto& run = runs[i];
    snapshot::Io::Group g(io, "run");
    io.field("va", run.va_page);
    io.field("pa", run.pa_page);
    io.field("pages", run.pages);
    io.field("joined", run.joined);  // a part of the run before (va_aliases.h list())
    io.check((run.va_page | run.pa_page) % arch::VaAliases::kPage == 0 && run.pages >= 1 &&
                 run.pages <= arch::VaAliases::kMaxRunPages,
             "an alias run that is not whole pages");
    io.check(!run.joined || (i != 0 && runs[i - 1].va_page + runs[i - 1].pages * arch::VaAliases::kPage == run.va_page),
             "an alias run part that does not follow the part before");
  }
  if (!io.loading() || !io.ok()) return;

  // Apply. General registers and RIP/RFLAGS, then CR0/CR2/CR3/CR4 (stored as they are),
  // the MSRs (helper_wrmsr), the x87/SSE state (FSW before the STn: STn is relative to
  // FSW.TOP), then segments, EFER and the mode (segment_state.h ModeRegisters).
  for (size_t i = 0; i < std::size(kGprs); ++i) uc_reg_write(uc_, kGprs[i].id, &r.gprs[i]);
  for (size_t i = 0; i < std::size(kControl); ++i) uc_reg_write(uc_, kControl[i].id, &r.control[i]);
  for (size_t i = 0; i < std::size(kMsrs); ++i) {
    uc_x86_msr m{kMsrs[i].index, r.msrs[i]};
    uc_reg_write(uc_, UC_X86_REG_MSR, &m);
  }
  engine_registers(r, [this](int id, void* v) { uc_reg_write(uc_, id, v); });
  r.mode.cr0 = r.control[0];
  r.mode.cr4 = r.control[3];
  r.mode.efer = r.efer;
  r.mode.rflags = r.gprs[17];
  r.mode.interrupt_shadow = sti_shadow_;
  segments_->load_all(uc_, scratch_context_, r.segs, r.mode);
  if (in_flight_ && r.exception_in_flight != -1)
    engine_context::write_field<int32_t>(uc_, scratch_context_, in_flight_->offset(), r.exception_in_flight);
  // Debug registers: DR0-DR3 and DR6 in Unicorn, DR7 without its enables (trapped_insn.h);
  // the breakpoints DR7 arms are derived and rebuilt.
  for (size_t i = 0; i < std::size(kDebug); ++i) uc_reg_write(uc_, kDebug[i].id, &r.debug[i]);
  dr7_ = r.dr7;
  const uint64_t armed_none = dr7_ & ~uint64_t{0xFF};
  uc_reg_write(uc_, UC_X86_REG_DR7, &armed_none);
  const uint8_t hits = debug_hits_;
  update_breakpoints();
  debug_hits_ = hits;  // update_breakpoints() forgets hits when the breakpoints change
  tsc_.set_offset(tsc_offset);
  if (fetch_watch) watch_fetches();
  Trace silent;  // mapped again, not anew: no event
  for (size_t first = 0; first < runs.size();) {
    // One run: its first part and the joined ones after it, answered from the file.
    size_t end = first + 1;
    while (end < runs.size() && runs[end].joined) ++end;
    const uint64_t va0 = runs[first].va_page;
    const uint64_t bytes = runs[end - 1].va_page + runs[end - 1].pages * arch::VaAliases::kPage - va0;
    const auto saved = [&, first, end](uint64_t va_page) -> std::optional<uint64_t> {
      for (size_t k = first; k < end; ++k)
        if (va_page - runs[k].va_page < runs[k].pages * arch::VaAliases::kPage) return runs[k].pa_page + (va_page - runs[k].va_page);
      return std::nullopt;
    };
    const bool mapped = aliases_.map(uc_, mem_, va0, runs[first].pa_page, alias_mmio_, silent, index_, saved);
    if (!mapped || aliases_.run_pages(va0) * arch::VaAliases::kPage != bytes) {
      io.fail(fmt::format("cpu{}: the alias run at VA {:#x} cannot be mapped again", index_, va0));
      return;
    }
    if (fetch_hook_ != 0)
      if (const GuestMemory::Region* r = mem_.region_at(runs[first].pa_page))
        uc_mem_protect(uc_, va0, bytes, r->read_only ? UC_PROT_READ : (UC_PROT_READ | UC_PROT_WRITE));
    first = end;
  }

  error_ = has_error ? std::optional<std::string>(error) : std::nullopt;
  // Not restored, derived: the fast mode's decoded blocks and trap-site hooks (decoded
  // again when first run), the mode (chosen at the next step).
}

}  // namespace irqremap::x86
