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

}  // namespace irqremap::x86
