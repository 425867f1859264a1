// Shared x86-64 firmware helpers: console, exit, local APIC, IDT, SMP wake-up.
#include "fw.h"

volatile u32 irq_count[MACHINE_MAX_CPUS][256];
volatile u32 cpus_online;
static irq_handler_t handlers[256];

struct idt_gate { u16 off_lo, sel; u8 ist, type; u16 off_mid; u32 off_hi, rsvd; };
static struct idt_gate idt[256] __attribute__((aligned(16)));
extern char irq_stubs[];
extern char __bss_start[], __bss_end[];
extern void ap_entry(void);

void *memset(void *d, int c, unsigned long n) {
  volatile u8 *p = d;  // volatile: keep clang from turning this loop into a memset call
  while (n--) *p++ = (u8)c;
  return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
  volatile u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

void puts(const char *s) {
  for (; *s; ++s) {
    while (!(inb(MACHINE_COM1 + 5) & 0x20)) cpu_relax();  // LSR.THRE
    outb(MACHINE_COM1, (u8)*s);
  }
}

void puthex(u64 v) {
  char buf[19];
  int i = 18;
  buf[i] = 0;
  do { buf[--i] = "0123456789abcdef"[v & 0xF]; v >>= 4; } while (v && i > 2);
  buf[--i] = 'x';
  buf[--i] = '0';
  puts(&buf[i]);
}

void putdec(u64 v) {
  char buf[21];
  int i = 20;
  buf[i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  puts(&buf[i]);
}

void poweroff(void) {
  outw(MACHINE_PM1A_CNT, 0x2000);  // SLP_EN with SLP_TYP=S5, as QEMU q35
  for (;;) __asm__ volatile("cli; hlt");
}

void fail_exit(u32 code) {
  __asm__ volatile("outl %0, %1" ::"a"(code), "Nd"((u16)MACHINE_DEBUG_EXIT));
  for (;;) __asm__ volatile("cli; hlt");
}

void park(void) {
  for (;;) __asm__ volatile("cli; hlt");
}

// Each CPU's APIC is in xAPIC mode (MMIO) unless it switched itself to x2APIC (MSRs,
// SDM §11.12); the helpers ask IA32_APIC_BASE.EXTD which view to use.
int x2apic_mode(void) { return (rdmsr(IA32_APIC_BASE) >> 10) & 1; }

void x2apic_enable(void) { wrmsr(IA32_APIC_BASE, rdmsr(IA32_APIC_BASE) | (1u << 10)); }

u32 this_cpu(void) {
  if (x2apic_mode()) return (u32)rdmsr(X2APIC_MSR(LAPIC_ID));
  return mmio_read32(MACHINE_LAPIC_BASE + LAPIC_ID) >> 24;
}

void lapic_enable(void) {
  if (x2apic_mode()) wrmsr(X2APIC_MSR(LAPIC_SVR), 0x1FF);
  else mmio_write32(MACHINE_LAPIC_BASE + LAPIC_SVR, 0x1FF);
}

void lapic_eoi(void) {
  if (x2apic_mode()) wrmsr(X2APIC_MSR(LAPIC_EOI), 0);
  else mmio_write32(MACHINE_LAPIC_BASE + LAPIC_EOI, 0);
}

void send_ipi(u32 cpu, u8 vector) {  // fixed, physical, edge
  if (x2apic_mode()) {
    wrmsr(X2APIC_MSR(LAPIC_ICR_LO), ((u64)cpu << 32) | vector);
    return;
  }
  mmio_write32(MACHINE_LAPIC_BASE + LAPIC_ICR_HI, cpu << 24);
  mmio_write32(MACHINE_LAPIC_BASE + LAPIC_ICR_LO, vector);
}

u32 lapic_irr(u8 vector) {
  const u32 reg = 0x200 + (vector / 32) * 0x10;
  const u32 word = x2apic_mode() ? (u32)rdmsr(X2APIC_MSR(reg)) : mmio_read32(MACHINE_LAPIC_BASE + reg);
  return (word >> (vector % 32)) & 1;
}

void irq_register(u8 vector, irq_handler_t h) { handlers[vector] = h; }

// Called by irq_common with the vector; runs the handler, counts, EOIs.
void irq_dispatch(u64 vector) {
  const u32 cpu = this_cpu();
  if (handlers[vector]) handlers[vector]((u32)vector, cpu);
  irq_count[cpu][vector]++;
  if (vector != 0xFF) lapic_eoi();  // the spurious vector takes no EOI (SDM §11.9)
}

void idt_init(void) {
  for (u32 v = 32; v < 256; ++v) {
    const u64 h = (u64)irq_stubs + (v - 32) * 16;
    idt[v].off_lo = (u16)h;
    idt[v].sel = 0x08;
    idt[v].ist = 0;
    idt[v].type = 0x8E;  // P=1, DPL=0, 64-bit interrupt gate
    idt[v].off_mid = (u16)(h >> 16);
    idt[v].off_hi = (u32)(h >> 32);
    idt[v].rsvd = 0;
  }
}

void idt_load(void) {
  struct __attribute__((packed)) { u16 limit; u64 base; } p = {sizeof idt - 1, (u64)idt};
  __asm__ volatile("lidt %0" ::"m"(p));
}

void wake_ap(u32 cpu) {
  const u64 mb = MACHINE_WAKEUP_MAILBOX;
  const u32 before = cpus_online;
  mmio_write32(mb + 4, cpu);                    // ApicId
  mmio_write64(mb + 8, (u64)ap_entry);          // WakeupVector
  *(volatile u16 *)mb = 1;                      // Command = Wakeup
  while (*(volatile u16 *)mb != 0) cpu_relax(); // the AP acknowledges with Noop
  while (cpus_online == before) cpu_relax();    // and reports in
}

u32 machine_cpus(void) { return mmio_read32(MACHINE_WAKEUP_MAILBOX + 2048); }

__attribute__((weak)) void ap_main(u32 cpu) {
  (void)cpu;
  park();
}

// A stub without C (uart-hello) links this library too; it never reaches here.
__attribute__((weak)) int main(void) { return 0x7E; }

// C entry for every CPU, on its own stack with the GDT loaded.
__attribute__((noreturn)) void cpu_start(u32 cpu) {
  if (cpu == 0) {
    for (char *p = __bss_start; p < __bss_end; ++p) *(volatile char *)p = 0;
    idt_init();
    /* Interrupts come through the APICs: mask both 8259s (OCW1), which the BIOS left with
       the 18.2 Hz timer unmasked on LINT0, as an OS in APIC mode does. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
  }
  idt_load();
  lapic_enable();
  __atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
  if (cpu == 0) {
    int rc = main();
    if (rc == 0) poweroff();
    fail_exit((u32)rc);
  }
  ap_main(cpu);
  park();
}
