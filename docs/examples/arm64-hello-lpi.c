// The smallest AArch64 firmware that takes an interrupt from irqremap's device through the
// GICv3 ITS. Entered at EL1h with the MMU off and DAIF masked; CPU 0 only (the others stay
// off until PSCI CPU_ON). Tables are in .bss, which is RAM because the image links there.
typedef unsigned long u64;
typedef unsigned int u32;

#define UART 0x09000000ul          // PL011 UARTDR
#define GICD 0x08000000ul
#define GICR 0x080A0000ul          // CPU 0's redistributor
#define GITS 0x08080000ul
#define GITS_TRANSLATER (GITS + 0x10040)
#define DEV 0x0B000000ul           // irqremap's device, DeviceID 0x10
#define DEVICE_ID 0x10
#define EVENT 0
#define LPI 8192

static void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static u64 r64(u64 a) { return *(volatile u64 *)a; }
static void print(const char *s) { while (*s) w32(UART, (u32)*s++); }

static unsigned char prop[65536] __attribute__((aligned(65536)));  // LPI configuration
static unsigned char pend[65536] __attribute__((aligned(65536)));  // CPU 0's pending bits
static unsigned char tables[2][65536] __attribute__((aligned(65536)));
static u64 queue[512] __attribute__((aligned(65536)));
static unsigned char itt[256] __attribute__((aligned(256)));
static u64 cwriter;

// One ITS command, then wait until CREADR shows it ran.
static void its_cmd(u64 d0, u64 d1, u64 d2) {
  u64 *c = &queue[cwriter / 8];
  c[0] = d0, c[1] = d1, c[2] = d2, c[3] = 0;
  cwriter += 32;
  w64(GITS + 0x88, cwriter);  // GITS_CWRITER
  while (r64(GITS + 0x90) != cwriter) {  // GITS_CREADR
  }
}

void main(void) {
  w32(GICD, (1u << 4) | (1u << 1));                             // GICD_CTLR: ARE, EnableGrp1
  w32(GICR + 0x14, 0);                                          // GICR_WAKER: awake
  prop[LPI - 8192] = 0xa0 | 2 | 1;                              // priority 0xa0, enabled
  w64(GICR + 0x70, (u64)prop | 13);                             // PROPBASER, 14 ID bits
  w64(GICR + 0x78, (u64)pend);                                  // PENDBASER
  w32(GICR, 1);                                                 // GICR_CTLR.EnableLPIs
  __asm__ volatile("msr icc_sre_el1, %0; isb; msr icc_pmr_el1, %1; msr icc_igrpen1_el1, %2; isb"
                   :: "r"(1ul), "r"(0xf0ul), "r"(1ul));

  for (int n = 0; n < 8; ++n) {                                 // device and collection tables
    u64 baser = r64(GITS + 0x100 + 8 * n), type = (baser >> 56) & 7;
    if (type == 1 || type == 4)
      w64(GITS + 0x100 + 8 * n, (1ul << 63) | (baser & (0x1ful << 48)) | (type << 56) |
                                    (u64)tables[type == 4] | (2ul << 8));  // 64 KiB pages
  }
  w64(GITS + 0x80, (1ul << 63) | (u64)queue);                   // GITS_CBASER: one 4 KiB page
  w32(GITS, 1);                                                 // GITS_CTLR.Enabled
  its_cmd(0x08 | ((u64)DEVICE_ID << 32), 4 - 1, (1ul << 63) | (u64)itt);  // MAPD, 4 events
  its_cmd(0x09, 0, (1ul << 63) | 0);                            // MAPC ICID 0 -> CPU 0
  its_cmd(0x0a | ((u64)DEVICE_ID << 32), EVENT | ((u64)LPI << 32), 0);     // MAPTI
  its_cmd(0x05, 0, 0);                                          // SYNC CPU 0

  // The device's slot 0, written once: address = GITS_TRANSLATER, data = the EventID.
  w32(DEV + 0x100, (u32)GITS_TRANSLATER);
  w32(DEV + 0x104, 0);
  w32(DEV + 0x108, EVENT);
  w32(DEV + 0x10c, 0);                                          // ctrl: unmasked
  w32(DEV + 0x010, 0);                                          // TRIGGER slot 0

  u64 intid;
  do __asm__ volatile("mrs %0, icc_iar1_el1" : "=r"(intid));    // IRQs stay masked: poll
  while (intid == 1023);
  __asm__ volatile("msr icc_eoir1_el1, %0" :: "r"(intid));
  print(intid == LPI ? "hello-lpi: LPI 8192 from DeviceID 0x10\n" : "hello-lpi: wrong INTID\n");
  __asm__ volatile("mov x0, %0; hvc #0" :: "r"(0x84000008ul) : "x0");  // PSCI SYSTEM_OFF
}

// Entry: a stack below the image, then main. x0 (the device tree) is not needed here.
__asm__(".section .text.start, \"ax\"\n"
        ".global _start\n"
        "_start: ldr x1, =0x40080000\n mov sp, x1\n bl main\n 1: wfi\n b 1b\n");
