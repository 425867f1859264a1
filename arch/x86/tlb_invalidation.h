#pragma once
// The instructions after which a translation the processor may have cached must no longer
// be used (Intel SDM vol. 3A §4.10.4.1 "Operations that Invalidate TLBs and Paging-Structure
// Caches"): MOV to CR3, MOV to CR0 and CR4 (§4.10.4.1 lists the CR0.PG and CR4 bit changes
// that invalidate everything), INVLPG and INVPCID. The vCPU's alias runs are such cached
// translations (arch/common/va_aliases.h), so its code hook sees these instructions and
// drops the runs. It drops every run for each of them: a processor may invalidate more
// than an instruction requires (§4.10.4.1, INVLPG "may invalidate ... additional"
// entries), never less, and a dropped run only costs the next access a walk.
//   MOV CRn, r   0F 22 /r   ModRM.reg (REX.R: CR8 and up, which are not these) = n
//   INVLPG m     0F 01 /7   ModRM.mod != 11b (11b /7 is SWAPGS, RDTSCP, ...)
//   INVPCID r,m  66 0F 38 82 /r
#include <cstdint>
#include <span>

#include "arch/x86/insn_prefixes.h"

namespace irqremap::x86 {

// `bytes` is the whole instruction, as long as Unicorn says it is.
constexpr bool invalidates_tlb(std::span<const uint8_t> bytes) {
  const size_t i = opcode_start(bytes);
  const std::span<const uint8_t> op = bytes.subspan(i);
  if (op.size() < 3 || op[0] != 0x0F) return false;
  bool rex_r = false;  // REX.W/R/X/B is the last prefix when present
  if (i > 0 && (bytes[i - 1] & 0xF0) == 0x40) rex_r = (bytes[i - 1] & 0x04) != 0;
  const uint8_t modrm = op[2], mod = modrm >> 6, reg = (modrm >> 3) & 7;
  if (op[1] == 0x22) return !rex_r && (reg == 0 || reg == 3 || reg == 4);
  if (op[1] == 0x01) return mod != 3 && reg == 7;
  if (op.size() >= 4 && op[1] == 0x38 && op[2] == 0x82) return true;  // INVPCID
  return false;
}

}  // namespace irqremap::x86
