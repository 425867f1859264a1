// GICv3 + ITS driver pieces, in the order and encodings the Linux irq-gic-v3 and
// irq-gic-v3-its drivers use (Arm IHI0069 §5.3, §6.3,
// §12). Tables live in .bss (the MMU is off, so they are plain physical memory, zeroed by
// start.S). Only one CPU at a time issues ITS commands: callers hand that role over
// through single-writer mailboxes, never with exclusives.
#include "fw.h"

#define GICD_CTLR 0x0000
#define GICD_CTLR_RWP (1u << 31)
#define GICR_CTLR 0x0000
#define GICR_WAKER 0x0014
#define GICR_PROPBASER 0x0070
#define GICR_PENDBASER 0x0078
#define GITS_CTLR 0x0000
#define GITS_TYPER 0x0008
#define GITS_CBASER 0x0080
#define GITS_CWRITER 0x0088
#define GITS_CREADR 0x0090
#define GITS_BASER(n) (0x0100 + 8 * (n))

// LPI INTIDs 8192..16383: PROPBASER.IDbits = 13 (2^14 INTIDs).
#define LPI_ID_BITS 14
#define LPI_COUNT ((1u << LPI_ID_BITS) - LPI_BASE)

static u8 prop_table[LPI_COUNT] __attribute__((aligned(65536)));
// One pending table per CPU, 64 KiB aligned (PENDBASER bits 51:16), one bit per INTID.
static u8 pend_tables[MAX_CPUS][65536] __attribute__((aligned(65536)));
static u8 device_table[65536] __attribute__((aligned(65536)));
static u8 collection_table[65536] __attribute__((aligned(65536)));
static u64 cmd_queue[4096 / 8] __attribute__((aligned(65536)));
// ITTs, 256-byte aligned (MAPD ITT_addr bits 51:8): 32 events of up to 16 bytes each.
static u8 itts[4][512] __attribute__((aligned(256)));
static unsigned itt_next;
static u64 cwriter;

void gic_dist_init(void) {
  // DS=1 on QEMU virt without EL3: bit 4 ARE, bit 1 EnableGrp1 (IHI0069 §12.9.4).
  w32(GICD_BASE + GICD_CTLR, (1u << 4) | (1u << 1));
  while (r32(GICD_BASE + GICD_CTLR) & GICD_CTLR_RWP) {
  }
}

void lpi_config(u32 intid, int enable) {
  // Configuration byte (§5.1.1): priority 7:2, bit 1 RES1 (Group 1 in Linux's naming), 0 enable.
  prop_table[intid - LPI_BASE] = (u8)(LPI_PRIO | (1u << 1) | (enable ? 1u : 0u));
  dsb();
}

void gic_redist_init(unsigned ncpus) {
  for (unsigned c = 0; c < ncpus; ++c) {
    u64 rd = GICR_BASE + c * GICR_STRIDE;
    // ProcessorSleep=0, then wait for ChildrenAsleep=0 (§12.11.43).
    w32(rd + GICR_WAKER, r32(rd + GICR_WAKER) & ~(1u << 1));
    while (r32(rd + GICR_WAKER) & (1u << 2)) {
    }
    // PROPBASER: PA | InnerCache WB (7 << 7) | Inner Shareable (1 << 10) | IDbits - 1.
    w64(rd + GICR_PROPBASER, (u64)prop_table | (7ul << 7) | (1ul << 10) | (LPI_ID_BITS - 1));
    // PENDBASER: PA | InnerCache WB | Inner Shareable | PTZ (the table is zero).
    w64(rd + GICR_PENDBASER, (u64)pend_tables[c] | (7ul << 7) | (1ul << 10) | (1ul << 62));
    dsb();
    w32(rd + GICR_CTLR, r32(rd + GICR_CTLR) | 1u);  // EnableLPIs
  }
}

void gic_cpu_init(void) {
  write_sysreg(read_sysreg(ICC_SRE_EL1) | 1, ICC_SRE_EL1);
  isb();
  write_sysreg(0xf0, ICC_PMR_EL1);
  write_sysreg(0, ICC_BPR1_EL1);
  write_sysreg(0, ICC_CTLR_EL1);  // EOImode 0
  write_sysreg(1, ICC_IGRPEN1_EL1);
  isb();
}

