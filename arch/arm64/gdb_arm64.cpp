#include "arch/arm64/gdb_arm64.h"
#include "arch/common/gdb/paged_memory.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace irqremap::arm64 {

namespace {

using gdb::RegisterDesc;

constexpr std::string_view kCore = "org.gnu.gdb.aarch64.core";
constexpr std::string_view kFpu = "org.gnu.gdb.aarch64.fpu";
// Not one of gdb's features: gdb keeps the registers of a feature it does not know and
// shows them in their group (tdesc_use_registers), so `info registers system` lists them.
constexpr std::string_view kSystem = "org.irqremap.aarch64.system";

// The vector views gdb's own features/aarch64-fpu.xml gives v0-v31 ($v0.d.u[1], ...).
constexpr std::string_view kFpuTypes =
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
    "<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>\n"
    "<vector id=\"v2i\" type=\"int64\" count=\"2\"/>\n"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
    "<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>\n"
    "<vector id=\"v4i\" type=\"int32\" count=\"4\"/>\n"
    "<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>\n"
    "<vector id=\"v8i\" type=\"int16\" count=\"8\"/>\n"
    "<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>\n"
    "<vector id=\"v16i\" type=\"int8\" count=\"16\"/>\n"
    "<vector id=\"v1u\" type=\"uint128\" count=\"1\"/>\n"
    "<vector id=\"v1i\" type=\"int128\" count=\"1\"/>\n"
    "<union id=\"vnd\"><field name=\"f\" type=\"v2d\"/><field name=\"u\" type=\"v2u\"/>"
    "<field name=\"s\" type=\"v2i\"/></union>\n"
    "<union id=\"vns\"><field name=\"f\" type=\"v4f\"/><field name=\"u\" type=\"v4u\"/>"
    "<field name=\"s\" type=\"v4i\"/></union>\n"
    "<union id=\"vnh\"><field name=\"u\" type=\"v8u\"/><field name=\"s\" type=\"v8i\"/></union>\n"
    "<union id=\"vnb\"><field name=\"u\" type=\"v16u\"/><field name=\"s\" type=\"v16i\"/></union>\n"
    "<union id=\"vnq\"><field name=\"u\" type=\"v1u\"/><field name=\"s\" type=\"v1i\"/></union>\n"
    "<union id=\"aarch64v\"><field name=\"d\" type=\"vnd\"/><field name=\"s\" type=\"vns\"/>"
    "<field name=\"h\" type=\"vnh\"/><field name=\"b\" type=\"vnb\"/><field name=\"q\" type=\"vnq\"/></union>\n";

constexpr std::array<std::pair<std::string_view, std::string_view>, 1> kTypes{{{kFpu, kFpuTypes}}};

// Where each register lives in Unicorn: a register id, or a system register encoding
// read through UC_ARM64_REG_CP_REG (those Unicorn has no id for).
struct Source {
  uc_arm64_reg id = UC_ARM64_REG_INVALID;
  std::array<uint32_t, 5> sys{};  // op0, op1, CRn, CRm, op2
};

constexpr unsigned kV0 = 34, kFpsr = 66, kFpcr = 67, kSys = 68;

struct SystemReg {
  std::string_view name;
  Source src;
};

// Arm ARM D17.2 encodings (op0, op1, CRn, CRm, op2).
// SP_EL1 is left out: at EL1h it is `sp` itself, and Unicorn's banked copy is stale then.
const std::array<SystemReg, 12> kSystemRegs{{
    {"ELR_EL1", {UC_ARM64_REG_ELR_EL1, {}}},
    {"SPSR_EL1", {UC_ARM64_REG_CP_REG, {3, 0, 4, 0, 0}}},
    {"ESR_EL1", {UC_ARM64_REG_ESR_EL1, {}}},
    {"FAR_EL1", {UC_ARM64_REG_FAR_EL1, {}}},
    {"VBAR_EL1", {UC_ARM64_REG_VBAR_EL1, {}}},
    {"SCTLR_EL1", {UC_ARM64_REG_CP_REG, {3, 0, 1, 0, 0}}},
    {"TCR_EL1", {UC_ARM64_REG_CP_REG, {3, 0, 2, 0, 2}}},
    {"TTBR0_EL1", {UC_ARM64_REG_TTBR0_EL1, {}}},
    {"TTBR1_EL1", {UC_ARM64_REG_TTBR1_EL1, {}}},
    {"MAIR_EL1", {UC_ARM64_REG_MAIR_EL1, {}}},
    {"SP_EL0", {UC_ARM64_REG_SP_EL0, {}}},
    {"TPIDR_EL1", {UC_ARM64_REG_CP_REG, {3, 0, 13, 0, 4}}},
}};

constexpr std::array<std::string_view, 32> kXNames{
    "x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
    "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
    "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", ""};
constexpr std::array<std::string_view, 32> kVNames{
    "v0",  "v1",  "v2",  "v3",  "v4",  "v5",  "v6",  "v7",  "v8",  "v9",  "v10",
    "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21",
    "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31"};

// gdb's aarch64 numbering (gdb/arch/aarch64.h: x0-x30 0-30, sp 31, pc 32, cpsr 33,
// v0-v31 34-65, fpsr 66, fpcr 67), then irqremap's system registers.
std::vector<RegisterDesc> make_regs() {
  std::vector<RegisterDesc> r;
  for (unsigned i = 0; i < 31; ++i) r.push_back({kXNames[i], 64, "int", kCore});
  r.push_back({"sp", 64, "data_ptr", kCore});
  r.push_back({"pc", 64, "code_ptr", kCore});
  r.push_back({"cpsr", 32, "int", kCore});
  for (unsigned i = 0; i < 32; ++i) r.push_back({kVNames[i], 128, "aarch64v", kFpu, "vector"});
  r.push_back({"fpsr", 32, "int", kFpu, "float"});
  r.push_back({"fpcr", 32, "int", kFpu, "float"});
  for (const SystemReg& s : kSystemRegs) r.push_back({s.name, 64, "int", kSystem, "system"});
  return r;
}

Source source(unsigned regno) {
  if (regno < 29) return {uc_arm64_reg(UC_ARM64_REG_X0 + regno), {}};
  if (regno == 29) return {UC_ARM64_REG_X29, {}};
  if (regno == 30) return {UC_ARM64_REG_X30, {}};
  if (regno == 31) return {UC_ARM64_REG_SP, {}};
  if (regno == 32) return {UC_ARM64_REG_PC, {}};
  if (regno == 33) return {UC_ARM64_REG_PSTATE, {}};
  if (regno >= kV0 && regno < kV0 + 32) return {uc_arm64_reg(UC_ARM64_REG_Q0 + (regno - kV0)), {}};
  if (regno == kFpsr) return {UC_ARM64_REG_FPSR, {}};
  if (regno == kFpcr) return {UC_ARM64_REG_FPCR, {}};
  return kSystemRegs.at(regno - kSys).src;
}

}  // namespace

