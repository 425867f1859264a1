#include "arch/common/disassembler.h"

#include <capstone/capstone.h>
#include <fmt/format.h>

namespace irqremap::arch {

Disassembler::Disassembler(IsaKind isa) : isa_(isa) {
  const cs_err e = isa == IsaKind::X86_64 ? cs_open(CS_ARCH_X86, CS_MODE_64, &handle_)
                                          : cs_open(CS_ARCH_ARM64, CS_MODE_LITTLE_ENDIAN, &handle_);
  if (e != CS_ERR_OK) handle_ = 0;
}

Disassembler::~Disassembler() {
  if (handle_ != 0) cs_close(&handle_);
}

std::string Disassembler::decode(const uint8_t* bytes, size_t n, uint64_t pc) const {
  if (handle_ == 0 || n == 0) return "";
  cs_insn* insn = nullptr;
  const size_t count = cs_disasm(handle_, bytes, n, pc, 1, &insn);
  if (count == 0) return "(undecodable)";
  std::string s = fmt::format("{} {}", insn[0].mnemonic, insn[0].op_str);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  cs_free(insn, count);
  return s;
}

std::string Disassembler::at(const GuestMemory& mem, uint64_t pc) const {
  // x86 instructions are up to 15 bytes; A64 ones are 4. Shrink at the end of RAM.
  size_t n = isa_ == IsaKind::X86_64 ? 15 : 4;
  const std::byte* p = nullptr;
  while (n > 0 && (p = mem.host_ptr(pc, n)) == nullptr) --n;
  if (p == nullptr) return "";
  return decode(reinterpret_cast<const uint8_t*>(p), n, pc);
}

}  // namespace irqremap::arch
