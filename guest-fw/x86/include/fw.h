/* Freestanding helpers shared by the x86-64 stubs (guest-fw/x86/lib). Only CPU 0 prints. */
#ifndef IRQREMAP_FW_X86_FW_H
#define IRQREMAP_FW_X86_FW_H

#include "machine.h"

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long s64;

#define NOINLINE __attribute__((noinline))
#define barrier() __asm__ volatile("" ::: "memory")

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
// Timeline phase markers (arch/common/phase_marker.h): a named slice on this CPU's track in
// --trace-out/--trace-svg. QEMU ignores the port, so marked firmware runs the same there.
#define PHASE_PORT 0x520
static inline void phase_begin(const char *name) { outl(PHASE_PORT, (u32)(u64)name); }
static inline void phase_end(void) { outl(PHASE_PORT, 0); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u64 mmio_read64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_write64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u64 rdmsr(u32 msr) {
  u32 lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v) {
  __asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
/* Wait for an interrupt with interrupts enabled (the classic STI; HLT pair). */
static inline void wait_for_interrupt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

/* Console (COM1), CPU 0 only by convention. */
void puts(const char *s);
void puthex(u64 v);
void putdec(u64 v);
/* Power off (status 0) and failure exit through isa-debug-exit (status (code << 1) | 1). */
__attribute__((noreturn)) void poweroff(void);
__attribute__((noreturn)) void fail_exit(u32 code);
#define ASSERT(c) do { if (!(c)) { puts("ASSERT failed: " #c "\n"); fail_exit(0x7F); } } while (0)

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);

/* Local APIC (xAPIC MMIO view). */
#define LAPIC_ID     0x020
#define LAPIC_TPR    0x080
#define LAPIC_EOI    0x0B0
#define LAPIC_SVR    0x0F0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define IA32_APIC_BASE 0x1B
#define X2APIC_MSR(off) (0x800u + (off) / 16)
u32 this_cpu(void);                 /* APIC ID = CPU index on this machine */
int x2apic_mode(void);
void x2apic_enable(void);           /* xAPIC -> x2APIC (IA32_APIC_BASE.EXTD) */
u32 lapic_irr(u8 vector);           /* the IRR bit for vector */
void lapic_enable(void);            /* SVR: software enable, spurious vector 0xFF */
void lapic_eoi(void);
void send_ipi(u32 cpu, u8 vector);  /* fixed, physical */

/* Interrupts: an IDT with a stub for every vector 32-255 that calls the registered
 * handler (or counts it), EOIs and returns with IRETQ. */
typedef void (*irq_handler_t)(u32 vector, u32 cpu);
void idt_load(void);                /* per CPU, after idt_init() on CPU 0 */
void idt_init(void);
void irq_register(u8 vector, irq_handler_t h);
extern volatile u32 irq_count[MACHINE_MAX_CPUS][256];
extern volatile u32 cpus_online;

/* SMP: wake an AP through the ACPI wakeup mailbox; it runs ap_main(cpu) on its own stack
 * with GDT and IDT loaded. Returns once the AP acknowledged. */
void wake_ap(u32 cpu);
u32 machine_cpus(void);  /* CPU count the machine reports in the mailbox */
void ap_main(u32 cpu);  /* provided by the stub (a weak default parks the CPU) */
int main(void);         /* provided by the stub, CPU 0 */
__attribute__((noreturn)) void park(void);  /* IF=0 HLT forever */

#endif
