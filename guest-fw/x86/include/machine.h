/* The x86-64 irqremap machine as firmware sees it: the same addresses as
 * arch/x86/x86_map.h (a host test checks they agree). */
#ifndef IRQREMAP_FW_X86_MACHINE_H
#define IRQREMAP_FW_X86_MACHINE_H

#define MACHINE_DEVICE_BASE    0xFEB00000ul  /* common device, requester ID 00:03.0 */
#define MACHINE_DEVICE_RID     0x0018u
#define MACHINE_VTD_BASE       0xFED90000ul  /* DMAR unit, as on QEMU q35 */
#define MACHINE_IOAPIC_BASE    0xFEC00000ul  /* I/O APIC, 24 pins */
#define MACHINE_EDU_BAR0       0xFEA00000ul  /* QEMU edu at 00:01.0, as SeaBIOS places it */
#define MACHINE_EDU_RID        0x0008u
#define MACHINE_PCI_CONF       0x0CF8u       /* configuration mechanism #1 */
#define MACHINE_WAKEUP_MAILBOX 0xFEDF0000ul  /* ACPI 6.4 §5.2.12.19 mailbox */
#define MACHINE_LAPIC_BASE     0xFEE00000ul
#define MACHINE_DEBUG_EXIT     0x00F4u       /* isa-debug-exit: status (v << 1) | 1 */
#define MACHINE_PM1A_CNT       0x0604u       /* write 0x2000 (SLP_EN, S5): power off, status 0 */
#define MACHINE_COM1           0x03F8u
#define MACHINE_MAX_CPUS       8

#endif
