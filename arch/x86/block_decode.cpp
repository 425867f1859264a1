#include "arch/x86/block_decode.h"

#include <capstone/capstone.h>

#include "arch/x86/insn_prefixes.h"
#include "arch/x86/pause_latency.h"
#include "arch/x86/tlb_invalidation.h"
#include "arch/x86/trapped_insn.h"

namespace irqremap::x86 {

BlockDecoder::~BlockDecoder() {
  for (size_t& h : handle_)
    if (h != 0) cs_close(&h);
}

bool is_trap_site(std::span<const uint8_t> insn) {
  const size_t i = opcode_start(insn);
  if (i >= insn.size()) return false;
  const uint8_t op = insn[i];
  if (op == 0xC4 || op == 0xC5) return true;             // VEX (or LES/LDS): vex_prefix.h
  if (op == 0xF4 && i + 1 == insn.size()) return true;  // HLT
  if (op == 0x9C && i + 1 == insn.size()) return true;  // PUSHF: RF out of the image
  if (is_iret(insn)) return true;                       // IRET: NMIs unblocked
  if (invalidates_tlb(insn)) return true;  // MOV CR0/3/4, INVLPG, INVPCID: alias runs go
  if (classify_software_interrupt(insn)) return true;  // INT n, INT3, INTO
  if (classify_checked(insn).op != CheckedOp::None) return true;  // UMIP, MOV to CR4
  return classify_trapped(insn).op != TrappedOp::None;
}

DecodedBlock BlockDecoder::decode(std::span<const uint8_t> bytes, uint64_t address, unsigned bits) {
  DecodedBlock d;
  const unsigned k = bits == 64 ? 2 : bits == 32 ? 1 : 0;
  if (handle_[k] == 0) {
    csh h = 0;
    const cs_mode mode = k == 2 ? CS_MODE_64 : k == 1 ? CS_MODE_32 : CS_MODE_16;
    if (cs_open(CS_ARCH_X86, mode, &h) != CS_ERR_OK) h = 0;
    handle_[k] = h;
  }
  const uint8_t* code = bytes.data();
  size_t left = bytes.size();
  uint64_t at = address;
  cs_insn* insn = handle_[k] != 0 ? cs_malloc(handle_[k]) : nullptr;
  std::span<const uint8_t> last;
  while (left > 0 && insn != nullptr) {
    const uint64_t start = at;
    if (!cs_disasm_iter(handle_[k], &code, &left, &at, insn)) break;
    d.starts.push_back(uint16_t(start - address));
    last = bytes.subspan(start - address, insn->size);
    if (is_trap_site(last) || (is_pause(last) && left > 0)) d.sites.push_back({start, start});
  }
  if (insn != nullptr) cs_free(insn, 1);
  if (left > 0) {
    // Not decoded: every instruction from here to the end gets the hook (see the header).
    d.sites.push_back({at, address + bytes.size() - 1});
    d.undecoded = true;
    last = {};
  }
  if (!last.empty()) {
    const Shadow sh = shadow_after(last, bits == 64);
    d.ends_with_shadow = sh != Shadow::None;
    d.shadow_blocks_nmi = sh == Shadow::MovSs;
    d.ends_with_pause = is_pause(last);
  }
  return d;
}

Shadow shadow_after(std::span<const uint8_t> insn, bool code64) {
  const size_t i = opcode_start(insn);
  if (i >= insn.size()) return Shadow::None;
  if (insn[i] == 0xFB && i + 1 == insn.size()) return Shadow::Sti;
  if (insn[i] == 0x8E && i + 1 < insn.size() && ((insn[i + 1] >> 3) & 7) == 2) return Shadow::MovSs;
  if (insn[i] == 0x17 && i + 1 == insn.size() && !code64) return Shadow::MovSs;  // POP SS (#UD in 64-bit code)
  return Shadow::None;
}

bool is_iret(std::span<const uint8_t> insn) {
  const size_t i = opcode_start(insn);
  return i + 1 == insn.size() && insn[i] == 0xCF;
}

}  // namespace irqremap::x86