const gdb::TargetDescription& Arm64GdbTarget::description() const {
  static const std::vector<RegisterDesc> regs = make_regs();
  static const gdb::TargetDescription d{"aarch64", regs, kTypes, 32};
  return d;
}

std::string Arm64GdbTarget::cpu_state(unsigned cpu) const {
  switch (m_.cpu(cpu).state()) {
    case arch::VcpuState::Off: return fmt::format("CPU {} [off]", cpu);
    case arch::VcpuState::WaitingForInterrupt: return fmt::format("CPU {} [halted in WFI]", cpu);
    case arch::VcpuState::Running: break;
  }
  return fmt::format("CPU {} [running]", cpu);
}

bool Arm64GdbTarget::cpu_running(unsigned cpu) const { return m_.cpu(cpu).state() == arch::VcpuState::Running; }

bool Arm64GdbTarget::read_register(unsigned cpu, unsigned regno, std::span<std::byte> out) {
  if (regno >= description().regs.size() || cpu >= cpu_count()) return false;
  uc_engine* uc = m_.cpu(cpu).engine();
  const Source s = source(regno);
  if (s.id == UC_ARM64_REG_CP_REG) {
    uc_arm64_cp_reg cp{s.sys[2], s.sys[3], s.sys[0], s.sys[1], s.sys[4], 0};
    if (uc_reg_read(uc, UC_ARM64_REG_CP_REG, &cp) != UC_ERR_OK) return false;
    std::memcpy(out.data(), &cp.val, std::min(out.size(), sizeof cp.val));
    return true;
  }
  if (regno >= kV0 && regno < kV0 + 32) {
    uint64_t q[2] = {};  // Unicorn 2.0.1 reads a Q register as two 64-bit halves, low first
    if (uc_reg_read(uc, s.id, q) != UC_ERR_OK) return false;
    std::memcpy(out.data(), q, 16);
    return true;
  }
  uint64_t v = 0;
  if (uc_reg_read(uc, s.id, &v) != UC_ERR_OK) return false;
  std::memcpy(out.data(), &v, std::min(out.size(), sizeof v));  // little-endian host and guest
  return true;
}

