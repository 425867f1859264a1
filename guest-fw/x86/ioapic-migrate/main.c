// x86/ioapic-migrate: an I/O APIC interrupt migrated by rewriting its IRTE only.
// The edu device's INTx pin reaches the I/O APIC input named by its Interrupt Line (set
// as SeaBIOS leaves it on q35). The redirection entry is programmed once, in remappable
// format (VT-d spec §5.1.5.1: IF=1 and the IRTE handle instead of a destination). The
// interrupt is then moved from CPU 0 to CPU 1 the way Linux's intel_ir_set_affinity does
// with remapping on: a new destination in the IRTE, an IEC invalidation, and nothing else;
// the redirection entry is read back to show it never changed. Needs --smp 2.
#include "fw.h"
#include "vtd.h"

#define HANDLE 5           // IRTE index the redirection entry names
#define VEC    0x51        // the vector, in the IRTE (and in the entry, for EOI matching)

// edu registers (QEMU docs/specs/edu.rst).
#define EDU_INTR_STATUS 0x24
#define EDU_INTR_RAISE  0x60
#define EDU_INTR_ACK    0x64

static u32 pci_read32(u32 devfn, u32 reg) {
  __asm__ volatile("outl %0, %1" ::"a"(0x80000000u | (devfn << 8) | reg), "Nd"((u16)MACHINE_PCI_CONF));
  u32 v;
  __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((u16)(MACHINE_PCI_CONF + 4)));
  return v;
}

static void ioapic_write(u32 reg, u32 v) {
  mmio_write32(MACHINE_IOAPIC_BASE, reg);
  mmio_write32(MACHINE_IOAPIC_BASE + 0x10, v);
}
static u32 ioapic_read(u32 reg) {
  mmio_write32(MACHINE_IOAPIC_BASE, reg);
  return mmio_read32(MACHINE_IOAPIC_BASE + 0x10);
}

static u64 edu_bar;

// The ISR acknowledges the device so INTA# drops (edu.rst "IRQ controller").
static void on_edu(u32 vector, u32 cpu) {
  (void)vector;
  (void)cpu;
  mmio_write32(edu_bar + EDU_INTR_ACK, mmio_read32(edu_bar + EDU_INTR_STATUS));
}

void ap_main(u32 cpu) {
  (void)cpu;
  for (;;) wait_for_interrupt();
}

static int raise_and_wait(u32 cpu) {
  const u32 before = irq_count[cpu][VEC];
  mmio_write32(edu_bar + EDU_INTR_RAISE, 1);
  for (u32 i = 0; i < 200000; ++i) {
    if (irq_count[cpu][VEC] != before) return 1;
    sti();
    cpu_relax();
  }
  return 0;
}

int main(void) {
  if (machine_cpus() < 2) { puts("ioapic-migrate: needs --smp 2\n"); return 0x20; }
  // Find edu by a bus-0 scan, as an OS does.
  u32 devfn = 0;
  while (devfn < 256 && pci_read32(devfn, 0) != 0x11E81234u) ++devfn;
  if (devfn == 256) { puts("ioapic-migrate: no edu device\n"); return 0x21; }
  edu_bar = pci_read32(devfn, 0x10) & ~0xFu;
  const u32 line = pci_read32(devfn, 0x3C) & 0xFF;
  puts("edu at devfn ");
  puthex(devfn);
  puts(", BAR0 ");
  puthex(edu_bar);
  puts(", INTx on I/O APIC pin ");
  putdec(line);
  puts("\n");

  irq_register(VEC, on_edu);
  const int rc = vtd_enable_ir();
  if (rc) return rc;
  // SVT=00: no source-ID check. On this machine (as on QEMU) I/O APIC messages carry no
  // requester ID; with a verified I/O APIC source ID an IRTE would name that ID instead.
  irte_write16(HANDLE, irte_low(0, VEC), 0);
  vtd_iec_index(HANDLE, 0);

  // Redirection entry, remappable format: vector, edge, unmasked, IF=1, handle.
  const u32 lo = VEC | (((HANDLE >> 15) & 1u) << 11);
  const u32 hi = (1u << 16) | ((HANDLE & 0x7FFFu) << 17);  // bit 48 IF, 63:49 handle[14:0]
  ioapic_write(0x10 + 2 * line, lo);
  ioapic_write(0x11 + 2 * line, hi);
  wake_ap(1);
  sti();

  if (!raise_and_wait(0)) { puts("no interrupt on cpu0\n"); return 0x22; }
  puts("ioapic-migrate: pin ");
  putdec(line);
  puts(" -> IRTE 5 -> cpu0\n");

  // Migrate: the IRTE only, then the IEC entry for it.
  irte_write16(HANDLE, irte_low(1, VEC), 0);
  vtd_iec_index(HANDLE, 0);
  if (!raise_and_wait(1)) { puts("no interrupt on cpu1\n"); return 0x23; }
  if (ioapic_read(0x10 + 2 * line) != lo || ioapic_read(0x11 + 2 * line) != hi) {
    puts("redirection entry changed\n");
    return 0x24;
  }
  puts("ioapic-migrate: IRTE 5 rewritten, redirection entry untouched -> cpu1\n");
  puts("ioapic-migrate: ok\n");
  return 0;
}
