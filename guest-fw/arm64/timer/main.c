// arm64/timer: the EL1 generic timers as firmware sees them (Arm ARM D11.2, registers in
// D13.8), each step printing only what does not depend on how fast time runs:
//   frequency  CNTFRQ_EL0 (62.5 MHz on QEMU virt's cortex-a57).
//   counter    CNTVCT_EL0 never goes back; CNTPCT_EL0 equals it with CNTVOFF zero (no
//              EL2), checked by reading virtual, physical, virtual again.
//   tval       writing TVAL sets CVAL = count + TVAL; past the deadline TVAL reads
//              negative (a signed 32-bit distance).
//   istatus    ISTATUS is set once CVAL is reached while ENABLE=1, clear while ENABLE=0.
//   imask      with IMASK=1 the condition holds but PPI 27 is not pending at the
//              redistributor; clearing IMASK lets the interrupt in.
//   virtual    CNTV_CVAL a little ahead, IRQs on, WFI until the handler ran: PPI 27
//              taken once, with the counter at or past CVAL (the handler masks it).
//   physical   the same through CNTP_TVAL and PPI 30.
//   wfi-masked with PSTATE.I set, WFI still wakes when the timer fires (Arm ARM D1.16.2);
//              the PPI is then pending and is taken on unmask.
#include "fw.h"

#define TICKS 20000u  // 320 us at 62.5 MHz

static volatile u32 taken[32];
static volatile u64 count_at_irq[32];

void handle_lpi(unsigned cpu, u32 intid) {
  (void)cpu;
  if (intid >= 32) return;
  count_at_irq[intid] = read_sysreg(CNTVCT_EL0);
  taken[intid] = taken[intid] + 1;
  // Level-sensitive: mask the timer's output before EOI or it fires again at once.
  if (intid == PPI_VTIMER) write_sysreg(CNT_CTL_ENABLE | CNT_CTL_IMASK, CNTV_CTL_EL0);
  if (intid == PPI_PTIMER) write_sysreg(CNT_CTL_ENABLE | CNT_CTL_IMASK, CNTP_CTL_EL0);
  isb();
}

static const char *yes(int b) { return b ? "yes" : "no"; }

static u32 ppi_pending(u32 id) { return (r32(GICR_SGI_BASE(0) + GICR_ISPENDR0) >> id) & 1; }

static void wait_ticks(u64 n) {
  u64 start = read_sysreg(CNTVCT_EL0);
  while (read_sysreg(CNTVCT_EL0) - start < n) {
  }
}

int main(void) {
  puts("timer: the EL1 virtual and physical timers\n");
  gic_dist_init();
  gic_sgi_ppi_init(0, (1u << PPI_VTIMER) | (1u << PPI_PTIMER));
  gic_cpu_init();

  puts("frequency: CNTFRQ_EL0 ");
  putdec(read_sysreg(CNTFRQ_EL0));
  puts(" Hz\n");

  u64 v0 = read_sysreg(CNTVCT_EL0);
  u64 p = read_sysreg(CNTPCT_EL0);
  u64 v1 = read_sysreg(CNTVCT_EL0);
  int mono = 1;
  for (u32 i = 0; i < 1000; ++i) {
    u64 a = read_sysreg(CNTVCT_EL0), b = read_sysreg(CNTVCT_EL0);
    mono &= b >= a;
  }
  puts("counter: monotonic ");
  puts(yes(mono && v1 >= v0));
  puts(", physical between two virtual reads ");
  puts(yes(v0 <= p && p <= v1));
  puts("\n");

  write_sysreg(0, CNTV_CTL_EL0);
  u64 before = read_sysreg(CNTVCT_EL0);
  write_sysreg(TICKS, CNTV_TVAL_EL0);
  u64 after = read_sysreg(CNTVCT_EL0);
  u64 cval = read_sysreg(CNTV_CVAL_EL0);
  puts("tval: CVAL = count + TVAL ");
  puts(yes(cval >= before + TICKS && cval <= after + TICKS));
  write_sysreg(read_sysreg(CNTVCT_EL0) - 100, CNTV_CVAL_EL0);
  isb();
  puts(", negative past the deadline ");
  puts(yes((int)(u32)read_sysreg(CNTV_TVAL_EL0) < 0));
  puts("\n");

  puts("istatus: ENABLE=0 ");
  putdec((read_sysreg(CNTV_CTL_EL0) >> 2) & 1);
  write_sysreg(CNT_CTL_ENABLE | CNT_CTL_IMASK, CNTV_CTL_EL0);
  isb();
  puts(", ENABLE=1 past CVAL ");
  putdec((read_sysreg(CNTV_CTL_EL0) >> 2) & 1);
  puts("\n");

  puts("imask: PPI 27 pending while masked ");
  putdec(ppi_pending(PPI_VTIMER));
  write_sysreg(CNT_CTL_ENABLE, CNTV_CTL_EL0);
  isb();
  for (u32 spin = 0; spin < 100000 && !ppi_pending(PPI_VTIMER); ++spin) {
  }
  puts(", unmasked ");
  putdec(ppi_pending(PPI_VTIMER));
  irq_enable();
  for (u32 spin = 0; spin < 100000 && !taken[PPI_VTIMER]; ++spin) {
  }
  puts(", taken ");
  putdec(taken[PPI_VTIMER]);
  puts("\n");

  taken[PPI_VTIMER] = 0;
  u64 deadline = read_sysreg(CNTVCT_EL0) + TICKS;
  write_sysreg(deadline, CNTV_CVAL_EL0);
  write_sysreg(CNT_CTL_ENABLE, CNTV_CTL_EL0);
  isb();
  while (!taken[PPI_VTIMER]) wfi();
  wait_ticks(TICKS);  // room for a wrong second delivery
  puts("virtual: PPI 27 taken ");
  putdec(taken[PPI_VTIMER]);
  puts(" time(s), at or after CVAL ");
  puts(yes(count_at_irq[PPI_VTIMER] >= deadline));
  puts("\n");

  write_sysreg(TICKS, CNTP_TVAL_EL0);
  deadline = read_sysreg(CNTP_CVAL_EL0);
  write_sysreg(CNT_CTL_ENABLE, CNTP_CTL_EL0);
  isb();
  while (!taken[PPI_PTIMER]) wfi();
  wait_ticks(TICKS);
  puts("physical: PPI 30 taken ");
  putdec(taken[PPI_PTIMER]);
  puts(" time(s), at or after CVAL ");
  puts(yes(count_at_irq[PPI_PTIMER] >= deadline));
  puts("\n");

  irq_disable();
  taken[PPI_VTIMER] = 0;
  write_sysreg(TICKS, CNTV_TVAL_EL0);
  write_sysreg(CNT_CTL_ENABLE, CNTV_CTL_EL0);
  isb();
  wfi();
  u32 woke_pending = ppi_pending(PPI_VTIMER);
  u32 while_masked = taken[PPI_VTIMER];
  irq_enable();
  for (u32 spin = 0; spin < 100000 && !taken[PPI_VTIMER]; ++spin) {
  }
  puts("wfi-masked: woke with PPI 27 pending ");
  putdec(woke_pending);
  puts(", taken while masked ");
  putdec(while_masked);
  puts(", after unmask ");
  putdec(taken[PPI_VTIMER]);
  puts("\n");
  write_sysreg(0, CNTV_CTL_EL0);
  write_sysreg(0, CNTP_CTL_EL0);
  return 0;
}
