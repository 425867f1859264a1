// x86/uart-echo: the 16550's receive side as firmware uses it (PC16550D datasheet).
//   polled  LSR.DR is polled and RBR read until a newline (kvm-unit-tests' getchar).
//   irq     IER.ERBFI on, COM1's ISA IRQ 4 routed by I/O APIC entry 4 to vector 0x40 on
//           CPU 0; the CPU halts, and each interrupt drains RBR while LSR.DR is set.
// Prints each line back with what it took. Feed it input on irqremap's stdin, e.g.
//   printf 'one\ntwo\n' | irqremap run --arch x86 --firmware x86/uart-echo
#include "fw.h"

#define COM1 0x3F8
#define RBR (COM1 + 0)
#define IER (COM1 + 1)
#define FCR (COM1 + 2)
#define LSR (COM1 + 5)
#define LSR_DR 0x01
#define VECTOR 0x40

static char line[128];
static volatile unsigned len;
static volatile int line_done;
static volatile unsigned interrupts;

static void ioapic_write(u32 reg, u32 v) {
  mmio_write32(MACHINE_IOAPIC_BASE, reg);
  mmio_write32(MACHINE_IOAPIC_BASE + 0x10, v);
}

static void take(char c) {
  if (c == '\n') line_done = 1;
  else if (len < sizeof line - 1) line[len++] = c;
}

static void on_com1(u32 vector, u32 cpu) {
  (void)vector;
  (void)cpu;
  interrupts = interrupts + 1;
  while (inb(LSR) & LSR_DR) take((char)inb(RBR));
}

static void say(const char *how) {
  line[len] = 0;
  puts(how);
  puts(": ");
  puts(line);
  puts("\n");
  len = 0;
  line_done = 0;
}

int main(void) {
  outb(FCR, 0x07);  // FIFOs on, both cleared
  while (!line_done) {
    while (!(inb(LSR) & LSR_DR)) cpu_relax();
    take((char)inb(RBR));
  }
  say("polled");

  idt_init();
  idt_load();
  lapic_enable();
  irq_register(VECTOR, on_com1);
  ioapic_write(0x11 + 2 * 4, 0);       // destination APIC ID 0
  ioapic_write(0x10 + 2 * 4, VECTOR);  // fixed, physical, edge, unmasked
  outb(IER, 0x01);                     // ERBFI
  while (!line_done) wait_for_interrupt();
  cli();
  say("irq");
  puts("interrupts ");
  putdec(interrupts > 0);
  puts("\n");
  poweroff();
}
