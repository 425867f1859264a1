#include "arch/x86/insn_access.h"

#include <capstone/capstone.h>

namespace irqremap::x86 {

namespace {
// One detail-mode handle for the process (the disassembler for traces keeps detail off).
csh detail_handle() {
  static const csh handle = [] {
    csh h = 0;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) return csh{0};
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    return h;
  }();
  return handle;
}
}  // namespace

std::optional<bool> instruction_writes_memory(const uint8_t* bytes, size_t n, uint64_t rip) {
  const csh h = detail_handle();
  if (h == 0) return std::nullopt;
  cs_insn* insn = nullptr;
  if (cs_disasm(h, bytes, n, rip, 1, &insn) != 1) return std::nullopt;
  bool writes = false;
  switch (insn->id) {
    case X86_INS_PUSH: case X86_INS_PUSHF: case X86_INS_PUSHFD: case X86_INS_PUSHFQ:
    case X86_INS_PUSHAL: case X86_INS_PUSHAW: case X86_INS_CALL: case X86_INS_ENTER:
      writes = true;  // the stack store
      break;
    default:
      break;
  }
  const cs_x86& x86 = insn->detail->x86;
  for (uint8_t i = 0; i < x86.op_count && !writes; ++i)
    writes = x86.operands[i].type == X86_OP_MEM && (x86.operands[i].access & CS_AC_WRITE) != 0;
  cs_free(insn, 1);
  return writes;
}

namespace {
int gpr_number(unsigned reg) {
  static constexpr unsigned kGprs[16] = {X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
                                         X86_REG_RSI, X86_REG_RDI, X86_REG_R8,  X86_REG_R9,  X86_REG_R10, X86_REG_R11,
                                         X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15};
  for (int i = 0; i < 16; ++i)
    if (kGprs[i] == reg) return i;
  return -1;
}
}  // namespace

std::optional<StackOperand> stack_operand(const uint8_t* bytes, size_t n, uint64_t rip, bool& implicit_stack) {
  implicit_stack = false;
  const csh h = detail_handle();
  if (h == 0) return std::nullopt;
  cs_insn* insn = nullptr;
  if (cs_disasm(h, bytes, n, rip, 1, &insn) != 1) return std::nullopt;
  switch (insn->id) {
    case X86_INS_PUSH: case X86_INS_POP: case X86_INS_PUSHF: case X86_INS_PUSHFQ: case X86_INS_POPF:
    case X86_INS_POPFQ: case X86_INS_CALL: case X86_INS_RET: case X86_INS_ENTER: case X86_INS_LEAVE:
      implicit_stack = true;
      break;
    default:
      break;
  }
  std::optional<StackOperand> found;
  const cs_x86& x86 = insn->detail->x86;
  for (uint8_t i = 0; i < x86.op_count && !found; ++i) {
    const cs_x86_op& op = x86.operands[i];
    if (op.type != X86_OP_MEM) continue;
    const bool ss = op.mem.segment == X86_REG_SS ||
                    (op.mem.segment == X86_REG_INVALID && (op.mem.base == X86_REG_RSP || op.mem.base == X86_REG_RBP));
    if (!ss) continue;
    found = StackOperand{gpr_number(op.mem.base), gpr_number(op.mem.index), unsigned(op.mem.scale), op.mem.disp};
  }
  cs_free(insn, 1);
  return found;
}

std::optional<int64_t> near_branch_rsp_delta(const uint8_t* bytes, size_t n, uint64_t rip) {
  const csh h = detail_handle();
  if (h == 0) return std::nullopt;
  cs_insn* insn = nullptr;
  if (cs_disasm(h, bytes, n, rip, 1, &insn) != 1) return std::nullopt;
  std::optional<int64_t> delta;
  const cs_x86& x86 = insn->detail->x86;
  if (cs_insn_group(h, insn, X86_GRP_JUMP) && insn->id != X86_INS_LJMP) {
    delta = 0;
  } else if (insn->id == X86_INS_CALL) {
    delta = -8;
  } else if (insn->id == X86_INS_RET) {
    delta = 8 + (x86.op_count == 1 && x86.operands[0].type == X86_OP_IMM ? x86.operands[0].imm : 0);
  }
  cs_free(insn, 1);
  return delta;
}

}  // namespace irqremap::x86
