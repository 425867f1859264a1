// x86/irq-migrate: VT-d remapping on, the device's slots written once; slot 0 fires on
// CPU 1; a worker (CPU 1, kicked by IPI) moves it to CPU 2 with a CMPXCHG16B IRTE update,
// an IEC index invalidation and a wait descriptor; the next fire lands on CPU 2. Slot 1
// then moves to CPU 0 with a low-half-only store. A final wait descriptor with IF=1
// raises the invalidation completion event on CPU 0. Needs --smp 3.
#include "scenario_impl.h"
#include "dev_impl.h"

int main(void) {
  if (machine_cpus() < 3) { puts("irq-migrate: needs --smp 3\n"); return 0x20; }
  const int rc = scenario_setup(1);
  if (rc) return rc;
  puts("irq-migrate: remapping on, slots programmed once\n");
  int cpu = fire_and_wait(0, 100000);
  report("before", 0, cpu);
  if (cpu != 1) return 0x21;
  phase_begin("migrate");
  request_migration(1, 0, 2, UPDATE_CMPXCHG16B, MIGRATE_OK);
  cpu = fire_and_wait(0, 100000);
  phase_end();
  report("after migration (cmpxchg16b)", 0, cpu);
  if (cpu != 2) return 0x22;
  request_migration(1, 1, 0, UPDATE_LOW_HALF, MIGRATE_OK);
  cpu = fire_and_wait(1, 100000);
  report("after migration (low half)", 1, cpu);
  if (cpu != 0) return 0x23;
  vtd_wait_interrupt();
  for (u32 i = 0; i < 100000 && !invdone_seen; ++i) { sti(); cpu_relax(); }
  puts(invdone_seen ? "invalidation completion event on cpu0\n" : "no completion event\n");
  if (!invdone_seen) return 0x24;
  puts("irq-migrate: ok\n");
  return 0;
}
