// Virtual addresses that differ from their physical ones, in the numbers an OS uses them:
// what Linux does with TTBR1 (the kernel's linear map and vmalloc space), TTBR0 (one user
// address space per process, told apart by ASID) and TLB maintenance after a remap (Arm ARM
// D8.2 "Translation process", D8.13 "TLB maintenance"). Prints one line per check; runs
// unchanged on qemu-system-aarch64 -M virt, whose output the test suite compares.
#include "fw.h"
#include "mmu.h"


#define KVA_BASE 0xffff000000000000ul  // TTBR1: L0 index 0 of the upper range
#define KVA_PAGES 0xffff000000000000ul  // L1[0]: the 100,000 pages (L2 -> L3 tables)
#define KVA_RAM 0xffff000040000000ul    // L1[1]: RAM, 1 GB block (code runs here too)
#define KVA_DEV 0xffff000080000000ul    // L1[2]: devices at PA 0, 1 GB block
#define USER_VA 0x0000001000000000ul    // TTBR0 L1[64]: a hole in the physical map

#define NPAGES 100000u
#define NDATA 256u                         // physical data pages behind the 100,000
#define L3_TABLES ((NPAGES + 511) / 512)  // 196

typedef u64 table_t[512] __attribute__((aligned(4096)));

static table_t k_l0, k_l1, k_l2, k_l3[L3_TABLES];
static table_t u_l0[2], u_l1[2], u_l2[2], u_l3[2];
static u64 data[NDATA][512] __attribute__((aligned(4096)));
static u64 user_page[4][512] __attribute__((aligned(4096)));

static void tlbi_all(void) { __asm__ volatile("dsb ishst; tlbi vmalle1is; dsb ish; isb" ::: "memory"); }

static void build_tables(void) {
  k_l0[0] = (u64)k_l1 | DESC_TABLE;
  k_l1[0] = (u64)k_l2 | DESC_TABLE;
  k_l1[1] = 0x40000000ul | AF | SH | NORMAL | DESC_BLOCK;
  k_l1[2] = 0x00000000ul | AF | DEVICE | DESC_BLOCK;
  for (unsigned t = 0; t < L3_TABLES; ++t) k_l2[t] = (u64)k_l3[t] | DESC_TABLE;
  for (unsigned n = 0; n < NPAGES; ++n) k_l3[n / 512][n % 512] = (u64)data[n % NDATA] | AF | SH | NORMAL | DESC_PAGE;
  // Two user address spaces: the same identity map of devices and RAM (the code and the
  // stack run there) and, at USER_VA, a page of their own; USER_VA + 4 KB is remapped
  // later in the first one.
  for (unsigned s = 0; s < 2; ++s) {
    u_l0[s][0] = (u64)u_l1[s] | DESC_TABLE;
    u_l1[s][0] = 0x00000000ul | AF | DEVICE | DESC_BLOCK;
    u_l1[s][1] = 0x40000000ul | AF | SH | NORMAL | DESC_BLOCK;
    u_l1[s][USER_VA >> 30] = (u64)u_l2[s] | DESC_TABLE;
    u_l2[s][0] = (u64)u_l3[s] | DESC_TABLE;
    u_l3[s][0] = (u64)user_page[s] | AF | SH | NORMAL | AP_EL0 | DESC_PAGE;
  }
  u_l3[0][1] = (u64)user_page[2] | AF | SH | NORMAL | AP_EL0 | DESC_PAGE;
}

static u64 ttbr0(unsigned space) { return (u64)u_l0[space] | ((u64)(space + 1) << 48); }  // ASID 1 or 2

static void mmu_on(void) {
  write_sysreg(0xff00ul, mair_el1);
  write_sysreg(TCR_T0SZ(16) | TCR_T1SZ(16) | TCR_TG1_4K | TCR_IPS_40 | TCR_SH_INNER | TCR_WBWA, tcr_el1);
  write_sysreg(ttbr0(0), ttbr0_el1);
  write_sysreg((u64)k_l0, ttbr1_el1);
  isb();
  tlbi_all();
  write_sysreg(read_sysreg(sctlr_el1) | 1, sctlr_el1);
  isb();
}

