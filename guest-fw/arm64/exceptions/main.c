// Synchronous exceptions seen from the guest (Arm ARM D1.10): each case prints the vector
// offset, ESR_EL1, ELR_EL1 (as a label: the faulting instruction, or +4 after it), SPSR_EL1
// and, for aborts, FAR_EL1. Runs unchanged on qemu-system-aarch64 -M virt.
#include "fw.h"

struct frame {
  u64 vector, esr, elr, spsr, far, x30;
};

extern char exc_vectors[], el0_exit[], el0_code[];
extern char svc_el1_insn[], udf_el1_insn[], svc_el1t_insn[], svc_el0_insn[], udf_el0_insn[], hvc_el0_insn[];
extern char ldr_insn[], bkpt_insn[];
u64 do_bkpt(u64 x);
extern char str_insn[];
extern char svc_exit_insn[];
void do_str(u64 address);
void do_svc_el1(void);
void do_udf_el1(void);
void do_svc_el1t(void);
void do_blr(u64 target);
u64 do_ldr(u64 address);
void run_el0(u64 stack);

#define MAX_SEEN 8
static struct frame seen[MAX_SEEN];
static unsigned nseen;

// Page tables for the MMU case: 4 KB granule, T0SZ = 25 (39-bit VA, walk starts at level 1).
static u64 l1_table[512] __attribute__((aligned(4096)));
static u64 ram_l2[512] __attribute__((aligned(4096)));  // RAM's first 1 GB in 2 MB blocks
static u64 el0_stack[512] __attribute__((aligned(16)));

#define EC(esr) ((u32)((esr) >> 26))
#define EC_UNKNOWN 0x00
#define EC_SVC64 0x15
#define EC_IABT_LOW 0x20
#define EC_IABT_CUR 0x21
#define EC_DABT_LOW 0x24
#define EC_DABT_CUR 0x25
#define EC_BKPT_CUR 0x31
#define SPSR_D (1ul << 9)

void exc_handler(struct frame *f) {
  if (nseen < MAX_SEEN) seen[nseen++] = *f;
  u32 ec = EC(f->esr);
  if (ec == EC_SVC64 && (f->esr & 0xffff) == 0xff && f->vector == 0x400) {
    f->elr = (u64)el0_exit;  // leave EL0: back to run_el0's caller at EL1h, DAIF masked
    f->spsr = 0x3c5;
  } else if (ec == EC_UNKNOWN || ec == EC_DABT_CUR || ec == EC_DABT_LOW) {
    f->elr += 4;  // skip the faulting instruction
  } else if (ec == EC_IABT_CUR || ec == EC_IABT_LOW) {
    f->elr = f->x30;  // return from the blr that jumped there
  } else if (ec == EC_BKPT_CUR) {
    f->spsr |= SPSR_D;  // return to the instruction with debug exceptions masked: it runs
  }
}

static void put_label(u64 pc) {
  static const struct {
    const char *name;
    const char *at;
  } labels[] = {{"svc_el1", svc_el1_insn}, {"udf_el1", udf_el1_insn}, {"svc_el1t", svc_el1t_insn},
                {"svc_el0", svc_el0_insn}, {"udf_el0", udf_el0_insn}, {"hvc_el0", hvc_el0_insn},
                {"ldr", ldr_insn}, {"str", str_insn}, {"svc_exit", svc_exit_insn},
                {"bkpt", bkpt_insn}};
  const unsigned n = sizeof labels / sizeof labels[0];
  // Exact matches first: one instruction's +4 is the next one's label.
  for (unsigned i = 0; i < n; ++i)
    if (pc == (u64)labels[i].at) { puts(labels[i].name); return; }
  for (unsigned i = 0; i < n; ++i)
    if (pc == (u64)labels[i].at + 4) { puts(labels[i].name); puts("+4"); return; }
  puthex(pc);
}

static void report(const char *name) {
  for (unsigned i = 0; i < nseen; ++i) {
    struct frame *f = &seen[i];
    u32 ec = EC(f->esr);
    puts(name);
    puts(": vector ");
    puthex(f->vector);
    puts(" ESR ");
    puthex(f->esr);
    puts(" ELR ");
    put_label(f->elr);
    puts(" SPSR ");
    puthex(f->spsr);
    if (ec == EC_IABT_CUR || ec == EC_IABT_LOW || ec == EC_DABT_CUR || ec == EC_DABT_LOW) {
      puts(" FAR ");
      puthex(f->far);
    }
    puts("\n");
  }
  nseen = 0;
}

