// The common device's register interface as the x86 stubs use it (dev.h), included once
// by each scenario stub. Offsets follow the device's documented register layout.
#include "dev.h"

#define DEV_REG(off) (MACHINE_DEVICE_BASE + (off))
#define DEV_SLOT(k)  DEV_REG(0x000 + 16 * (k))  /* IMS slot: addr_lo, addr_hi, data, ctrl */
#define DEV_TRIGGER  DEV_REG(0x800)             /* write k: raise event k */
#define DEV_REARM    DEV_REG(0x804)             /* write k: re-arm one-shot slot k */

void dev_init(void) {}

void dev_slot_program(u32 k, u64 address, u32 data) {
  mmio_write32(DEV_SLOT(k) + 0x0, (u32)address);
  mmio_write32(DEV_SLOT(k) + 0x4, (u32)(address >> 32));
  mmio_write32(DEV_SLOT(k) + 0x8, data);
  mmio_write32(DEV_SLOT(k) + 0xC, 0);  // ctrl: unmasked, no PASID
}

void dev_fire(u32 k) { mmio_write32(DEV_TRIGGER, k); }
void dev_rearm(u32 k) { mmio_write32(DEV_REARM, k); }