static void mmu_off(void) {
  write_sysreg(read_sysreg(sctlr_el1) & ~1ul, sctlr_el1);
  isb();
}

static u64 ldtr(u64 va) {
  u64 v;
  __asm__ volatile("ldtr %0, [%1]" : "=r"(v) : "r"(va) : "memory");
  return v;
}

// Runs at KVA_RAM: returns its own PC's distance from its linked address.
__attribute__((noinline)) static u64 where_am_i(void) {
  u64 pc;
  __asm__ volatile("adr %0, ." : "=r"(pc));
  return pc;
}

static void check(const char *what, int ok) {
  puts(what);
  puts(ok ? ": ok\n" : ": WRONG\n");
}

int main(void) {
  build_tables();
  user_page[0][0] = 0xaaaa;
  user_page[1][0] = 0xbbbb;
  user_page[2][0] = 0xcccc;
  user_page[3][0] = 0xdddd;
  mmu_on();

  // 1. Every page through its own kernel VA: a store, then a load of what the identity
  //    map sees, 100,000 translations that each end in RAM.
  for (unsigned n = 0; n < NPAGES; ++n) *(volatile u64 *)(KVA_PAGES + (u64)n * 4096 + (n / NDATA) * 8) = 0x5a000000ul + n;
  unsigned wrong = 0;
  for (unsigned n = 0; n < NPAGES; ++n) {
    if (data[n % NDATA][n / NDATA] != 0x5a000000ul + n) ++wrong;
    if (*(volatile u64 *)(KVA_PAGES + (u64)n * 4096 + (n / NDATA) * 8) != 0x5a000000ul + n) ++wrong;
  }
  puts("pages: ");
  puthex(NPAGES);
  puts(" TTBR1 pages, wrong ");
  puthex(wrong);
  puts("\n");

  // 2. One user VA, two address spaces: TTBR0 switched with its ASID, no TLB maintenance
  //    (the ASIDs tell the entries apart, Arm ARM D8.14), then back.
  u64 a = *(volatile u64 *)USER_VA;
  write_sysreg(ttbr0(1), ttbr0_el1);
  isb();
  u64 b = *(volatile u64 *)USER_VA;
  u64 b_unpriv = ldtr(USER_VA);
  write_sysreg(ttbr0(0), ttbr0_el1);
  isb();
  u64 a_again = ldtr(USER_VA);
  puts("ttbr0: ");
  puthex(a);
  puts(" ");
  puthex(b);
  puts(" ");
  puthex(b_unpriv);
  puts(" ");
  puthex(a_again);
  puts("\n");

  // 3. Remap a page, then invalidate its entry by VA and ASID (TLBI VAE1IS): the next
  //    load sees the new page.
  u64 before = *(volatile u64 *)(USER_VA + 4096);
  u_l3[0][1] = (u64)user_page[3] | AF | SH | NORMAL | AP_EL0 | DESC_PAGE;
  __asm__ volatile("dsb ishst; tlbi vae1is, %0; dsb ish; isb" ::"r"(((USER_VA + 4096) >> 12) | (1ul << 48)) : "memory");
  u64 after = *(volatile u64 *)(USER_VA + 4096);
  puts("remap: ");
  puthex(before);
  puts(" then ");
  puthex(after);
  puts("\n");

  // 4. Devices through a high VA: the GIC distributor's GICD_TYPER reads the same as at
  //    its PA, and the PL011 prints through its high VA.
  check("gicd through TTBR1", r32(KVA_DEV + GICD_BASE + 4) == r32(GICD_BASE + 4));
  const char *msg = "uart through TTBR1: ok\n";
  for (const char *p = msg; *p; ++p) {
    while (r32(KVA_DEV + UART_BASE + 0x18) & (1u << 5)) {
    }
    w32(KVA_DEV + UART_BASE, (u32)*p);
  }

  // 5. Code run from its high VA (the kernel's own text is there on Linux).
  u64 (*high)(void) = (u64(*)(void))((u64)&where_am_i - 0x40000000ul + KVA_RAM);
  check("code at TTBR1", high() == (u64)&where_am_i - 0x40000000ul + KVA_RAM);

  mmu_off();
  puts("done\n");
  return 0;
}
