// The shared x86 affinity scenario (scenario.h), included once by each scenario stub
// (the guest-fw build links every lib/ source into every stub, so this lives here).
#include "scenario.h"

struct route routes[DEV_SLOTS];
volatile u32 slot_hits[DEV_SLOTS][MACHINE_MAX_CPUS];
volatile u32 cpu_offline[MACHINE_MAX_CPUS];
// The hot-unplug handshake (hot_unplug, on_offline): the leaving CPU is in its offline
// handler with interrupts off, and the in-flight MSI has been fired at it.
static volatile u32 offline_entered[MACHINE_MAX_CPUS], inflight_fired;
volatile u32 faults_seen, invdone_seen;
volatile u32 clear_p_window, clear_p_fire_done;
static volatile int last_handler_cpu = -1;
static u8 next_vector[MACHINE_MAX_CPUS];

static struct {
  volatile u32 pending, done;
  u32 slot, target;
  enum update_mode mode;
  enum migrate_variant variant;
} req;

// Per-CPU vector allocation, as the x86 vector domain does: each CPU has its own space.
static u8 alloc_vector(u32 cpu) {
  if (next_vector[cpu] < 0x50) next_vector[cpu] = 0x50;
  return next_vector[cpu]++;
}

static void on_device(u32 vector, u32 cpu) {
  for (u32 k = 0; k < DEV_SLOTS; ++k)
    if (routes[k].cpu == cpu && routes[k].vector == vector) {
      slot_hits[k][cpu]++;
      last_handler_cpu = (int)cpu;
      return;
    }
  // A vector no slot maps to on this CPU: a stale delivery to an old target.
  last_handler_cpu = (int)cpu;
}

static void on_fault(u32 vector, u32 cpu) { (void)vector; (void)cpu; faults_seen++; }
static void on_invdone(u32 vector, u32 cpu) {
  (void)vector;
  (void)cpu;
  invdone_seen++;
  vtd_write32(VTD_ICS, 1);  // IWC is RW1C
}
static void on_kick(u32 vector, u32 cpu) { (void)vector; (void)cpu; }  // wakes the loop

static void irte_update(u32 idx, u64 lo, u64 hi, enum update_mode mode) {
  if (mode == UPDATE_CMPXCHG16B) irte_write16(idx, lo, hi);
  else irte_write_low(idx, lo);  // only the low half (DST, V) changes
}

static void do_migration(void) {
  const u32 k = req.slot, target = req.target, idx = IRQ_HANDLE + k;
  const u8 vec = alloc_vector(target);
  irq_register(vec, on_device);
  const u64 hi = vtd_irt[idx].hi;
  if (req.variant == MIGRATE_CLEAR_P_FIRST) {
    // Teaching variant: take the entry away first (P=0), flush, then rewrite. An MSI
    // that arrives in between meets P=0: fault 22h, the interrupt is lost.
    irte_write_low(idx, vtd_irt[idx].lo & ~IRTE_P);
    vtd_iec_index(idx, 0);
    clear_p_window = 1;
    while (!clear_p_fire_done) cpu_relax();
  }
  routes[k].vector = vec;
  routes[k].cpu = target;
  barrier();
  irte_update(idx, irte_low(target, vec), hi, req.mode);
  if (req.variant != MIGRATE_FORGET_IEC) vtd_iec_index(idx, 0);
}

static void worker_loop(u32 cpu) {
  for (;;) {
    cli();
    if (cpu_offline[cpu]) park();
    if (req.pending && !req.done) {
      sti();
      do_migration();
      req.done = 1;
      continue;
    }
    wait_for_interrupt();
  }
}