// GITS_BASER<n> for a flat table of one 64 KiB page (Page_Size 2 = 64 KiB, Size 0).
static void its_baser(unsigned n, void *table) {
  u64 reg = r64(GITS_BASE + GITS_BASER(n));
  u64 type = (reg >> 56) & 7;
  if (type == 0) return;  // unimplemented
  u64 keep = reg & ((7ul << 56) | (0x1ful << 48));  // Type, Entry_Size (read-only)
  w64(GITS_BASE + GITS_BASER(n),
      (1ul << 63) | keep | (7ul << 59) | (u64)table | (1ul << 10) | (2ul << 8) | 0);
}

void its_init(void) {
  for (unsigned n = 0; n < 8; ++n) {
    u64 type = (r64(GITS_BASE + GITS_BASER(n)) >> 56) & 7;
    if (type == 1) its_baser(n, device_table);
    else if (type == 4) its_baser(n, collection_table);
  }
  // CBASER: Valid | InnerCache WB | PA | Inner Shareable | Size 0 (one 4 KiB page).
  w64(GITS_BASE + GITS_CBASER, (1ul << 63) | (7ul << 59) | (u64)cmd_queue | (1ul << 10) | 0);
  cwriter = 0;
  w64(GITS_BASE + GITS_CWRITER, 0);
  dsb();
  w32(GITS_BASE + GITS_CTLR, r32(GITS_BASE + GITS_CTLR) | 1u);  // Enabled
}

// One 32-byte command at CWRITER, then wait until CREADR catches up (the command ran).
static void its_send(u64 d0, u64 d1, u64 d2, u64 d3) {
  volatile u64 *slot = &cmd_queue[cwriter / 8];
  slot[0] = d0;
  slot[1] = d1;
  slot[2] = d2;
  slot[3] = d3;
  cwriter = (cwriter + 32) % sizeof cmd_queue;
  dsb();
  w64(GITS_BASE + GITS_CWRITER, cwriter);
  while ((r64(GITS_BASE + GITS_CREADR) & 0xfffe0ul) != cwriter) {
  }
}

// RDbase with GITS_TYPER.PTA = 0: the target's processor number, in bits 51:16.
static u64 rdbase(u32 cpu) { return (u64)cpu << 16; }

void its_mapc(u32 icid, u32 cpu) { its_send(0x09, 0, (1ul << 63) | rdbase(cpu) | icid, 0); }

void its_mapd(u32 devid, u32 nevents_log2) {
  u8 *itt = itts[itt_next++ % 4];
  its_send(0x08 | ((u64)devid << 32), nevents_log2 - 1, (1ul << 63) | (u64)itt, 0);
}

void its_mapti(u32 devid, u32 event, u32 intid, u32 icid) {
  its_send(0x0a | ((u64)devid << 32), event | ((u64)intid << 32), icid, 0);
}

void its_movi(u32 devid, u32 event, u32 icid) { its_send(0x01 | ((u64)devid << 32), event, icid, 0); }

void its_movall(u32 from_cpu, u32 to_cpu) { its_send(0x0e, 0, rdbase(from_cpu), rdbase(to_cpu)); }

void its_sync(u32 cpu) { its_send(0x05, 0, rdbase(cpu), 0); }

void its_inv(u32 devid, u32 event) { its_send(0x0c | ((u64)devid << 32), event, 0, 0); }

void gic_sgi_ppi_init(unsigned cpu, u32 enable_mask) {
  u64 rd = GICR_BASE + cpu * GICR_STRIDE;
  u64 sgi = GICR_SGI_BASE(cpu);
  // ProcessorSleep=0, then wait for ChildrenAsleep=0 (§12.11.43).
  w32(rd + GICR_WAKER, r32(rd + GICR_WAKER) & ~(1u << 1));
  while (r32(rd + GICR_WAKER) & (1u << 2)) {
  }
  // Every SGI/PPI in Group 1 at the default priority 0xa0, as Linux's gic_cpu_config does.
  w32(sgi + GICR_IGROUPR0, ~0u);
  for (unsigned i = 0; i < 32; i += 4) w32(sgi + GICR_IPRIORITYR + i, 0xa0a0a0a0u);
  w32(sgi + GICR_ICENABLER0, ~enable_mask);
  w32(sgi + GICR_ISENABLER0, enable_mask);
  dsb();
}
