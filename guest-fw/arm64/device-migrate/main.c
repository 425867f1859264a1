// arm64/device-migrate: the its-migrate scenario (include/migrate.h) with the interrupt
// raised by irqremap's common device (device/README.md) at 0x0B00_0000, DeviceID 0x10.
// The driver programs the device's message slot 0 once — address GITS_TRANSLATER, data
// EventID 0, then unmask — and never touches it again: every migration is done in the
// ITS (MOVI + SYNC), which is the point of interrupt remapping. Needs irqremap (QEMU virt
// has no such device).
#include "fw.h"

#define DEV_BASE 0x0B000000ul
#define DEV_TRIGGER 0x010
#define DEV_SLOT0 0x100  // address_lo, address_hi, data, ctrl (IDXD layout)

#define DEVID 0x10
#define BANNER "device-migrate: GICv3 ITS, common device DeviceID 0x10, message written once\n"

static void setup_source(void) {
  w32(DEV_BASE + DEV_SLOT0 + 0x0, (u32)GITS_TRANSLATER);
  w32(DEV_BASE + DEV_SLOT0 + 0x4, (u32)(GITS_TRANSLATER >> 32));
  w32(DEV_BASE + DEV_SLOT0 + 0x8, 0);  // EventID 0 (the commit point)
  w32(DEV_BASE + DEV_SLOT0 + 0xC, 0);  // ctrl: unmask
  dsb();
}

// The device raises slot 0's event: it sends the stored message.
static void trigger(void) {
  dsb();
  w32(DEV_BASE + DEV_TRIGGER, 0);
  dsb();
}

#include "migrate.h"
