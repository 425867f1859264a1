/* The common irqremap device (device/, requester ID 00:03.0 at MACHINE_DEVICE_BASE) as
 * the x86 stubs drive it: message slots written once, a trigger that makes it raise
 * event k, and re-arming for one-shot slots. Register layout: see lib/dev.c. */
#ifndef IRQREMAP_FW_X86_DEV_H
#define IRQREMAP_FW_X86_DEV_H

#include "fw.h"

#define DEV_SLOTS 4

void dev_init(void);
/* Write slot k's message once (address, data) and unmask it. */
void dev_slot_program(u32 k, u64 address, u32 data);
/* Make the device raise event k (the MSI goes out synchronously). */
void dev_fire(u32 k);
/* Re-arm a one-shot slot through the device's command queue (no-op if not one-shot). */
void dev_rearm(u32 k);

#endif
