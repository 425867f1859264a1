// x86/irq-clear-p (teaching variant): the migration clears IRTE.P, flushes, and only then
// writes the new entry. An MSI that arrives in that window meets P=0: fault 22h is
// recorded (FRCD: F, FR=22h, FI=index, SID=00:03.0), the fault event reaches CPU 0, and
// the interrupt is lost. Linux never clears P on a live entry. Needs --smp 3.
#include "scenario_impl.h"
#include "dev_impl.h"

int main(void) {
  if (machine_cpus() < 3) { puts("irq-clear-p: needs --smp 3\n"); return 0x20; }
  const int rc = scenario_setup(1);
  if (rc) return rc;
  request_migration(1, 0, 2, UPDATE_CMPXCHG16B, MIGRATE_CLEAR_P_FIRST);
  for (u32 i = 0; i < 100000 && !faults_seen; ++i) { sti(); cpu_relax(); }
  const u64 hi = vtd_frcd_hi(), lo = vtd_frcd_lo();
  puts("fault record: F=");
  putdec(hi >> 63);
  puts(" FR=");
  puthex((hi >> 32) & 0xFF);
  puts(" FI=");
  puthex(lo >> 48);
  puts(" SID=");
  puthex(hi & 0xFFFF);
  puts("\nfault events on cpu0: ");
  putdec(faults_seen);
  puts("\nslot 0 interrupts handled: ");
  putdec(slot_hits[0][1] + slot_hits[0][2]);
  puts(" (the in-flight one was lost)\n");
  if (!(hi >> 63) || ((hi >> 32) & 0xFF) != 0x22 || (lo >> 48) != IRQ_HANDLE) return 0x51;
  vtd_frcd_clear();
  const int cpu = fire_and_wait(0, 100000);
  report("after the rewrite", 0, cpu);
  if (cpu != 2) return 0x52;
  puts("irq-clear-p: done\n");
  return 0;
}
