// x86/ipi-ping: CPU 0 wakes every AP through the ACPI wakeup mailbox, then pings each with
// a fixed IPI; the AP's IDT handler answers with an IPI back, CPU 0's handler counts the
// answers. Needs neither VT-d nor the device: it checks SMP start, ICR, IDT vectoring, EOI.
#include "fw.h"

#define PING 0x40
#define PONG 0x41

static void on_ping(u32 vector, u32 cpu) {
  (void)vector;
  (void)cpu;
  send_ipi(0, PONG);
}

void ap_main(u32 cpu) {
  if (cpu % 2) {  // odd CPUs answer through the x2APIC MSRs, even ones through MMIO
    x2apic_enable();
    ASSERT(this_cpu() == cpu);
  }
  for (;;) wait_for_interrupt();
}

int main(void) {
  irq_register(PING, on_ping);
  const u32 n = machine_cpus();
  puts("ipi-ping: ");
  putdec(n);
  puts(" CPUs\n");
  for (u32 c = 1; c < n; ++c) wake_ap(c);
  for (u32 c = 1; c < n; ++c) {
    const u32 before = irq_count[0][PONG];
    send_ipi(c, PING);
    while (irq_count[0][PONG] == before) wait_for_interrupt();
    puts("pong from cpu");
    putdec(c);
    puts("\n");
  }
  for (u32 c = 1; c < n; ++c) ASSERT(irq_count[c][PING] == 1);
  puts("ipi-ping: ok\n");
  return 0;
}
