// The doorbell storm both storm stubs run (issue 11's benchmark): CPU 0 maps DeviceID 0 /
// EventID 0 to LPI 8192 on its own collection and, with IRQs masked, stores STORM_EVENT to
// GITS_TRANSLATER STORM_WRITES times. With STORM_EVENT 0 every store translates and finds
// the LPI already pending; with an unmapped event every store is dropped by the ITS. A
// stub defines STORM_EVENT and BANNER and includes this file once. tools/bench_storm.sh
// times it on irqremap and on QEMU.
#include "fw.h"

#define STORM_WRITES 2000000u

int main(void) {
  puts(BANNER);
  gic_dist_init();
  gic_redist_init(1);
  its_init();
  gic_cpu_init();
  its_mapc(0, 0);
  its_mapd(0, 5);
  its_mapti(0, 0, LPI_BASE, 0);
  lpi_config(LPI_BASE, 1);
  its_inv(0, 0);
  its_sync(0);
  irq_disable();
  for (u32 i = 0; i < STORM_WRITES; ++i) w32(GITS_TRANSLATER, STORM_EVENT);
  dsb();
  puts("doorbell-storm: ");
  putdec(STORM_WRITES);
  puts(" writes done\n");
  return 0;
}