// Hot-unplug on the leaving CPU (Linux fixup_irqs): move every IRTE that targets it,
// flush each, retrigger what already reached this APIC's IRR on the new target, park.
static void on_offline(u32 vector, u32 cpu) {
  (void)vector;
  const u32 to = cpu == 1 ? 0 : 1;
  // Interrupts are off here (interrupt gate): the MSI the unplugging CPU fires now stays in
  // this APIC's IRR, in flight, as one that arrives after Linux's stop_machine disabled
  // interrupts on the dying CPU. The handshake makes that race happen on every schedule.
  offline_entered[cpu] = 1;
  while (!inflight_fired) cpu_relax();
  for (u32 k = 0; k < DEV_SLOTS; ++k) {
    if (routes[k].cpu != cpu) continue;
    const u32 idx = IRQ_HANDLE + k;
    const u8 old = routes[k].vector, vec = alloc_vector(to);
    irq_register(vec, on_device);
    routes[k].vector = vec;
    routes[k].cpu = to;
    irte_write_low(idx, irte_low(to, vec));
    vtd_iec_index(idx, 0);
    // An MSI that landed here before the move sits in IRR: retrigger it on the new CPU.
    if (lapic_irr(old)) send_ipi(to, vec);
  }
  cpu_offline[cpu] = 1;
  lapic_eoi();
  park();
}

void ap_main(u32 cpu) {
  irq_register(VEC_OFFLINE, on_offline);
  worker_loop(cpu);
}

int scenario_setup(u32 first_cpu) {
  irq_register(VEC_KICK, on_kick);
  irq_register(VEC_FAULT, on_fault);
  irq_register(VEC_INVDONE, on_invdone);
  const int rc = vtd_enable_ir();
  if (rc) return rc;
  // Fault event and invalidation completion event: compatibility-format messages to CPU 0.
  vtd_write32(VTD_FEDATA, VEC_FAULT);
  vtd_write32(VTD_FEADDR, 0xFEE00000u);
  vtd_write32(VTD_FECTL, 0);  // IM=0
  vtd_write32(VTD_IEDATA, VEC_INVDONE);
  vtd_write32(VTD_IEADDR, 0xFEE00000u);
  vtd_write32(VTD_IECTL, 0);
  dev_init();
  for (u32 k = 0; k < DEV_SLOTS; ++k) {
    const u32 idx = IRQ_HANDLE + k;
    const u8 vec = alloc_vector(first_cpu);
    routes[k].cpu = first_cpu;
    routes[k].vector = vec;
    irq_register(vec, on_device);
    irte_write16(idx, irte_low(first_cpu, vec), irte_high_for(MACHINE_DEVICE_RID));
  }
  vtd_iec_global();
  // The device's message store, written once: handle IRQ_HANDLE, SHV=1, subhandle k.
  for (u32 k = 0; k < DEV_SLOTS; ++k) dev_slot_program(k, vtd_msi_address(IRQ_HANDLE), k);
  const u32 n = machine_cpus();
  for (u32 c = 1; c < n; ++c) wake_ap(c);
  sti();
  return 0;
}

int fire_and_wait(u32 k, u32 spins) {
  last_handler_cpu = -1;
  dev_rearm(k);
  dev_fire(k);
  for (u32 i = 0; i < spins && last_handler_cpu < 0; ++i) { sti(); cpu_relax(); }
  return last_handler_cpu;
}

void request_migration(u32 worker, u32 k, u32 target, enum update_mode mode,
                       enum migrate_variant variant) {
  req.slot = k;
  req.target = target;
  req.mode = mode;
  req.variant = variant;
  req.done = 0;
  barrier();
  req.pending = 1;
  send_ipi(worker, VEC_KICK);
  while (!req.done) {
    if (clear_p_window && !clear_p_fire_done) {
      dev_rearm(k);
      dev_fire(k);  // the in-flight MSI meets P=0
      clear_p_fire_done = 1;
    }
    cpu_relax();
  }
  req.pending = 0;
}

void hot_unplug(u32 cpu, u32 inflight) {
  send_ipi(cpu, VEC_OFFLINE);
  while (!offline_entered[cpu]) cpu_relax();
  dev_rearm(inflight);
  dev_fire(inflight);
  inflight_fired = 1;
  while (!cpu_offline[cpu]) cpu_relax();
}

void report(const char *what, u32 k, int cpu) {
  puts(what);
  puts(": slot ");
  putdec(k);
  puts(" handled on cpu");
  if (cpu < 0) puts("-none");
  else putdec((u64)cpu);
  puts("\n");
}
