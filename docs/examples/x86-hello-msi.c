// The smallest x86-64 firmware that starts a second CPU and takes an MSI from irqremap's
// device. Entered in 64-bit mode with paging off (linear = physical) as an ELF64; no GDT,
// IDT or VT-d is needed for this much: the MSI uses the compatibility format (remapping
// off) and CPU 0 finds it in its local APIC's IRR with interrupts disabled.
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;

#define MAILBOX 0xFEDF0000ul       // ACPI multiprocessor wakeup mailbox
#define LAPIC 0xFEE00000ul         // this CPU's local APIC
#define DEV 0xFEB00000ul           // irqremap's device (PCI 00:03.0)
#define VECTOR 0x41

static void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static u32 r32(u64 a) { return *(volatile u32 *)a; }
static void outb(u16 port, unsigned char v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static void print(const char *s) { while (*s) outb(0x3f8, (unsigned char)*s++); }

static volatile u32 ap_done;
static unsigned char ap_stack[4096] __attribute__((used, aligned(16)));

// CPU 1 starts here, in 64-bit mode, with no stack of its own.
__asm__(".text\n ap_entry: lea ap_stack+4096(%rip), %rsp\n call ap_main\n 1: cli\n hlt\n jmp 1b\n");
void ap_entry(void);

void ap_main(void) {
  print("hello-msi: CPU 1 woke through the mailbox\n");
  ap_done = 1;
}

void main(void) {
  u32 cpus = r32(MAILBOX + 2048);                     // the CPU count: 32 bits at 2048
  if (cpus > 1) {
    *(volatile u64 *)(MAILBOX + 8) = (u64)ap_entry;   // WakeupVector
    w32(MAILBOX + 4, 1);                              // ApicId
    *(volatile u16 *)(MAILBOX + 0) = 1;               // Command = Wakeup
    while (*(volatile u16 *)(MAILBOX + 0) != 0) {     // 0 = the AP took it
    }
    while (!ap_done) {
    }
  }

  w32(LAPIC + 0xf0, 0x100 | 0xff);                    // SVR: APIC on, spurious vector 0xff
  // The device's slot 0, written once: compatibility format, APIC 0, vector 0x41.
  w32(DEV + 0x100, 0xFEE00000u);
  w32(DEV + 0x104, 0);
  w32(DEV + 0x108, VECTOR);
  w32(DEV + 0x10c, 0);                                // ctrl: unmasked
  w32(DEV + 0x010, 0);                                // TRIGGER slot 0
  u32 irr = r32(LAPIC + 0x200 + 0x10 * (VECTOR / 32));
  print(irr & (1u << (VECTOR % 32)) ? "hello-msi: vector 0x41 pending on CPU 0\n"
                                    : "hello-msi: no interrupt\n");
  outw(0x604, 0x2000);                                // PM1a_CNT SLP_EN, S5: power off
}

// Entry: CPU 0's stack, then main. ELF64 images start in 64-bit mode at e_entry.
static unsigned char stack[8192] __attribute__((used, aligned(16)));
__asm__(".text\n .global _start\n _start: lea stack+8192(%rip), %rsp\n call main\n 1: hlt\n jmp 1b\n");
