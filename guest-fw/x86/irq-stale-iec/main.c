// x86/irq-stale-iec (teaching variant): the migration rewrites IRTE 0x20 for CPU 2 but
// forgets the IEC invalidation. The unit's interrupt entry cache still holds the old
// entry, so the next fire is delivered to CPU 1 with the old vector (hazard H5). The IEC
// index flush that should have been there then makes it land on CPU 2. Needs --smp 3.
#include "scenario_impl.h"
#include "dev_impl.h"

int main(void) {
  if (machine_cpus() < 3) { puts("irq-stale-iec: needs --smp 3\n"); return 0x20; }
  const int rc = scenario_setup(1);
  if (rc) return rc;
  int cpu = fire_and_wait(0, 100000);
  report("before", 0, cpu);
  if (cpu != 1) return 0x41;
  request_migration(1, 0, 2, UPDATE_CMPXCHG16B, MIGRATE_FORGET_IEC);
  cpu = fire_and_wait(0, 100000);
  report("IRTE says cpu2, no IEC flush", 0, cpu);
  puts(cpu == 1 ? "STALE: the cached IRTE still delivers to cpu1\n"
                : "no stale delivery (the unit has no entry cache?)\n");
  vtd_iec_index(IRQ_HANDLE, 0);
  cpu = fire_and_wait(0, 100000);
  report("after the IEC flush", 0, cpu);
  if (cpu != 2) return 0x42;
  puts("irq-stale-iec: done\n");
  return 0;
}
