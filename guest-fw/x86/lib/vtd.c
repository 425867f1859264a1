// VT-d interrupt remapping setup and invalidation, following Linux intel irq_remapping.
#include "vtd.h"

struct irte vtd_irt[VTD_IRT_ENTRIES] __attribute__((aligned(4096)));
struct qi_desc { u64 lo, hi; };
#define QI_ENTRIES 256  /* IQA.QS = 0: one 4 KiB page of 128-bit descriptors */
static struct qi_desc qi[QI_ENTRIES] __attribute__((aligned(4096)));
static u32 qi_tail;
static volatile u32 qi_lock;
static volatile u32 qi_status[MACHINE_MAX_CPUS] __attribute__((aligned(16)));
static u32 qi_seq;

u32 vtd_read32(u32 off) { return mmio_read32(MACHINE_VTD_BASE + off); }
void vtd_write32(u32 off, u32 v) { mmio_write32(MACHINE_VTD_BASE + off, v); }
// 64-bit registers as two 32-bit halves, low first (what Unicorn does to a 64-bit access
// anyway, and what the unit must accept).
u64 vtd_read64(u32 off) { return vtd_read32(off) | ((u64)vtd_read32(off + 4) << 32); }
void vtd_write64(u32 off, u64 v) {
  vtd_write32(off, (u32)v);
  vtd_write32(off + 4, (u32)(v >> 32));
}

// One GCMD command at a time (§11.4.4.1): status & one-shot mask, plus/minus one bit.
static void gcmd(u32 set, u32 clear, u32 wait_set, u32 wait_clear) {
  const u32 sts = vtd_read32(VTD_GSTS) & VTD_GSTS_ONESHOT_MASK;
  vtd_write32(VTD_GCMD, (sts | set) & ~clear);
  while ((vtd_read32(VTD_GSTS) & wait_set) != wait_set || (vtd_read32(VTD_GSTS) & wait_clear))
    cpu_relax();
}

static void lock(void) {
  while (__atomic_exchange_n(&qi_lock, 1, __ATOMIC_ACQUIRE)) cpu_relax();
}
static void unlock(void) { __atomic_store_n(&qi_lock, 0, __ATOMIC_RELEASE); }

static void qi_push(u64 lo, u64 hi) {
  qi[qi_tail].lo = lo;
  qi[qi_tail].hi = hi;
  qi_tail = (qi_tail + 1) % QI_ENTRIES;
}

// Submit `lo/hi` followed by a wait descriptor (SW=1, status data = sequence number) and
// poll the status word, as qi_submit_sync does.
static void qi_submit_sync(u64 lo, u64 hi) {
  lock();
  const u32 cpu = this_cpu();
  const u32 seq = ++qi_seq;
  qi_status[cpu] = 0;
  qi_push(lo, hi);
  qi_push(((u64)seq << 32) | (1u << 5) | 0x5, (u64)&qi_status[cpu]);  // Wait: SW, status addr
  barrier();
  vtd_write64(VTD_IQT, (u64)qi_tail << 4);
  while (qi_status[cpu] != seq) cpu_relax();
  unlock();
}

void vtd_iec_global(void) { qi_submit_sync(0x4, 0); }

void vtd_iec_index(u32 index, u32 im) {
  qi_submit_sync(((u64)index << 32) | ((u64)im << 27) | (1u << 4) | 0x4, 0);
}

void vtd_wait_interrupt(void) {
  lock();
  qi_push((1u << 4) | 0x5, 0);  // Wait: IF=1
  barrier();
  vtd_write64(VTD_IQT, (u64)qi_tail << 4);
  unlock();
}

int vtd_enable_ir(void) {
  const u64 ecap = vtd_read64(VTD_ECAP);
  if (!(ecap & (1u << 3)) || !(ecap & (1u << 1))) return 0x10;  // ECAP.IR and ECAP.QI
  memset(vtd_irt, 0, sizeof vtd_irt);
  // Queued invalidation first (dmar_enable_qi): IQT = 0, IQA, QIE.
  qi_tail = 0;
  vtd_write64(VTD_IQT, 0);
  vtd_write64(VTD_IQA, (u64)qi);  // QS = 0, DW = 0
  gcmd(VTD_GCMD_QIE, 0, VTD_GCMD_QIE, 0);
  // iommu_set_irq_remapping: IRTA (xAPIC, EIME=0, S=7: 256 entries), SIRTP, global IEC.
  vtd_write64(VTD_IRTA, (u64)vtd_irt | 7);
  gcmd(VTD_GCMD_SIRTP, 0, VTD_GCMD_SIRTP, 0);
  vtd_iec_global();
  // iommu_enable_irq_remapping: IRE, and compatibility-format interrupts blocked (CFI=0).
  gcmd(VTD_GCMD_IRE, VTD_GCMD_CFI, VTD_GCMD_IRE, VTD_GCMD_CFI);
  return 0;
}

u64 irte_low(u32 apic_id, u8 vector) {
  return IRTE_P | IRTE_VECTOR(vector) | IRTE_DST_XAPIC(apic_id);  // fixed, physical, edge
}

u64 irte_high_for(u16 rid) { return (u64)rid | IRTE_SVT_VERIFY; }

void irte_write16(u32 index, u64 lo, u64 hi) {
  struct irte *e = &vtd_irt[index];
  u64 old_lo = e->lo, old_hi = e->hi;
  u8 ok;
  do {
    __asm__ volatile("lock cmpxchg16b %1; sete %0"
                     : "=q"(ok), "+m"(*e), "+a"(old_lo), "+d"(old_hi)
                     : "b"(lo), "c"(hi)
                     : "memory", "cc");
  } while (!ok);
}

void irte_write_low(u32 index, u64 lo) {
  __atomic_store_n(&vtd_irt[index].lo, lo, __ATOMIC_RELEASE);
}

static u32 frcd_offset(void) { return (u32)((vtd_read64(VTD_CAP) >> 24) & 0x3FF) * 16; }
u64 vtd_frcd_lo(void) { return vtd_read64(frcd_offset()); }
u64 vtd_frcd_hi(void) { return vtd_read64(frcd_offset() + 8); }
void vtd_frcd_clear(void) {
  vtd_write32(frcd_offset() + 12, 1u << 31);  // F is RW1C
  vtd_write32(VTD_FSTS, VTD_FSTS_PPF);
}