bool Arm64GdbTarget::write_register(unsigned cpu, unsigned regno, std::span<const std::byte> in) {
  if (regno >= description().regs.size() || cpu >= cpu_count()) return false;
  uc_engine* uc = m_.cpu(cpu).engine();
  const Source s = source(regno);
  if (regno >= kV0 && regno < kV0 + 32) {
    uint64_t q[2] = {};
    std::memcpy(q, in.data(), 16);
    return uc_reg_write(uc, s.id, q) == UC_ERR_OK;
  }
  uint64_t v = 0;
  std::memcpy(&v, in.data(), std::min(in.size(), sizeof v));
  if (s.id == UC_ARM64_REG_CP_REG) {
    uc_arm64_cp_reg cp{s.sys[2], s.sys[3], s.sys[0], s.sys[1], s.sys[4], v};
    return uc_reg_write(uc, UC_ARM64_REG_CP_REG, &cp) == UC_ERR_OK;
  }
  return uc_reg_write(uc, s.id, &v) == UC_ERR_OK;
}

std::optional<uint64_t> Arm64GdbTarget::translate(unsigned cpu, uint64_t va) const {
  uc_engine* uc = m_.cpu(cpu).engine();
  auto sys = [uc](uint32_t crn, uint32_t crm, uint32_t op2) {
    uc_arm64_cp_reg cp{crn, crm, 3, 0, op2, 0};
    return uc_reg_read(uc, UC_ARM64_REG_CP_REG, &cp) == UC_ERR_OK ? cp.val : 0;
  };
  const TranslationRegs regs{sys(1, 0, 0), sys(2, 0, 2), m_.cpu(cpu).reg(UC_ARM64_REG_TTBR0_EL1),
                             m_.cpu(cpu).reg(UC_ARM64_REG_TTBR1_EL1)};
  const GuestMemory& mem = m_.memory();
  auto t = stage1_translate(va, regs, [&mem](uint64_t pa) -> std::optional<uint64_t> {
    auto v = mem.read64(pa);
    return v ? std::optional<uint64_t>(*v) : std::nullopt;
  });
  if (!t) return std::nullopt;
  return t->pa;
}

bool Arm64GdbTarget::read_memory(unsigned cpu, uint64_t va, std::span<std::byte> out) {
  if (cpu >= cpu_count()) return false;
  return gdb::read_paged(m_.memory(), va, out, [&](uint64_t v) { return translate(cpu, v); });
}

bool Arm64GdbTarget::write_memory(unsigned cpu, uint64_t va, std::span<const std::byte> in) {
  if (cpu >= cpu_count()) return false;
  if (!gdb::write_paged(m_.memory(), va, in, [&](uint64_t v) { return translate(cpu, v); })) return false;
  // Code written by the debugger: every engine translates it afresh.
  for (unsigned c = 0; c < cpu_count(); ++c) uc_ctl_remove_cache(m_.cpu(c).engine(), va, va + in.size());
  return true;
}

Arm64GdbAttachment::Arm64GdbAttachment(Arm64Machine& m, gdb::Session& session) : m_(m) {
  for (unsigned c = 0; c < m.cpu_count(); ++c) {
    Arm64Vcpu& cpu = m.cpu(c);
    // Composed with an instruction trace (--trace) when there is one.
    traces_.push_back(cpu.on_insn());
    cpu.set_on_insn([&session, c, trace = cpu.on_insn()](uint64_t pc) {
      session.before_insn(c, pc);
      if (trace) trace(pc);
    });
    per_cpu_.push_back(std::make_unique<PerCpu>(PerCpu{&session, c}));
    uc_hook h = 0;
    if (uc_hook_add(cpu.engine(), &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                    reinterpret_cast<void*>(&Arm64GdbAttachment::on_access), per_cpu_.back().get(), 1, 0) ==
        UC_ERR_OK)
      hooks_.push_back({cpu.engine(), h});
  }
  m.scheduler().set_boundary_hook([&session](unsigned cpu) { return session.at_boundary(cpu); });
}

Arm64GdbAttachment::~Arm64GdbAttachment() {
  m_.scheduler().set_boundary_hook({});
  for (auto [uc, h] : hooks_) uc_hook_del(uc, h);
  for (unsigned c = 0; c < m_.cpu_count(); ++c) {
    // Back to the trace alone (or nothing): the machine must not call a gone session.
    m_.cpu(c).set_on_insn(std::move(traces_[c]));
  }
}

void Arm64GdbAttachment::on_access(uc_engine*, uc_mem_type type, uint64_t address, int size, int64_t, void* p) {
  auto* self = static_cast<PerCpu*>(p);
  if (!self->session->watching()) return;
  self->session->on_access(self->cpu, address, unsigned(size), type == UC_MEM_WRITE);
}

}  // namespace irqremap::arm64
