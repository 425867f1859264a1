#pragma once
// PAUSE (F3 90) on the machine's virtual time (time_stamp_counter.h, arch/common/
// virtual_time.h). SDM vol. 2B PAUSE "Description": a spin-wait hint that leaves every
// register as it is and delays the next instruction; "the delay is finite and can be zero
// for some processors". The delay is the only thing a program can observe of it, through
// time: a spin loop that waits N TSC ticks runs N / (its instructions' time) iterations.
//  - The delay is kPauseInsnTimes instruction-times, the order of a current Intel core's:
//    the Optimization Reference Manual's section on PAUSE latency in the Skylake
//    microarchitecture gives as many as 140 cycles (about 10 before it). At this machine's
//    rate (one instruction per nanosecond, a 1 GHz TSC) 140 cycles of a core retiring about
//    one instruction per cycle are 140 instruction-times, so a PAUSE moves the clock as 140
//    instructions do: the instruction itself and 139 of stall (VirtualTime "stall").
//  - The stall is the executing CPU's time, not its instructions: the clock its TSC, APIC
//    timer and the PIT count moves by it, the quantum it runs in is spent by it (so a CPU
//    spinning on PAUSE for another CPU gives up its turn as soon as a CPU retiring
//    instructions would, and the other CPU gets its share of the time); the instruction
//    budget and the timelines' axis (retired instructions) do not count it (x86_vcpu.h
//    "Execution").
//  - Unicorn 2.0.1 runs PAUSE as QEMU's TCG does (target/i386 helper_pause): the block ends
//    and the engine leaves its execution loop for a moment, then goes on at the next
//    instruction with nothing changed. So the vCPU only counts its time: when its block has
//    run whole in fast mode (block_decode.h ends_with_pause: no code hook), in its code
//    hook in precise mode (x86_vcpu.h "Execution").
// What Unicorn runs as PAUSE, and so this: opcode 90 whose last F2/F3 prefix is F3 (QEMU's
// decoder keeps the last of the two), without REX.B (then it is XCHG r8, rAX) and without
// LOCK (#UD, PAUSE "Exceptions").
#include <cstdint>
#include <span>

#include "arch/x86/insn_prefixes.h"

namespace irqremap::x86 {

inline constexpr uint64_t kPauseInsnTimes = 140;
// What a PAUSE adds to its one instruction.
inline constexpr uint64_t kPauseStall = kPauseInsnTimes - 1;

// `insn` is the whole instruction, as long as Unicorn says it is.
constexpr bool is_pause(std::span<const uint8_t> insn) {
  const size_t i = opcode_start(insn);
  if (i + 1 != insn.size() || insn[i] != 0x90) return false;
  bool rep = false;
  for (size_t k = 0; k < i; ++k) {
    if (insn[k] == 0xF0) return false;                                   // LOCK: #UD
    if (insn[k] == 0xF3 || insn[k] == 0xF2) rep = insn[k] == 0xF3;       // the last one counts
    if ((insn[k] & 0xF0) == 0x40 && k + 1 == i && (insn[k] & 1) != 0) return false;  // REX.B
  }
  return rep;
}

}  // namespace irqremap::x86
