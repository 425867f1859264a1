// x86/irq-unplug: every slot starts on CPU 2 except slot 3 (moved to CPU 1). CPU 2 is
// taken offline while slot 0's MSI is in flight: it moves every IRTE that targets it to
// CPU 1 (IEC flush each), retriggers what already reached its IRR, and parks. Nothing is
// lost and nothing is delivered to the parked CPU afterwards. Needs --smp 3.
#include "scenario_impl.h"
#include "dev_impl.h"

int main(void) {
  if (machine_cpus() < 3) { puts("irq-unplug: needs --smp 3\n"); return 0x20; }
  const int rc = scenario_setup(2);
  if (rc) return rc;
  request_migration(1, 3, 1, UPDATE_CMPXCHG16B, MIGRATE_OK);
  puts("irq-unplug: slots 0-2 on cpu2, slot 3 on cpu1; unplugging cpu2\n");
  phase_begin("migrate (hot-unplug)");
  hot_unplug(2, 0);
  // The in-flight slot 0 interrupt must have been handled exactly once, on CPU 1.
  for (u32 i = 0; i < 100000 && slot_hits[0][1] == 0; ++i) { sti(); cpu_relax(); }
  phase_end();
  puts("in-flight slot 0 handled on cpu1: ");
  putdec(slot_hits[0][1]);
  puts("\n");
  if (slot_hits[0][1] != 1 || slot_hits[0][2] != 0) return 0x31;
  for (u32 k = 0; k < DEV_SLOTS; ++k) {
    const int cpu = fire_and_wait(k, 100000);
    report("after unplug", k, cpu);
    if (cpu != 1) return 0x32;
  }
  puts("irq-unplug: ok\n");
  return 0;
}