#define VA_UNBACKED 0x4000000000ul  // L1 index 256 -> PA 0x1_0000_0000 (nothing there)
#define VA_UNMAPPED 0x4040000000ul  // L1 index 257: invalid descriptor
#define PA_UNBACKED 0x100000000ul
#define VA_RAM_ALIAS 0x4080000000ul   // L1 index 258 -> RAM at 0x4000_0000
#define VA_DEV_ALIAS 0x40C0000000ul   // L1 index 259 -> devices at 0 (the PL011 at +0x0900_0000)
#define VA_RAM_RO 0x4100000000ul      // L1 index 260 -> RAM, read-only (AP[2] = 1)
#define VA_RAM_NOAF 0x4140000000ul    // L1 index 261 -> RAM with AF = 0
#define VA_RAM_HOLE 0x47000000ul      // inside RAM's 128 MiB, mapped onto PA_UNBACKED

// Runs at the RAM alias: PSCI_VERSION over HVC, then ICC_PMR_EL1 written and read back.
__attribute__((noinline)) static u64 alias_code(void) {
  u64 version = (u64)psci(0x84000000ul, 0, 0, 0);
  asm volatile("msr S3_0_C4_C6_0, %0; isb" ::"r"(0xf0ul));
  u64 pmr;
  asm volatile("mrs %0, S3_0_C4_C6_0" : "=r"(pmr));
  return (version << 8) | (pmr & 0xff);
}

static void mmu_on(void) {
  // Block descriptors (Arm ARM D8.3): AF, SH = inner, AttrIndx 1 = normal; 0 = device.
  const u64 block = 1, af = 1ul << 10, sh = 3ul << 8, normal = 1ul << 2;
  l1_table[0] = 0x00000000ul | af | block;              // devices (UART) identity
  // RAM identity in 2 MB blocks, but for VA_RAM_HOLE: an address inside RAM's own range
  // that the tables send to a physical address with nothing behind it.
  for (unsigned i = 0; i < 512; ++i) ram_l2[i] = (0x40000000ul + (u64)i * 0x200000) | af | sh | normal | block;
  ram_l2[(VA_RAM_HOLE - 0x40000000ul) >> 21] = PA_UNBACKED | af | sh | normal | block;
  l1_table[1] = (u64)ram_l2 | 3;  // table descriptor
  l1_table[256] = PA_UNBACKED | af | sh | normal | block;
  l1_table[258] = 0x40000000ul | af | sh | normal | block;  // RAM again, at another VA
  l1_table[259] = 0x00000000ul | af | block;                // devices again, at another VA
  l1_table[260] = 0x40000000ul | af | sh | normal | (1ul << 7) | block;  // AP[2]: read-only
  l1_table[261] = 0x40000000ul | sh | normal | block;                   // AF = 0
  asm volatile("msr mair_el1, %0" ::"r"(0xff00ul));
  asm volatile("msr tcr_el1, %0" ::"r"(25ul | (1ul << 23) | (2ul << 32)));  // T0SZ 25, EPD1, IPS 40 bits
  asm volatile("msr ttbr0_el1, %0; isb" ::"r"((u64)l1_table));
  u64 sctlr;
  asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
  asm volatile("tlbi vmalle1; dsb sy; msr sctlr_el1, %0; isb" ::"r"(sctlr | 1) : "memory");
}

static void mmu_off(void) {
  u64 sctlr;
  asm volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
  asm volatile("msr sctlr_el1, %0; isb" ::"r"(sctlr & ~1ul) : "memory");
}

// Whether what was taken is an external abort, reported either way the architecture
// allows: a synchronous data abort at the load (EC 0x25, FSC 0x10) or an SError interrupt
// (EC 0x2F) taken later.
static void report_external(const char *name) {
  for (unsigned i = 0; i < nseen; ++i) {
    const u32 ec = EC(seen[i].esr);
    const int sync = ec == EC_DABT_CUR && (seen[i].esr & 0x3f) == 0x10 && seen[i].elr == (u64)ldr_insn;
    puts(name);
    puts(sync || ec == 0x2f ? ": external abort\n" : ": not an external abort\n");
  }
  nseen = 0;
}

