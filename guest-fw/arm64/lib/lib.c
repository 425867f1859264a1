// Freestanding support for the AArch64 stubs: PL011 output, PSCI, memset/memcpy.
#include "fw.h"

void *memset(void *d, int c, unsigned long n) {
  volatile u8 *p = d;  // volatile: keep clang from turning this loop into a memset call
  while (n--) *p++ = (u8)c;
  return d;
}

void *memcpy(void *d, const void *s, unsigned long n) {
  volatile u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

unsigned cpu_id(void) { return (unsigned)(read_sysreg(mpidr_el1) & 0xff); }

// PL011 (DDI0183 §3.3): wait while UARTFR.TXFF, then UARTDR.
void putc(char c) {
  while (r32(UART_BASE + 0x18) & (1u << 5)) {
  }
  w32(UART_BASE, (u8)c);
}

void puts(const char *s) {
  while (*s) putc(*s++);
}

void putdec(u64 v) {
  char buf[21];
  int i = 0;
  do {
    buf[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i) putc(buf[--i]);
}

void puthex(u64 v) {
  puts("0x");
  int started = 0;
  for (int s = 60; s >= 0; s -= 4) {
    unsigned d = (v >> s) & 0xf;
    if (d || started || s == 0) {
      putc("0123456789abcdef"[d]);
      started = 1;
    }
  }
}

// PSCI over HVC #0 (SMC Calling Convention: x0 function ID, x1..x3 arguments, x0 result).
long psci(u64 fn, u64 a1, u64 a2, u64 a3) {
  register u64 x0 __asm__("x0") = fn;
  register u64 x1 __asm__("x1") = a1;
  register u64 x2 __asm__("x2") = a2;
  register u64 x3 __asm__("x3") = a3;
  __asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
  return (long)x0;
}

void system_off(void) {
  psci(PSCI_SYSTEM_OFF, 0, 0, 0);
  for (;;) wfi();
}

void bad_exception(u64 esr, u64 elr) {
  puts("fw: unexpected exception ESR ");
  puthex(esr);
  puts(" at ");
  puthex(elr);
  puts("\n");
  system_off();
}

__attribute__((weak)) void handle_lpi(unsigned cpu, u32 intid) {
  (void)cpu;
  (void)intid;
}

// IRQ: acknowledge through ICC_IAR1_EL1 until it reads spurious (1020-1023), handing each
// INTID to the stub, then EOI it (EOImode 0: drop priority and deactivate).
void irq_handler(void) {
  unsigned cpu = cpu_id();
  for (;;) {
    u32 id = (u32)read_sysreg(ICC_IAR1_EL1) & 0xffffff;
    if (id >= 1020 && id <= 1023) break;
    handle_lpi(cpu, id);
    write_sysreg(id, ICC_EOIR1_EL1);
    isb();
  }
}
