// AArch64 guest firmware support (guest-fw/arm64/lib): QEMU virt addresses, MMIO and
// system register access, PL011 output, PSCI over HVC, and the GICv3/ITS driver pieces
// the stubs share (gic.c), written the way the Linux GICv3 ITS driver does them.
#pragma once

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define MAX_CPUS 8

// QEMU virt memory map (hw/arm/virt.c).
#define GICD_BASE 0x08000000ul
#define GITS_BASE 0x08080000ul
#define GICR_BASE 0x080A0000ul
#define GICR_STRIDE 0x20000ul
#define UART_BASE 0x09000000ul
#define GITS_TRANSLATER (GITS_BASE + 0x10040ul)

static inline void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u32 r32(u64 a) { return *(volatile u32 *)a; }
static inline void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u64 r64(u64 a) { return *(volatile u64 *)a; }

#define dsb() __asm__ volatile("dsb sy" ::: "memory")
#define isb() __asm__ volatile("isb" ::: "memory")
#define wfi() __asm__ volatile("wfi" ::: "memory")
#define irq_enable() __asm__ volatile("msr daifclr, #2" ::: "memory")
#define irq_disable() __asm__ volatile("msr daifset, #2" ::: "memory")
#define read_sysreg(r) ({ u64 __v; __asm__ volatile("mrs %0, " #r : "=r"(__v)); __v; })
#define write_sysreg(v, r) __asm__ volatile("msr " #r ", %0" ::"r"((u64)(v)) : "memory")

// GICv3 CPU interface registers (IHI0069 §12.2), by encoding so any assembler takes them.
#define ICC_PMR_EL1 S3_0_C4_C6_0
#define ICC_IAR1_EL1 S3_0_C12_C12_0
#define ICC_EOIR1_EL1 S3_0_C12_C12_1
#define ICC_BPR1_EL1 S3_0_C12_C12_3
#define ICC_CTLR_EL1 S3_0_C12_C12_4
#define ICC_SRE_EL1 S3_0_C12_C12_5
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define ICC_HPPIR1_EL1 S3_0_C12_C12_2
#define ICC_DIR_EL1 S3_0_C12_C11_1
#define ICC_RPR_EL1 S3_0_C12_C11_3
#define ICC_SGI1R_EL1 S3_0_C12_C11_5
#define ICC_CTLR_EOIMODE (1u << 1)
// ICC_SGI1R_EL1 (IHI0069 §12.2): TargetList 15:0, Aff1 23:16, INTID 27:24, IRM 40.
#define SGI1R_TARGETS(list) ((u64)(list))
#define SGI1R_INTID(id) ((u64)(id) << 24)
#define SGI1R_IRM (1ul << 40)

// Redistributor SGI_base frame (64 KiB above RD_base; IHI0069 §12.10): SGI/PPI registers.
#define GICR_SGI_BASE(cpu) (GICR_BASE + (cpu) * GICR_STRIDE + 0x10000ul)
#define GICR_IGROUPR0 0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define GICR_ISPENDR0 0x0200
#define GICR_ICPENDR0 0x0280
#define GICR_ISACTIVER0 0x0300
#define GICR_ICACTIVER0 0x0380
#define GICR_IPRIORITYR 0x0400

// Generic timer (Arm ARM D13.8), by encoding: CNTV_* virtual, CNTP_* EL1 physical.
#define CNTFRQ_EL0 S3_3_C14_C0_0
#define CNTPCT_EL0 S3_3_C14_C0_1
#define CNTVCT_EL0 S3_3_C14_C0_2
#define CNTP_TVAL_EL0 S3_3_C14_C2_0
#define CNTP_CTL_EL0 S3_3_C14_C2_1
#define CNTP_CVAL_EL0 S3_3_C14_C2_2
#define CNTV_TVAL_EL0 S3_3_C14_C3_0
#define CNTV_CTL_EL0 S3_3_C14_C3_1
#define CNTV_CVAL_EL0 S3_3_C14_C3_2
#define CNT_CTL_ENABLE 1u
#define CNT_CTL_IMASK 2u
#define CNT_CTL_ISTATUS 4u
#define PPI_VTIMER 27u
#define PPI_PTIMER 30u

// lib.c
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
unsigned cpu_id(void);
void putc(char c);
void puts(const char *s);
void putdec(u64 v);
void puthex(u64 v);
long psci(u64 fn, u64 a1, u64 a2, u64 a3);
#define PSCI_CPU_OFF 0x84000002ul
#define PSCI_CPU_ON 0xC4000003ul
#define PSCI_AFFINITY_INFO 0xC4000004ul
#define PSCI_SYSTEM_OFF 0x84000008ul
// Timeline phase markers (arch/common/phase_marker.h): a named slice on this CPU's track in
// --trace-out/--trace-svg. SMCCC vendor hypervisor calls: QEMU answers NOT_SUPPORTED.
#define PHASE_BEGIN 0xC6000001ul
#define PHASE_END 0xC6000002ul
static inline void phase_begin(const char *name) { psci(PHASE_BEGIN, (u64)name, 0, 0); }
static inline void phase_end(void) { psci(PHASE_END, 0, 0, 0); }
__attribute__((noreturn)) void system_off(void);
void secondary_entry(void);  // start.S: CPU_ON entry point

// Hooks a stub provides (weak defaults in lib.c).
int main(void);
void secondary_main(unsigned cpu);
void handle_lpi(unsigned cpu, u32 intid);

// gic.c: GICv3 + ITS, as the Linux irq-gic-v3(-its) drivers set them up.
#define LPI_BASE 8192u
#define LPI_PRIO 0xa0u
void gic_dist_init(void);                 // GICD_CTLR: ARE + Group 1
void gic_redist_init(unsigned ncpus);     // LPI tables, EnableLPIs, wake every redistributor
void gic_cpu_init(void);                  // ICC_*: SRE, PMR, BPR1, IGRPEN1 (this CPU)
void its_init(void);                      // BASER tables, command queue, Enabled
void its_mapc(u32 icid, u32 cpu);
void its_mapd(u32 devid, u32 nevents_log2);
void its_mapti(u32 devid, u32 event, u32 intid, u32 icid);
void its_movi(u32 devid, u32 event, u32 icid);
void its_movall(u32 from_cpu, u32 to_cpu);
void its_sync(u32 cpu);
void its_inv(u32 devid, u32 event);
void lpi_config(u32 intid, int enable);   // configuration byte (priority, Group 1, enable)
void irq_handler(void);                   // start.S calls it for IRQs
void gic_sgi_ppi_init(unsigned cpu, u32 enable_mask);  // wake, Group 1, priority, enable