int main(void) {
  asm volatile("msr vbar_el1, %0; isb" ::"r"((u64)exc_vectors));
  do_svc_el1();
  report("svc el1h");
  do_udf_el1();
  report("undef el1h");
  do_svc_el1t();
  report("svc el1t");
  run_el0((u64)&el0_stack[512]);
  report("el0");
  // Hardware breakpoint 0 (Arm ARM D2.9, D13.3): DBGBVR0 = the instruction, DBGBCR0 = E,
  // PMC 0b01 (EL1), BAS 0b1111; MDSCR_EL1.MDE and KDE, PSTATE.D clear. Taken before the
  // instruction (EC 0x31, IFSC 0x22), which then runs once when the handler returns
  // with SPSR.D set.
  asm volatile("msr dbgbvr0_el1, %0; msr dbgbcr0_el1, %1; msr mdscr_el1, %2; isb; msr daifclr, #8; isb"
               ::"r"((u64)bkpt_insn), "r"(0x1e3ul), "r"((1ul << 15) | (1ul << 13)));
  const u64 bk = do_bkpt(41);
  report("hw breakpoint");
  asm volatile("msr daifset, #8; msr dbgbcr0_el1, xzr; msr mdscr_el1, xzr; isb");
  puts(bk == 42 ? "hw breakpoint: the instruction ran once\n" : "hw breakpoint: wrong result\n");
  (void)do_bkpt(0);  // disabled: nothing taken
  report("hw breakpoint disabled");
  do_ldr(PA_UNBACKED);
  report("dabt mmu-off");
  mmu_on();
  do_blr(VA_UNBACKED);
  report("pabt mmu-on");
  do_ldr(VA_UNBACKED + 8);
  report("dabt mmu-on");
  do_ldr(VA_UNMAPPED + 0x10);
  report("dabt unmapped");
  // A VA inside RAM's own range mapped onto nothing: an external abort. The architecture
  // lets an implementation report it synchronously (QEMU: a data abort at the load) or
  // asynchronously (irqremap without an instruction trace: an SError interrupt once
  // PSTATE.A allows), so SErrors are unmasked around the load and either counts.
  __asm__ volatile("msr daifclr, #4; isb" ::: "memory");
  do_ldr(VA_RAM_HOLE + 8);
  __asm__ volatile("isb; msr daifset, #4; isb" ::: "memory");
  report_external("dabt ram va onto nothing");
  do_blr(VA_RAM_HOLE);
  report("pabt ram va onto nothing");
  // The same RAM and the same UART through virtual addresses that differ from their
  // physical ones: a store through one name is seen through the other.
  static volatile u64 cell;
  volatile u64 *alias = (volatile u64 *)((u64)&cell - 0x40000000ul + VA_RAM_ALIAS);
  cell = 0x1111;
  *alias = *alias + 0x2222;
  puts(cell == 0x3333 ? "alias ram: ok\n" : "alias ram: wrong\n");
  *(volatile u32 *)(VA_DEV_ALIAS + UART_BASE) = 'A';
  puts("lias uart: ok\n");
  // Code at a VA other than its PA: HVC (PSCI) and MRS/MSR of a GIC register from there.
  u64 (*through_alias)(void) = (u64(*)(void))((u64)&alias_code - 0x40000000ul + VA_RAM_ALIAS);
  u64 r = through_alias();
  puts("alias code: psci version ");
  puthex(r >> 8);
  puts(", pmr ");
  puthex(r & 0xff);
  puts("\n");
  // Faults on mappings that exist: a store through a read-only one (permission fault,
  // level 1, WnR = 1) and a load through one with AF = 0 (access flag fault, level 1).
  (void)*(volatile u64 *)(VA_RAM_RO + 0x100);  // readable: no fault
  do_str(VA_RAM_RO + 0x100);
  report("dabt permission");
  do_ldr(VA_RAM_NOAF + 0x200);
  report("dabt access flag");
  mmu_off();
  puts("done\n");
  return 0;
}
