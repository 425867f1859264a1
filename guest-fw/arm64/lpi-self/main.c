// arm64/lpi-self: LPIs a CPU raises at itself, the case the migration stubs never hit
// (issue 11, item 1). CPU 0 maps DeviceID 0 / EventID 0 to LPI 8192 on its own
// collection and stores to GITS_TRANSLATER:
//   unmasked  ROUNDS stores with IRQs enabled, each followed by a wait for its handler:
//             every store is performed once and runs the handler once (the IRQ is taken
//             after the store retires, with ELR_EL1 at the next instruction).
//   masked    BURST stores with IRQs masked: the LPI is pending once (an LPI has no count,
//             IHI0069 §5.1), the instruction after the burst runs, ICC_HPPIR1_EL1 names
//             the LPI; unmasking runs the handler exactly once more.
// Prints the same on QEMU virt (gic-version=3, its=on) and on irqremap.
#include "fw.h"

#define ICC_HPPIR1_EL1 S3_0_C12_C12_2
#define DEVID 0
#define EVENT 0
#define INTID (LPI_BASE + EVENT)
#define ROUNDS 5
#define BURST 64
#define SPIN_LIMIT 1000000u

static volatile u32 handled;

void handle_lpi(unsigned cpu, u32 intid) {
  (void)cpu;
  if (intid == INTID) handled = handled + 1;
}

static void doorbell(void) {
  w32(GITS_TRANSLATER, EVENT);
  dsb();
}

// Waits (bounded) until the handler count reaches `want`; returns whether it did.
static int wait_handled(u32 want) {
  for (u32 spin = 0; spin < SPIN_LIMIT; ++spin)
    if (handled >= want) return 1;
  return 0;
}

int main(void) {
  puts("lpi-self: CPU 0 raises LPI 8192 at itself through GITS_TRANSLATER\n");
  gic_dist_init();
  gic_redist_init(1);
  its_init();
  gic_cpu_init();
  its_mapc(0, 0);
  its_mapd(DEVID, 5);
  its_mapti(DEVID, EVENT, INTID, 0);
  lpi_config(INTID, 1);
  its_inv(DEVID, EVENT);
  its_sync(0);

  irq_enable();
  u32 ok = 0;
  for (u32 i = 1; i <= ROUNDS; ++i) {
    doorbell();
    ok += (u32)wait_handled(i);
  }
  puts("unmasked: ");
  putdec(ROUNDS);
  puts(" stores, ");
  putdec(handled);
  puts(" handler runs, ");
  putdec(ok);
  puts(" in time\n");

  irq_disable();
  for (u32 i = 0; i < BURST; ++i) doorbell();
  u32 after_burst = handled;
  u32 hppi = (u32)read_sysreg(ICC_HPPIR1_EL1) & 0xffffff;
  puts("masked: ");
  putdec(BURST);
  puts(" stores, ");
  putdec(after_burst - ROUNDS);
  puts(" handler runs while masked, highest pending ");
  putdec(hppi);
  puts("\n");
  irq_enable();
  wait_handled(ROUNDS + 1);
  for (u32 spin = 0; spin < 1000; ++spin) dsb();  // room for a second (wrong) delivery
  puts("unmasked again: ");
  putdec(handled - after_burst);
  puts(" handler run\n");
  puts("total: ");
  putdec(handled);
  puts(" handler runs for ");
  putdec(ROUNDS + BURST);
  puts(" stores\n");
  return 0;
}
