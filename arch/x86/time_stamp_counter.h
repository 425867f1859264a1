#pragma once
// One logical processor's time-stamp counter (SDM vol. 3B, "Time-Stamp Counter" in the
// chapter on debug, branch profile and TSC features) on the machine's deterministic
// virtual time (docs/DESIGN.md "Machines": the same inputs give the same run).
//  - Unicorn 2.0.1 answers RDTSC and RDTSCP from the host's TSC and RDMSR IA32_TSC with
//    0, so a guest that used the counter (a delay loop, a timestamp, an address computed
//    from it) ran differently each time. The vCPU performs those instructions itself
//    (trapped_insn.h) and reads this counter instead.
//  - The count is the machine's clock, X86Machine::tsc_now(): arch/common's VirtualTime at
//    one tick per instruction a CPU retires (X86Machine::kTscTicksPerInsn), the time shared
//    between the CPUs that run, so each CPU sees the counter advance one tick per
//    instruction of its own however many run beside it. That is a 1 GHz TSC on a core that
//    retires about one instruction per nanosecond, the order of a real core's (a few GHz,
//    one to a few instructions per cycle): a guest's delay of N TSC cycles costs it about N
//    instructions, and a 100 M-cycle wait a tenth of a second. A PAUSE counts as 140
//    instructions' time (pause_latency.h), so a delay loop built on PAUSE, as spin-waits
//    are, costs about N/140 iterations, as on a current Intel core. Every CPU reads the same
//    clock, so the counters are synchronised and invariant, as KVM gives its guests;
//    QEMU's TCG counts host time (deterministic only with -icount).
//  - WRMSR IA32_TSC (10h) sets this processor's count only ("Time-Stamp Counter
//    Adjustment"): it keeps the difference to the clock, so the counter goes on from the
//    written value at the clock's pace. RESET clears the counter and INIT leaves it (vol.
//    3A, the table of processor state following power-up, RESET or INIT).
//  - CR4.TSD restricts RDTSC and RDTSCP to CPL 0 in protected and virtual-8086 mode; in
//    real-address mode they always run (the instructions' "Description").
#include <cstdint>

namespace irqremap::x86 {

inline constexpr uint32_t kMsrIa32Tsc = 0x10;
inline constexpr uint32_t kMsrIa32TscAux = 0xC000'0103;  // RDTSCP's ECX
// The local APIC timer's deadline in TSC-deadline mode (SDM vol. 3A §11.5.4.1; apic_timer.h).
inline constexpr uint32_t kMsrIa32TscDeadline = 0x6E0;
inline constexpr uint64_t kCr4TSD = 1ull << 2;  // with it, RDTSC/RDTSCP at CPL > 0 raise #GP(0)

class TimeStampCounter {
 public:
  // The counter when the clock reads `now` (wraps at 2^64, as the 64-bit counter does).
  uint64_t read(uint64_t now) const { return now + offset_; }
  void write(uint64_t now, uint64_t value) { offset_ = value - now; }
  // The difference to the clock (a snapshot saves it: the clock is restored with the machine).
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t o) { offset_ = o; }

 private:
  uint64_t offset_ = 0;
};

}  // namespace irqremap::x86
