// x86/apic-timer: the local APIC timer as an OS uses it (Intel SDM vol. 3A §11.5.4).
//   periodic   LVT Timer = vector 0x30, periodic; divide by 1; TMICT = 1,000,000 (1 ms
//              of the machine's 1 GHz clock): three ticks taken while halted.
//   one-shot   vector 0x31, TMICT = 500,000: TMCCT counts down, one interrupt, TMCCT 0.
//   deadline   vector 0x32, TSC-deadline mode (CPUID.1:ECX[24]); IA32_TSC_DEADLINE =
//              TSC + 2,000,000: one interrupt, then the MSR reads 0.
// Prints what it saw and fails (isa-debug-exit) on the first surprise.
#include "fw.h"

#define LVT_TIMER 0x320
#define TMICT 0x380
#define TMCCT 0x390
#define TDCR 0x3E0
#define IA32_TSC_DEADLINE 0x6E0

static volatile unsigned seen[3];

static void on_timer(u32 vector, u32 cpu) {
  (void)cpu;
  ++seen[vector - 0x30];
}

static void lapic_write(u32 reg, u32 v) { mmio_write32(MACHINE_LAPIC_BASE + reg, v); }
static u32 lapic_read(u32 reg) { return mmio_read32(MACHINE_LAPIC_BASE + reg); }

static u64 rdtsc(void) {
  u32 lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (u64)hi << 32 | lo;
}

static u32 cpuid1_ecx(void) {
  u32 a = 1, b, c = 0, d;
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  return c;
}

int main(void) {
  for (u32 v = 0x30; v <= 0x32; ++v) irq_register((u8)v, on_timer);
  lapic_write(TDCR, 0xB);  // divide by 1
  lapic_write(LVT_TIMER, 0x30 | 1u << 17);
  lapic_write(TMICT, 1000000);
  while (seen[0] < 3) wait_for_interrupt();
  cli();
  lapic_write(TMICT, 0);  // stops it
  puts("apic-timer: periodic: 3 ticks\n");

  lapic_write(LVT_TIMER, 0x31);
  lapic_write(TMICT, 500000);
  const u32 first = lapic_read(TMCCT);
  if (first == 0 || first > 500000) return 1;
  while (seen[1] == 0) wait_for_interrupt();
  cli();
  if (lapic_read(TMCCT) != 0) return 2;
  puts("apic-timer: one-shot: counted down, 1 interrupt, TMCCT 0\n");

  if (!(cpuid1_ecx() & (1u << 24))) return 3;
  lapic_write(LVT_TIMER, 0x32 | 2u << 17);
  wrmsr(IA32_TSC_DEADLINE, rdtsc() + 2000000);
  if (rdmsr(IA32_TSC_DEADLINE) == 0) return 4;
  while (seen[2] == 0) wait_for_interrupt();
  cli();
  if (rdmsr(IA32_TSC_DEADLINE) != 0) return 5;
  puts("apic-timer: TSC deadline: 1 interrupt, IA32_TSC_DEADLINE 0 after\n");
  if (seen[0] != 3 || seen[1] != 1 || seen[2] != 1) return 6;
  return 0;
}
