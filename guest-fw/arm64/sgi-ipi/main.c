// arm64/sgi-ipi: software-generated interrupts between CPUs (IHI0069 §12.2 ICC_SGI1R_EL1)
// and the CPU interface's active state and priority handling (§4.1, §4.8):
//   self         CPU 0 sends SGI 1 to itself (TargetList bit 0): one handler run on CPU 0.
//   target-list  SGI 2 to CPUs 1 and 3 (TargetList 0b1010): they take it, 0 and 2 do not.
//   broadcast    SGI 3 with IRM=1: every CPU but the sender takes it once.
//   pmr          ICC_PMR_EL1 below the SGI's priority keeps it pending (ICC_HPPIR1_EL1
//                names it, nothing is taken); raising PMR lets it in.
//   active       with IRQs masked: acknowledging SGI 5 makes it active, running priority
//                0xa0; a second SGI 5 stays pending behind the active one (IAR reads
//                1023) until EOI deactivates the first.
//   eoimode      ICC_CTLR_EL1.EOImode=1: EOI drops the priority but SGI 6 stays active
//                until ICC_DIR_EL1.
// The secondaries sleep in WFI; only an interrupt wakes them. Prints the same on QEMU virt
// (gic-version=3) and on irqremap.
#include "fw.h"

#define NCPUS 4
#define SPIN 20000000u

static volatile u32 handled[MAX_CPUS][16];
static volatile u32 online[MAX_CPUS];

void handle_lpi(unsigned cpu, u32 intid) {
  if (intid < 16) handled[cpu][intid] = handled[cpu][intid] + 1;
}

void secondary_main(unsigned cpu) {
  gic_sgi_ppi_init(cpu, 0xffffu);
  gic_cpu_init();
  online[cpu] = 1;
  irq_enable();
  for (;;) wfi();
}

static void sgi(u64 value) {
  dsb();  // stores before the SGI are visible to its handler (as kvm-unit-tests does)
  write_sysreg(value, ICC_SGI1R_EL1);
  isb();
}

// Waits (bounded) until CPU `cpu` handled SGI `id` `want` times.
static void wait_for(unsigned cpu, u32 id, u32 want) {
  for (u32 spin = 0; spin < SPIN && handled[cpu][id] < want; ++spin) {
  }
}

static void settle(void) {
  for (volatile u32 spin = 0; spin < 20000; ++spin) {
  }
}

static void report(const char *what, u32 id) {
  puts(what);
  puts(": SGI ");
  putdec(id);
  puts(" handled per CPU:");
  for (unsigned c = 0; c < NCPUS; ++c) {
    puts(" ");
    putdec(handled[c][id]);
  }
  puts("\n");
}

static u32 active_bit(u32 id) { return (r32(GICR_SGI_BASE(0) + GICR_ISACTIVER0) >> id) & 1; }

int main(void) {
  puts("sgi-ipi: SGIs through ICC_SGI1R_EL1 on 4 CPUs\n");
  gic_dist_init();
  gic_sgi_ppi_init(0, 0xffffu);
  gic_cpu_init();
  for (unsigned c = 1; c < NCPUS; ++c) {
    if (psci(PSCI_CPU_ON, c, (u64)secondary_entry, 0) != 0) {
      puts("sgi-ipi: CPU_ON failed (run with 4 CPUs)\n");
      return 1;
    }
    while (!online[c]) {
    }
  }
  irq_enable();

  sgi(SGI1R_INTID(1) | SGI1R_TARGETS(1u << 0));
  wait_for(0, 1, 1);
  settle();
  report("self", 1);

  sgi(SGI1R_INTID(2) | SGI1R_TARGETS((1u << 1) | (1u << 3)));
  wait_for(1, 2, 1);
  wait_for(3, 2, 1);
  settle();
  report("target-list {1,3}", 2);

  sgi(SGI1R_INTID(3) | SGI1R_IRM);
  for (unsigned c = 1; c < NCPUS; ++c) wait_for(c, 3, 1);
  settle();
  report("broadcast", 3);

  write_sysreg(0x80, ICC_PMR_EL1);  // only priorities below 0x80 pass; the SGIs are 0xa0
  isb();
  sgi(SGI1R_INTID(4) | SGI1R_TARGETS(1u << 0));
  settle();
  puts("pmr 0x80: handled ");
  putdec(handled[0][4]);
  puts(", ICC_HPPIR1_EL1 ");
  putdec(read_sysreg(ICC_HPPIR1_EL1) & 0xffffff);
  puts(", ICC_RPR_EL1 ");
  puthex(read_sysreg(ICC_RPR_EL1));
  write_sysreg(0xf0, ICC_PMR_EL1);
  isb();
  wait_for(0, 4, 1);
  puts("; pmr 0xf0: handled ");
  putdec(handled[0][4]);
  puts("\n");

  irq_disable();
  sgi(SGI1R_INTID(5) | SGI1R_TARGETS(1u << 0));
  u32 first = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;
  puts("active: IAR ");
  putdec(first);
  puts(", active ");
  putdec(active_bit(5));
  puts(", ICC_RPR_EL1 ");
  puthex(read_sysreg(ICC_RPR_EL1));
  sgi(SGI1R_INTID(5) | SGI1R_TARGETS(1u << 0));
  puts("; again while active: IAR ");
  putdec(read_sysreg(ICC_IAR1_EL1) & 0xffffff);
  write_sysreg(first, ICC_EOIR1_EL1);
  isb();
  puts("; after EOI: active ");
  putdec(active_bit(5));
  u32 second = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;
  puts(", IAR ");
  putdec(second);
  write_sysreg(second, ICC_EOIR1_EL1);
  isb();
  puts(", ICC_RPR_EL1 ");
  puthex(read_sysreg(ICC_RPR_EL1));
  puts("\n");

  write_sysreg(read_sysreg(ICC_CTLR_EL1) | ICC_CTLR_EOIMODE, ICC_CTLR_EL1);
  isb();
  sgi(SGI1R_INTID(6) | SGI1R_TARGETS(1u << 0));
  u32 id = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;
  write_sysreg(id, ICC_EOIR1_EL1);
  isb();
  puts("eoimode 1: IAR ");
  putdec(id);
  puts(", after EOI: ICC_RPR_EL1 ");
  puthex(read_sysreg(ICC_RPR_EL1));
  puts(" active ");
  putdec(active_bit(6));
  write_sysreg(id, ICC_DIR_EL1);
  isb();
  puts("; after DIR: active ");
  putdec(active_bit(6));
  puts("\n");
  write_sysreg(read_sysreg(ICC_CTLR_EL1) & ~(u64)ICC_CTLR_EOIMODE, ICC_CTLR_EL1);
  isb();
  irq_enable();

  u32 total = 0;
  for (unsigned c = 0; c < NCPUS; ++c)
    for (unsigned i = 0; i < 16; ++i) total += handled[c][i];
  puts("total: ");
  putdec(total);
  puts(" SGIs handled\n");
  return 0;
}
