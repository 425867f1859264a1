// x86/pit-tick: the legacy timer path of a PC (Intel 8259A and 82C54 datasheets; the local
// APIC's LINT0 in ExtINT mode, MultiProcessor Specification 1.4 §3.6.2.2).
//   The 8259s are initialised as an OS does (ICW1-ICW4: edge, cascade, vector bases 0x20
//   and 0x28 away from the exception vectors, 8086 mode), IRQ 0 alone unmasked; the 8254's
//   counter 0 runs in mode 2 at 1 kHz (N = 1193). CPU 0 halts with interrupts on until five
//   ticks came in, each ended at the 8259 with a non-specific EOI, then prints how many.
#include "fw.h"

#define TICK_VECTOR 0x20

static volatile unsigned ticks;

static void on_tick(u32 vector, u32 cpu) {
  (void)vector;
  (void)cpu;
  ++ticks;
  outb(0x20, 0x20);  // OCW2: non-specific EOI
}

int main(void) {
  irq_register(TICK_VECTOR, on_tick);
  outb(0x20, 0x11);  // ICW1: edge, cascade, ICW4 follows
  outb(0x21, TICK_VECTOR);
  outb(0x21, 0x04);  // ICW3: the slave on IR2
  outb(0x21, 0x01);  // ICW4: 8086 mode
  outb(0xA0, 0x11);
  outb(0xA1, TICK_VECTOR + 8);
  outb(0xA1, 0x02);
  outb(0xA1, 0x01);
  outb(0x21, 0xFE);  // OCW1: IRQ 0 only
  outb(0xA1, 0xFF);
  outb(0x43, 0x34);  // counter 0, LSB then MSB, mode 2
  outb(0x40, 1193 & 0xFF);
  outb(0x40, 1193 >> 8);
  while (ticks < 5) wait_for_interrupt();
  cli();
  puts("pit-tick: ");
  putdec(ticks);
  puts(" ticks of IRQ 0 through the 8259 (vector ");
  puthex(TICK_VECTOR);
  puts(")\n");
  return 0;
}
