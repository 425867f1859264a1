#include "arch/x86/gdb_x86.h"
#include "arch/common/gdb/paged_memory.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "arch/x86/page_walk.h"

namespace irqremap::x86 {

namespace {

using gdb::RegisterDesc;

constexpr std::string_view kCore = "org.gnu.gdb.i386.core";
constexpr std::string_view kSse = "org.gnu.gdb.i386.sse";
constexpr std::string_view kSegments = "org.gnu.gdb.i386.segments";

// The vector views of gdb's features/i386/64bit-sse.xml ($xmm0.v4_int32[1], ...).
constexpr std::string_view kSseTypes =
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
    "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
    "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
    "<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
    "<field name=\"uint128\" type=\"uint128\"/></union>\n";

constexpr std::array<std::pair<std::string_view, std::string_view>, 1> kTypes{{{kSse, kSseTypes}}};

struct Reg {
  std::string_view name;
  unsigned bits;
  std::string_view type;
  std::string_view feature;
  std::string_view group;
  uc_x86_reg id;
};

// gdb's amd64 numbering (gdb/amd64-tdep.h: rax 0 ... gs 23, st0 24 ... fop 39, xmm0 40 ...
// mxcsr 56), then fs_base and gs_base.
constexpr std::array<Reg, 59> kRegs{{
    {"rax", 64, "int64", kCore, "", UC_X86_REG_RAX},
    {"rbx", 64, "int64", kCore, "", UC_X86_REG_RBX},
    {"rcx", 64, "int64", kCore, "", UC_X86_REG_RCX},
    {"rdx", 64, "int64", kCore, "", UC_X86_REG_RDX},
    {"rsi", 64, "int64", kCore, "", UC_X86_REG_RSI},
    {"rdi", 64, "int64", kCore, "", UC_X86_REG_RDI},
    {"rbp", 64, "data_ptr", kCore, "", UC_X86_REG_RBP},
    {"rsp", 64, "data_ptr", kCore, "", UC_X86_REG_RSP},
    {"r8", 64, "int64", kCore, "", UC_X86_REG_R8},
    {"r9", 64, "int64", kCore, "", UC_X86_REG_R9},
    {"r10", 64, "int64", kCore, "", UC_X86_REG_R10},
    {"r11", 64, "int64", kCore, "", UC_X86_REG_R11},
    {"r12", 64, "int64", kCore, "", UC_X86_REG_R12},
    {"r13", 64, "int64", kCore, "", UC_X86_REG_R13},
    {"r14", 64, "int64", kCore, "", UC_X86_REG_R14},
    {"r15", 64, "int64", kCore, "", UC_X86_REG_R15},
    {"rip", 64, "code_ptr", kCore, "", UC_X86_REG_RIP},
    {"eflags", 32, "int32", kCore, "", UC_X86_REG_EFLAGS},
    {"cs", 32, "int32", kCore, "", UC_X86_REG_CS},
    {"ss", 32, "int32", kCore, "", UC_X86_REG_SS},
    {"ds", 32, "int32", kCore, "", UC_X86_REG_DS},
    {"es", 32, "int32", kCore, "", UC_X86_REG_ES},
    {"fs", 32, "int32", kCore, "", UC_X86_REG_FS},
    {"gs", 32, "int32", kCore, "", UC_X86_REG_GS},
    {"st0", 80, "i387_ext", kCore, "float", UC_X86_REG_ST0},
    {"st1", 80, "i387_ext", kCore, "float", UC_X86_REG_ST1},
    {"st2", 80, "i387_ext", kCore, "float", UC_X86_REG_ST2},
    {"st3", 80, "i387_ext", kCore, "float", UC_X86_REG_ST3},
    {"st4", 80, "i387_ext", kCore, "float", UC_X86_REG_ST4},
    {"st5", 80, "i387_ext", kCore, "float", UC_X86_REG_ST5},
    {"st6", 80, "i387_ext", kCore, "float", UC_X86_REG_ST6},
    {"st7", 80, "i387_ext", kCore, "float", UC_X86_REG_ST7},
    {"fctrl", 32, "int", kCore, "float", UC_X86_REG_FPCW},
    {"fstat", 32, "int", kCore, "float", UC_X86_REG_FPSW},
    {"ftag", 32, "int", kCore, "float", UC_X86_REG_FPTAG},
    {"fiseg", 32, "int", kCore, "float", UC_X86_REG_FCS},
    {"fioff", 32, "int", kCore, "float", UC_X86_REG_FIP},
    {"foseg", 32, "int", kCore, "float", UC_X86_REG_FDS},
    {"fooff", 32, "int", kCore, "float", UC_X86_REG_FDP},
    {"fop", 32, "int", kCore, "float", UC_X86_REG_FOP},
    {"xmm0", 128, "vec128", kSse, "vector", UC_X86_REG_XMM0},
    {"xmm1", 128, "vec128", kSse, "vector", UC_X86_REG_XMM1},
    {"xmm2", 128, "vec128", kSse, "vector", UC_X86_REG_XMM2},
    {"xmm3", 128, "vec128", kSse, "vector", UC_X86_REG_XMM3},
    {"xmm4", 128, "vec128", kSse, "vector", UC_X86_REG_XMM4},
    {"xmm5", 128, "vec128", kSse, "vector", UC_X86_REG_XMM5},
    {"xmm6", 128, "vec128", kSse, "vector", UC_X86_REG_XMM6},
    {"xmm7", 128, "vec128", kSse, "vector", UC_X86_REG_XMM7},
    {"xmm8", 128, "vec128", kSse, "vector", UC_X86_REG_XMM8},
    {"xmm9", 128, "vec128", kSse, "vector", UC_X86_REG_XMM9},
    {"xmm10", 128, "vec128", kSse, "vector", UC_X86_REG_XMM10},
    {"xmm11", 128, "vec128", kSse, "vector", UC_X86_REG_XMM11},
    {"xmm12", 128, "vec128", kSse, "vector", UC_X86_REG_XMM12},
    {"xmm13", 128, "vec128", kSse, "vector", UC_X86_REG_XMM13},
    {"xmm14", 128, "vec128", kSse, "vector", UC_X86_REG_XMM14},
    {"xmm15", 128, "vec128", kSse, "vector", UC_X86_REG_XMM15},
    {"mxcsr", 32, "int", kSse, "vector", UC_X86_REG_MXCSR},
    {"fs_base", 64, "int", kSegments, "", UC_X86_REG_FS_BASE},
    {"gs_base", 64, "int", kSegments, "", UC_X86_REG_GS_BASE},
}};

constexpr unsigned kRip = 16;

}  // namespace

const gdb::TargetDescription& X86GdbTarget::description() const {
  static const std::vector<RegisterDesc> regs = [] {
    std::vector<RegisterDesc> r;
    for (const Reg& g : kRegs) r.push_back({g.name, g.bits, g.type, g.feature, g.group});
    return r;
  }();
  // Data breakpoints are trap-class on x86 (SDM vol. 3B §17.3.1.2): gdb expects the stop
  // after the access, and ignores a stop whose watched value has not changed yet.
  static const gdb::TargetDescription d{"i386:x86-64", regs, kTypes, kRip, true};
  return d;
}

std::string X86GdbTarget::cpu_state(unsigned cpu) const {
  switch (m_.cpu(cpu).state()) {
    case arch::VcpuState::Off: return fmt::format("CPU {} [off]", cpu);
    case arch::VcpuState::WaitingForInterrupt: return fmt::format("CPU {} [halted]", cpu);
    case arch::VcpuState::Running: break;
  }
  return fmt::format("CPU {} [running]", cpu);
}

bool X86GdbTarget::cpu_running(unsigned cpu) const { return m_.cpu(cpu).state() == arch::VcpuState::Running; }

void X86GdbTarget::end_quantum(unsigned cpu) {
  // The x86 vCPU has no end-of-quantum request of its own; a stop from its code hook ends
  // the quantum before the instruction there (it was counted, so the CPU's instruction
  // count, not its state, is one ahead). Only a step of another CPU and a kill ask this.
  uc_emu_stop(m_.cpu(cpu).engine());
}

bool X86GdbTarget::read_register(unsigned cpu, unsigned regno, std::span<std::byte> out) {
  if (regno >= kRegs.size() || cpu >= cpu_count()) return false;
  // Unicorn writes as many bytes as the register has (a selector 2, x87 10, xmm 16).
  std::array<std::byte, 16> buf{};
  if (uc_reg_read(m_.cpu(cpu).engine(), kRegs[regno].id, buf.data()) != UC_ERR_OK) return false;
  std::memcpy(out.data(), buf.data(), std::min(out.size(), buf.size()));
  return true;
}

bool X86GdbTarget::write_register(unsigned cpu, unsigned regno, std::span<const std::byte> in) {
  if (regno >= kRegs.size() || cpu >= cpu_count()) return false;
  std::array<std::byte, 16> buf{};
  std::memcpy(buf.data(), in.data(), std::min(in.size(), buf.size()));
  return uc_reg_write(m_.cpu(cpu).engine(), kRegs[regno].id, buf.data()) == UC_ERR_OK;
}

std::optional<uint64_t> X86GdbTarget::translate(unsigned cpu, uint64_t va) const {
  uc_engine* uc = m_.cpu(cpu).engine();
  PagingRegs r;
  uc_reg_read(uc, UC_X86_REG_CR0, &r.cr0);
  uc_reg_read(uc, UC_X86_REG_CR3, &r.cr3);
  uc_reg_read(uc, UC_X86_REG_CR4, &r.cr4);
  uc_x86_msr efer{0xC000'0080, 0};  // IA32_EFER
  uc_reg_read(uc, UC_X86_REG_MSR, &efer);
  r.efer = efer.value;
  // A supervisor read: the debugger sees what the kernel may see.
  auto t = x86::translate(m_.memory(), r, va, PageAccess{Access::Read, false});
  if (!t) return std::nullopt;
  return t->pa;
}

bool X86GdbTarget::read_memory(unsigned cpu, uint64_t va, std::span<std::byte> out) {
  if (cpu >= cpu_count()) return false;
  return gdb::read_paged(m_.memory(), va, out, [&](uint64_t v) { return translate(cpu, v); });
}

bool X86GdbTarget::write_memory(unsigned cpu, uint64_t va, std::span<const std::byte> in) {
  if (cpu >= cpu_count()) return false;
  if (!gdb::write_paged(m_.memory(), va, in, [&](uint64_t v) { return translate(cpu, v); })) return false;
  // Code written by the debugger: every engine translates it afresh.
  for (unsigned c = 0; c < cpu_count(); ++c) uc_ctl_remove_cache(m_.cpu(c).engine(), va, va + in.size());
  return true;
}

X86GdbAttachment::X86GdbAttachment(X86Machine& m, gdb::Session& session) : m_(m) {
  for (unsigned c = 0; c < m.cpu_count(); ++c) {
    X86Vcpu& cpu = m.cpu(c);
    traces_.push_back(cpu.on_insn());
    cpu.set_on_insn([&session, c, trace = cpu.on_insn()](uint64_t pc, uint32_t size) {
      session.before_insn(c, pc);
      if (trace) trace(pc, size);
    });
    per_cpu_.push_back(std::make_unique<PerCpu>(PerCpu{&session, c}));
    uc_hook h = 0;
    if (uc_hook_add(cpu.engine(), &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                    reinterpret_cast<void*>(&X86GdbAttachment::on_access), per_cpu_.back().get(), 1, 0) == UC_ERR_OK)
      hooks_.push_back({cpu.engine(), h});
  }
  m.scheduler().set_boundary_hook([&session](unsigned cpu) { return session.at_boundary(cpu); });
}

X86GdbAttachment::~X86GdbAttachment() {
  m_.scheduler().set_boundary_hook({});
  for (auto [uc, h] : hooks_) uc_hook_del(uc, h);
  for (unsigned c = 0; c < m_.cpu_count(); ++c) m_.cpu(c).set_on_insn(std::move(traces_[c]));
}

void X86GdbAttachment::on_access(uc_engine*, uc_mem_type type, uint64_t address, int size, int64_t, void* p) {
  auto* self = static_cast<PerCpu*>(p);
  if (!self->session->watching()) return;
  self->session->on_access(self->cpu, address, unsigned(size), type == UC_MEM_WRITE);
}

}  // namespace irqremap::x86
