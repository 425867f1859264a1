// The common device's registers as the x86 stubs use them (dev.h), included once by each
// scenario stub. Register map: device/README.md (device/msg_device_regs.h).
#include "dev.h"

#define DEV_REG(off)  (MACHINE_DEVICE_BASE + (off))
#define DEV_ID        DEV_REG(0x000)  /* "IMSD" */
#define DEV_TRIGGER   DEV_REG(0x010)  /* write n: raise slot n's event */
#define DEV_CONTROL   DEV_REG(0x014)  /* [2] ONE_SHOT; 0: every event fires */
#define DEV_SLOT(k)   DEV_REG(0x100 + 16 * (k))  /* IDXD slot: addr_lo, addr_hi, data, ctrl */

void dev_init(void) {
  ASSERT(mmio_read32(DEV_ID) == 0x494D5344u);
  mmio_write32(DEV_CONTROL, 0);  // lazy masking, split context, not one-shot
}

// Linux's order: address_lo, address_hi, then data (the commit point), then unmask.
void dev_slot_program(u32 k, u64 address, u32 data) {
  mmio_write32(DEV_SLOT(k) + 0x0, (u32)address);
  mmio_write32(DEV_SLOT(k) + 0x4, (u32)(address >> 32));
  mmio_write32(DEV_SLOT(k) + 0x8, data);
  mmio_write32(DEV_SLOT(k) + 0xC, 0);  // ctrl: unmask (reset value is masked), no PASID
}

void dev_fire(u32 k) { mmio_write32(DEV_TRIGGER, k); }

// The slots are not one-shot (CONTROL.ONE_SHOT = 0), so nothing needs re-arming.
void dev_rearm(u32 k) { (void)k; }
