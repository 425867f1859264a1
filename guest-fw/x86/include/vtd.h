/* VT-d interrupt remapping, driven the way Linux's intel irq_remapping does it
 * (drivers/iommu/intel/irq_remapping.c, dmar.c). Register offsets and bits: Intel VT-d
 * spec §11.4; invalidation descriptors: §6.5.2. */
#ifndef IRQREMAP_FW_X86_VTD_H
#define IRQREMAP_FW_X86_VTD_H

#include "fw.h"

#define VTD_CAP    0x08
#define VTD_ECAP   0x10
#define VTD_GCMD   0x18
#define VTD_GSTS   0x1C
#define VTD_FSTS   0x34
#define VTD_FECTL  0x38
#define VTD_FEDATA 0x3C
#define VTD_FEADDR 0x40
#define VTD_IQH    0x80
#define VTD_IQT    0x88
#define VTD_IQA    0x90
#define VTD_ICS    0x9C
#define VTD_IECTL  0xA0
#define VTD_IEDATA 0xA4
#define VTD_IEADDR 0xA8
#define VTD_IRTA   0xB8

/* GCMD / GSTS bits (§11.4.4). */
#define VTD_GCMD_QIE   (1u << 26)
#define VTD_GCMD_IRE   (1u << 25)
#define VTD_GCMD_SIRTP (1u << 24)
#define VTD_GCMD_CFI   (1u << 23)
#define VTD_GSTS_ONESHOT_MASK 0x96FFFFFFu  /* clears SRTP, SFL, WBF, SIRTP */

#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_IQE (1u << 4)

/* IRTE, remapped format (§9.9). */
#define IRTE_P        (1ul << 0)
#define IRTE_FPD      (1ul << 1)
#define IRTE_VECTOR(v) ((u64)(v) << 16)
#define IRTE_DST_XAPIC(id) ((u64)(id) << 40)  /* EIME=0: APIC ID in DST[15:8] */
#define IRTE_SVT_VERIFY (1ul << 18)           /* high word: SVT=01, SQ=00 */

struct irte { u64 lo, hi; } __attribute__((aligned(16)));

#define VTD_IRT_ENTRIES 256  /* IRTA.S = 7 */
extern struct irte vtd_irt[VTD_IRT_ENTRIES];

/* Enable interrupt remapping: IRT, IRTA + SIRTP, invalidation queue + QIE, global IEC
 * invalidation, IRE with CFI cleared. Returns 0 or a failure code. */
int vtd_enable_ir(void);
/* Remappable-format MSI address for IRTE handle `handle` with SHV=1 (§5.1.2.2). */
static inline u32 vtd_msi_address(u32 handle) {
  return 0xFEE00000u | ((handle & 0x7FFF) << 5) | (1u << 4) | (1u << 3) | (((handle >> 15) & 1) << 2);
}
/* IRTE helpers. */
u64 irte_low(u32 apic_id, u8 vector);
u64 irte_high_for(u16 rid);
/* Atomic 128-bit IRTE update (LOCK CMPXCHG16B), as Linux modify_irte with cx16. */
void irte_write16(u32 index, u64 lo, u64 hi);
/* Only the low half changes: one 64-bit store (Linux's non-cx16 path writes low, then
 * high; high is unchanged here). */
void irte_write_low(u32 index, u64 lo);
/* Queued invalidation, each followed by an Invalidation Wait with status write that is
 * polled to completion (Linux qi_submit_sync). */
void vtd_iec_global(void);
void vtd_iec_index(u32 index, u32 im);
/* A wait descriptor with IF=1 (completion interrupt through IECTL/IEDATA/IEADDR), no SW. */
void vtd_wait_interrupt(void);
u32 vtd_read32(u32 off);
u64 vtd_read64(u32 off);
void vtd_write32(u32 off, u32 v);
void vtd_write64(u32 off, u64 v);
/* Fault recording register 0 (at CAP.FRO * 16): high qword has F (bit 63), FR (39:32),
 * SID (15:0); low qword has FI (interrupt index) in 63:48. */
u64 vtd_frcd_hi(void);
u64 vtd_frcd_lo(void);
void vtd_frcd_clear(void);

#endif
