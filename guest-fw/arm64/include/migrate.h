// The migration scenario both AArch64 migration stubs run (its-migrate, device-migrate);
// a stub defines DEVID, BANNER, setup_source() and trigger() and includes this file once.
// See its-migrate/main.c for the phases.
#include "fw.h"

#define EVENT 0
#define INTID (LPI_BASE + EVENT)

// handled[c]: LPIs handled on CPU c (written by CPU c only).
static volatile u32 handled[MAX_CPUS];
static volatile u32 online[MAX_CPUS];       // written by CPU c
static volatile u32 request_seq;            // written by CPU 0
static volatile u32 request_target;         // written by CPU 0
static volatile u32 done_seq[MAX_CPUS];     // written by CPU c (worker / leaving CPU)
static volatile u32 unplug_cmd;             // written by CPU 0: 1 mask, 2 migrate + off
static volatile u32 unplug_state;           // written by CPU 2: 1 masked, 2 migrated
static volatile u32 icid_of_event;          // the collection EVENT targets (owner: the ITS user)

void handle_lpi(unsigned cpu, u32 intid) {
  if (intid == INTID) handled[cpu] = handled[cpu] + 1;
}

static u32 total(void) {
  u32 t = 0;
  for (unsigned c = 0; c < MAX_CPUS; ++c) t += handled[c];
  return t;
}


// Trigger n LPIs one at a time, each waiting until some CPU handled it.
static void fire(unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    u32 before = total();
    trigger();
    while (total() == before) {
    }
  }
}

// CPU 0 rings a secondary with this SGI after writing one of its mailboxes, so the
// secondaries sleep in WFI instead of polling.
#define SGI_MAILBOX 0

static void ring(unsigned cpu) {
  dsb();  // the mailbox write is visible before the SGI (IHI0069 §12.2 ICC_SGI1R_EL1)
  write_sysreg(SGI1R_INTID(SGI_MAILBOX) | SGI1R_TARGETS(1u << cpu), ICC_SGI1R_EL1);
  isb();
}

void secondary_main(unsigned cpu) {
  gic_sgi_ppi_init(cpu, 1u << SGI_MAILBOX);
  gic_cpu_init();
  online[cpu] = 1;
  u32 seen = 0;
  int masked = 0;  // CPU 2 between "mask" and CPU_OFF
  for (;;) {
    // Mailboxes are read with IRQs masked: an SGI that arrives after the checks keeps the
    // following WFI from sleeping (WFI wakes on a pending interrupt even while PSTATE.I
    // masks it, Arm ARM D1.16.2), so no ring is lost between check and sleep.
    irq_disable();
    if (cpu == 3 && request_seq != seen) {
      // The worker: a routine affinity change requested by CPU 0 (the ITS user role
      // passes to this CPU until done_seq says so).
      seen = request_seq;
      its_movi(DEVID, EVENT, request_target);
      its_sync(request_target);
      icid_of_event = request_target;
      dsb();
      done_seq[cpu] = seen;
    }
    if (cpu == 2 && unplug_cmd == 1 && unplug_state == 0) {
      masked = 1;  // from here on nothing is delivered to this CPU
      unplug_state = 1;
    }
    if (cpu == 2 && unplug_cmd == 2 && unplug_state == 1) {
      // Hot-unplug: every event of this CPU's collection moves to CPU 1 (pending state
      // follows MOVI, IHI0069 §6.3.x), SYNC, then leave.
      if (icid_of_event == cpu) {
        its_movi(DEVID, EVENT, 1);
        icid_of_event = 1;
      }
      its_sync(cpu);
      its_sync(1);
      dsb();
      unplug_state = 2;
      return;  // start.S: PSCI CPU_OFF
    }
    wfi();  // an LPI to handle, or CPU 0's ring
    if (!masked) irq_enable();  // take what woke us (the handler EOIs the ring too)
  }
}

int main(void) {
  unsigned ncpus = 4;
  puts(BANNER);
  gic_dist_init();
  // The LPI's configuration byte is written before EnableLPIs, so every redistributor
  // loads it enabled (a redistributor may cache configuration from then on, §5.1.1).
  lpi_config(INTID, 1);
  gic_redist_init(ncpus);
  its_init();
  for (unsigned c = 0; c < ncpus; ++c) its_mapc(c, c);
  its_sync(0);
  its_mapd(DEVID, 5);
  its_mapti(DEVID, EVENT, INTID, 1);
  // INV as Linux sends on unmask: the target redistributor re-reads the byte.
  its_inv(DEVID, EVENT);
  icid_of_event = 1;
  its_sync(1);
  setup_source();
  gic_cpu_init();
  for (unsigned c = 1; c < ncpus; ++c) {
    long r = psci(PSCI_CPU_ON, c, (u64)secondary_entry, 0);
    if (r != 0) {
      puts("its-migrate: CPU_ON failed (run with 4 CPUs)\n");
      return 1;
    }
    while (!online[c]) {
    }
  }
  puts("setup: 4 CPUs online, one collection per CPU, event 0 -> LPI 8192 on CPU 1\n");

  fire(3);
  puts("phase 1: handled on CPU 1: ");
  putdec(handled[1]);
  puts("/3\n");

  phase_begin("migrate");
  request_target = 2;
  dsb();
  request_seq = 1;
  ring(3);
  while (done_seq[3] != 1) {
  }
  fire(3);
  phase_end();
  puts("phase 2: worker CPU 3 did MOVI + SYNC; handled on CPU 2: ");
  putdec(handled[2]);
  puts("/3\n");

  u32 on2 = handled[2], on1 = handled[1];
  phase_begin("migrate (hot-unplug)");
  unplug_cmd = 1;
  ring(2);
  while (unplug_state != 1) {
  }
  trigger();  // stays pending at CPU 2's redistributor: CPU 2 masks IRQs
  for (volatile unsigned spin = 0; spin < 2000; ++spin) {
  }
  u32 pending_ok = handled[1] == on1 && handled[2] == on2;
  unplug_cmd = 2;
  ring(2);
  while (psci(PSCI_AFFINITY_INFO, 2, 0, 0) != 1) {  // 1: OFF
  }
  while (handled[1] == on1) {  // the moved LPI arrives at CPU 1
  }
  phase_end();
  fire(3);
  puts("phase 3: CPU 2 offline after MOVI + SYNC; pending LPI kept: ");
  puts(pending_ok ? "yes" : "no");
  puts("; handled on CPU 1: ");
  putdec(handled[1] - on1);
  puts("/4; on CPU 2 after CPU_OFF: ");
  putdec(handled[2] - on2);
  puts("\n");
  puts("total: 10 triggered, ");
  putdec(total());
  puts(" handled\n");
  return 0;
}
