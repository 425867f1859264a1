#pragma once
// VEX prefixes (SDM vol. 2A §2.3) and the VEX-encoded instructions the vCPU's processor has.
//
// Unicorn 2.0.1's x86-64 CPU reports no AVX (CPUID.01H:ECX[28] = 0) but BMI1 and BMI2
// (CPUID.(EAX=07H,ECX=0):EBX[3] and [8]), so its only VEX instructions are the
// general-purpose ones of BMI1 and BMI2 (`kVexInstructions`); any other VEX encoding is an
// undefined opcode, #UD. Unicorn's decoder (QEMU 5's) does not check that: it runs a
// VEX-prefixed 0F opcode as the legacy instruction (VEX CPUID, MOVZX, and RDTSC/RDTSCP on
// the host's TSC, which the machine_x86 fuzz target found) and VEX SSE opcodes as SSE. The
// vCPU raises the #UD itself, before the instruction runs (x86_vcpu.h).
//
// Whether C4/C5 is a VEX prefix depends on the mode (§2.3.5): always in 64-bit code;
// elsewhere only when the next byte's bits 7:6 are 11b, otherwise it is LES/LDS. (In real
// and virtual-8086 mode VEX is #UD and the 11b form of LES/LDS is #UD too, so the rule
// gives the right exception there as well.)
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "arch/x86/insn_prefixes.h"

namespace irqremap::x86 {

struct Vex {
  unsigned map = 1;       // opcode map: 1 = 0F, 2 = 0F 38, 3 = 0F 3A (C4's mmmmm; C5 implies 1)
  uint8_t pp = 0;         // implied prefix: 0 none, 1 = 66, 2 = F3, 3 = F2
  bool l = false;         // VEX.L (256-bit vectors)
  uint8_t vvvv = 0xF;     // as encoded, inverted: 1111b names no register
  bool after_prefix = false;  // LOCK, 66, F2, F3 or REX before the VEX prefix: #UD (§2.3.2-§2.3.4)
  std::optional<uint8_t> opcode, modrm;  // absent when the instruction ends first
};

// What the CPU has: BMI1 (ANDN, BEXTR, BLSI, BLSMSK, BLSR) and BMI2 (BZHI, MULX, PDEP,
// PEXT, RORX, SARX, SHLX, SHRX), each with VEX.L = 0 ("VEX.LZ" in its opcode table).
struct VexInstruction {
  const char* name;
  unsigned map;
  uint8_t pp, opcode;
  int8_t modrm_reg;   // the /digit of BLSI (3), BLSMSK (2), BLSR (1); -1 for /r
  bool vvvv_unused;   // RORX: VEX.vvvv must be 1111b
};
inline constexpr VexInstruction kVexInstructions[] = {
    {"ANDN", 2, 0, 0xF2, -1, false},  {"BLSR", 2, 0, 0xF3, 1, false}, {"BLSMSK", 2, 0, 0xF3, 2, false},
    {"BLSI", 2, 0, 0xF3, 3, false},   {"BZHI", 2, 0, 0xF5, -1, false}, {"PEXT", 2, 2, 0xF5, -1, false},
    {"PDEP", 2, 3, 0xF5, -1, false},  {"MULX", 2, 3, 0xF6, -1, false}, {"BEXTR", 2, 0, 0xF7, -1, false},
    {"SHLX", 2, 1, 0xF7, -1, false},  {"SARX", 2, 2, 0xF7, -1, false}, {"SHRX", 2, 3, 0xF7, -1, false},
    {"RORX", 3, 3, 0xF0, -1, true},
};

// Whether the instruction starts (after its prefixes) with a C4/C5 whose meaning needs
// the mode: VEX in 64-bit code, LES/LDS elsewhere. Knowing the mode costs the vCPU
// register reads and a descriptor read, so it asks only then.
constexpr bool vex_depends_on_mode(std::span<const uint8_t> bytes) {
  const size_t i = opcode_start(bytes);
  return i + 1 < bytes.size() && (bytes[i] == 0xC4 || bytes[i] == 0xC5) && bytes[i + 1] < 0xC0;
}

// The VEX prefix of an instruction (the whole instruction, as long as Unicorn says it is);
// nullopt when it has none. `code64`: the CPU runs 64-bit code (IA-32e mode, CS.L = 1).
constexpr std::optional<Vex> decode_vex(std::span<const uint8_t> bytes, bool code64) {
  const size_t i = opcode_start(bytes);
  if (i + 1 >= bytes.size() || (bytes[i] != 0xC4 && bytes[i] != 0xC5)) return std::nullopt;
  if (!code64 && bytes[i + 1] < 0xC0) return std::nullopt;  // LES/LDS
  Vex v;
  for (size_t k = 0; k < i; ++k)
    v.after_prefix |= bytes[k] == 0xF0 || bytes[k] == 0x66 || bytes[k] == 0xF2 || bytes[k] == 0xF3 ||
                      (bytes[k] & 0xF0) == 0x40;
  // C5: R vvvv L pp. C4: R X B mmmmm, then W vvvv L pp.
  size_t at = i + 1;
  if (bytes[i] == 0xC4) {
    v.map = bytes[at] & 0x1F;
    if (++at >= bytes.size()) return v;
  }
  const uint8_t last = bytes[at];
  v.vvvv = (last >> 3) & 0xF;
  v.l = (last >> 2) & 1;
  v.pp = last & 3;
  if (++at < bytes.size()) v.opcode = bytes[at];
  if (++at < bytes.size()) v.modrm = bytes[at];
  return v;
}

// Why a VEX instruction is #UD on this CPU, or nullptr when it is one it has.
constexpr const char* vex_undefined(const Vex& v) {
  if (v.after_prefix) return "a LOCK, 66, F2, F3 or REX prefix before VEX";
  for (const VexInstruction& d : kVexInstructions) {
    if (d.map != v.map || d.pp != v.pp || !v.opcode || d.opcode != *v.opcode) continue;
    if (d.modrm_reg >= 0 && (!v.modrm || ((*v.modrm >> 3) & 7) != unsigned(d.modrm_reg))) continue;
    if (v.l) return "VEX.L = 1 on a BMI instruction";
    if (d.vvvv_unused && v.vvvv != 0xF) return "VEX.vvvv not 1111b on RORX";
    return nullptr;
  }
  return "no such VEX instruction: this CPU has no AVX, only BMI1 and BMI2";
}

}  // namespace irqremap::x86
