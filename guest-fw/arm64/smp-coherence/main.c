// arm64/smp-coherence: what one PE's broadcast maintenance must do to another PE.
//   tlbi  CPU 1 reads a TTBR1 VA (its TLB now holds the entry); CPU 0 remaps the page and
//         executes TLBI VAE1IS + DSB ISH; CPU 1 reads the VA again and sees the new page
//         (Arm ARM D5.10.2: an Inner Shareable TLBI affects every PE of the domain).
//   code  CPU 1 calls a function in RAM; CPU 0 rewrites it and executes DC CVAU, DSB ISH,
//         IC IVAU, DSB ISH (Arm ARM D4.4.7 / B2.4.4 "Concurrent modification and execution
//         of instructions": the IC IVAU is broadcast); CPU 1 executes ISB and calls it
//         again: the new instructions run. Done twice, with the function at the same
//         address, as a module loader reuses freed text.
// Prints the same on QEMU virt (one TLB and one translation cache for all CPUs).
#include "fw.h"
#include "mmu.h"

#define KVA 0xffff000000000000ul  // TTBR1: one page, remapped by CPU 0

typedef u64 table_t[512] __attribute__((aligned(4096)));
static table_t u_l0, u_l1, k_l0, k_l1, k_l2, k_l3;
static u64 page[2][512] __attribute__((aligned(4096)));
static u32 code[1024] __attribute__((aligned(4096)));

static volatile u32 step;       // CPU 0 -> CPU 1: what to do next
static volatile u32 done_step;  // CPU 1 -> CPU 0: the last step it finished
static volatile u64 seen[4];

static void mmu_on(void) {
  write_sysreg(0xff00ul, mair_el1);
  write_sysreg(TCR_T0SZ(16) | TCR_T1SZ(16) | TCR_TG1_4K | TCR_IPS_40 | TCR_SH_INNER | TCR_WBWA, tcr_el1);
  write_sysreg((u64)u_l0, ttbr0_el1);
  write_sysreg((u64)k_l0, ttbr1_el1);
  isb();
  __asm__ volatile("tlbi vmalle1; dsb nsh; isb" ::: "memory");
  write_sysreg(read_sysreg(sctlr_el1) | 1, sctlr_el1);
  isb();
}

// movz x0, #value; ret
static void write_function(u32 value) {
  code[0] = 0xd2800000u | (value << 5);
  code[1] = 0xd65f03c0u;
  __asm__ volatile("dc cvau, %0; dsb ish; ic ivau, %0; dsb ish; isb" ::"r"(code) : "memory");
}

static u64 call_function(void) {
  isb();
  return ((u64(*)(void))code)();
}

static void wait_done(u32 s) {
  for (u32 spin = 0; spin < 50000000u && done_step < s; ++spin) {
  }
}

void secondary_main(unsigned cpu) {
  (void)cpu;
  mmu_on();
  while (step < 1) {
  }
  seen[0] = *(volatile u64 *)KVA;  // fills this CPU's TLB entry for KVA
  done_step = 1;
  while (step < 2) {
  }
  seen[1] = *(volatile u64 *)KVA;  // after CPU 0's remap and TLBI VAE1IS
  seen[2] = call_function();
  done_step = 2;
  while (step < 3) {
  }
  seen[3] = call_function();  // after CPU 0's rewrite and IC IVAU
  done_step = 3;
  for (;;) wfi();
}

int main(void) {
  u_l0[0] = (u64)u_l1 | DESC_TABLE;
  u_l1[0] = 0x00000000ul | AF | DEVICE | DESC_BLOCK;
  u_l1[1] = 0x40000000ul | AF | SH | NORMAL | DESC_BLOCK;
  k_l0[0] = (u64)k_l1 | DESC_TABLE;
  k_l1[0] = (u64)k_l2 | DESC_TABLE;
  k_l2[0] = (u64)k_l3 | DESC_TABLE;
  k_l3[0] = (u64)page[0] | AF | SH | NORMAL | DESC_PAGE;
  page[0][0] = 0xaaaa;
  page[1][0] = 0xbbbb;
  write_function(1);
  dsb();
  mmu_on();
  if (psci(PSCI_CPU_ON, 1, (u64)secondary_entry, 0) != 0) {
    puts("smp-coherence: CPU_ON failed (run with 2 or more CPUs)\n");
    system_off();
  }
  step = 1;
  wait_done(1);
  k_l3[0] = (u64)page[1] | AF | SH | NORMAL | DESC_PAGE;
  __asm__ volatile("dsb ishst; tlbi vae1is, %0; dsb ish; isb" ::"r"(KVA >> 12) : "memory");
  step = 2;
  wait_done(2);
  write_function(2);
  step = 3;
  wait_done(3);
  puts("tlbi: CPU 1 read ");
  puthex(seen[0]);
  puts(" then ");
  puthex(seen[1]);
  puts("\ncode: CPU 1 ran ");
  puthex(seen[2]);
  puts(" then ");
  puthex(seen[3]);
  puts("\ndone\n");
  system_off();
}
