#pragma once
// One translated block's instructions, decoded once when the vCPU first sees the block run
// (fast mode, x86_vcpu.h "Execution"): where each instruction starts, which of them the
// vCPU must see before they run, and whether the block ends with STI.
//  - Trap sites are the instructions the vCPU performs or checks itself (trapped_insn.h:
//    RDMSR, WRMSR, RDTSC, RDTSCP, SYSCALL, INT n/INT3/INTO, SGDT/SIDT/SLDT/STR/SMSW for CR4.UMIP,
//    MOV to CR4; vex_prefix.h: C4/C5, VEX or LES/LDS) and HLT, whose code hook marks the
//    CPU halted, PUSHF, whose code hook clears RFLAGS.RF (x86_vcpu.h), and the TLB
//    invalidations (tlb_invalidation.h), whose code hook drops the alias runs, and IRET,
//    which ends the blocking of NMIs (SDM vol. 3A §6.7.1). Each gets a UC_HOOK_CODE
//    bounded to its address. PAUSE ends its block (pause_latency.h), so its delay needs
//    no hook: ends_with_pause says it is there; a PAUSE anywhere else in a block (which
//    Unicorn 2.0.1 never translates) would be a trap site.
//  - Capstone (the same library that disassembles for traces) decodes in the mode the
//    block runs in (16, 32 or 64-bit code). Where it cannot decode (an encoding it does not
//    know, bytes Unicorn would raise #UD for), the rest of the block is one range whose
//    every instruction gets the code hook: the hook itself decides from Unicorn's own
//    instruction size, as the per-instruction hook of the precise mode does.
#include <cstdint>
#include <span>
#include <vector>

namespace irqremap::x86 {

struct DecodedBlock {
  std::vector<uint16_t> starts;  // offsets of the instructions from the block's address
  struct Site {
    uint64_t first, last;  // a code hook's range: one instruction, or an undecoded tail
  };
  std::vector<Site> sites;
  // The last instruction opens an interrupt shadow for the next one (SDM vol. 3A §6.8.3):
  // STI (FB), MOV SS (8E /2) or POP SS (17); the latter two block NMIs too.
  bool ends_with_shadow = false;
  bool shadow_blocks_nmi = false;
  // The last instruction is PAUSE (pause_latency.h), which always ends its block: its
  // delay is counted when the block has run whole, with no code hook.
  bool ends_with_pause = false;
  bool undecoded = false;      // Capstone stopped before the end (the last site is the rest)
};

class BlockDecoder {
 public:
  BlockDecoder() = default;
  ~BlockDecoder();
  BlockDecoder(const BlockDecoder&) = delete;
  BlockDecoder& operator=(const BlockDecoder&) = delete;

  // `bytes` are the block's bytes at `address`; `bits` is 16, 32 or 64.
  DecodedBlock decode(std::span<const uint8_t> bytes, uint64_t address, unsigned bits);

 private:
  size_t handle_[3] = {0, 0, 0};  // csh for 16-, 32- and 64-bit code, opened on first use
};

// Whether the instruction `insn` (its bytes, as long as it is) is one the vCPU must see
// before it runs (the trap sites above).
bool is_trap_site(std::span<const uint8_t> insn);

// The interrupt shadow an instruction opens for the one after it (SDM vol. 3A §6.8.3,
// STI and MOV "Description"): STI delays maskable interrupts; MOV SS and POP SS delay
// interrupts, NMIs included (the VMX interruptibility state's "blocking by MOV SS", vol.
// 3C Table 25-3), so a stack switch's two instructions are never split by a handler.
enum class Shadow : uint8_t { None, Sti, MovSs };
Shadow shadow_after(std::span<const uint8_t> insn, bool code64);
// IRET (CF, with an operand-size or REX.W prefix too).
bool is_iret(std::span<const uint8_t> insn);

}  // namespace irqremap::x86
