/* The x86 interrupt-affinity scenario shared by the migration stubs: VT-d remapping on,
 * the device's slots programmed once in remappable format (one handle, SHV=1, subhandle
 * = slot), handlers that count per CPU, and a worker CPU that performs migrations when
 * kicked by IPI (Linux defers affinity changes the same way). */
#ifndef IRQREMAP_FW_X86_SCENARIO_H
#define IRQREMAP_FW_X86_SCENARIO_H

#include "dev.h"
#include "vtd.h"

#define IRQ_HANDLE   0x20  /* IRTE index of slot 0; slot k uses IRQ_HANDLE + k */
#define VEC_KICK     0xF0  /* IPI: worker, look at the request */
#define VEC_OFFLINE  0xF1  /* IPI: this CPU goes offline (hot-unplug) */
#define VEC_FAULT    0xE0  /* VT-d fault event, to CPU 0 */
#define VEC_INVDONE  0xE1  /* VT-d invalidation completion event, to CPU 0 */

enum update_mode { UPDATE_CMPXCHG16B, UPDATE_LOW_HALF };
enum migrate_variant { MIGRATE_OK, MIGRATE_FORGET_IEC, MIGRATE_CLEAR_P_FIRST };

struct route { volatile u32 cpu; volatile u8 vector; };
extern struct route routes[DEV_SLOTS];
extern volatile u32 slot_hits[DEV_SLOTS][MACHINE_MAX_CPUS];
extern volatile u32 cpu_offline[MACHINE_MAX_CPUS];
extern volatile u32 faults_seen, invdone_seen;

/* CPU 0: VT-d on, fault and completion events to CPU 0, slots routed to `cpu` and
 * programmed once, APs woken (they run the worker loop). Returns 0 or a failure code. */
int scenario_setup(u32 first_cpu);
/* CPU 0: fire slot k and wait until some CPU handled it (or `spins` polls passed);
 * returns the CPU that handled it, or -1 if nobody did. */
int fire_and_wait(u32 k, u32 spins);
/* CPU 0: ask `worker` (by IPI) to move slot k to `target`; waits for completion. */
void request_migration(u32 worker, u32 k, u32 target, enum update_mode mode,
                       enum migrate_variant variant);
/* CPU 0: take `cpu` offline: it moves every IRTE that targets it, then parks. Fires
 * slot `inflight` once `cpu` is in its offline handler with interrupts off, so an MSI is
 * in flight (in its IRR) during the move, whatever the scheduling. */
void hot_unplug(u32 cpu, u32 inflight);
/* For MIGRATE_CLEAR_P_FIRST: CPU 0 is told when P=0 is in the table and fires then. */
extern volatile u32 clear_p_window, clear_p_fire_done;
void report(const char *what, u32 k, int cpu);

#endif
