// arm64/its-migrate: what the Linux ITS driver does for one MSI-capable device, with the
// device played by CPU stores to GITS_TRANSLATER (which carry DeviceID 0, as on QEMU).
// Runs on QEMU virt (gic-version=3, its=on, -smp 4) and on irqremap with the same output.
//
//   setup   GICD (ARE, Group 1), every redistributor's LPI tables, ITS tables + command
//           queue, one collection per CPU (MAPC), MAPD DeviceID 0, MAPTI event 0 ->
//           LPI 8192 on CPU 1's collection; each CPU's interface (ICC_*).
//   phase 1 three LPIs, each handled on CPU 1 (ICC_IAR1_EL1 / EOIR1 in a real handler).
//   phase 2 routine migration: CPU 0 posts a request; worker CPU 3 issues MOVI (-> CPU 2's
//           collection) + SYNC; the next three LPIs are handled on CPU 2.
//   phase 3 hot-unplug of CPU 2: it masks IRQs; one LPI arrives and stays pending there;
//           CPU 2 moves every event of its collection away (MOVI to CPU 1) + SYNC — the
//           pending LPI follows — and calls PSCI CPU_OFF. CPU 1 handles the moved LPI and
//           three more; CPU 2 handles none after it left.
//
// Cross-CPU communication uses single-writer mailboxes (each word written by one CPU
// only): no exclusives, so it works on any number of emulator engines.
#include "fw.h"

#define DEVID 0
#define BANNER "its-migrate: GICv3 ITS, DeviceID 0 (CPU writes to GITS_TRANSLATER)\n"

static void setup_source(void) {}

// The "device" is the CPU: a store of the EventID to GITS_TRANSLATER (DeviceID 0).
static void trigger(void) {
  dsb();
  w32(GITS_TRANSLATER, 0);
  dsb();
}

#include "migrate.h"
