// x86/vtd-enable: the Linux intel irq_remapping bring-up on its own: ECAP checks, the
// invalidation queue (IQA, QIE), IRTA + SIRTP, a global IEC invalidation with a wait
// descriptor and status write, IRE with CFI cleared; then a wait descriptor with IF=1
// whose invalidation completion event (IECTL/IEDATA/IEADDR) is taken on CPU 0. Needs no
// device.
#include "vtd.h"

static volatile u32 completions;
static void on_complete(u32 vector, u32 cpu) {
  (void)vector;
  (void)cpu;
  completions++;
  vtd_write32(VTD_ICS, 1);  // IWC, RW1C
}

int main(void) {
  irq_register(0xE1, on_complete);
  const int rc = vtd_enable_ir();
  if (rc) return rc;
  const u32 gsts = vtd_read32(VTD_GSTS);
  puts("vtd-enable: GSTS=");
  puthex(gsts);
  puts((gsts & VTD_GCMD_IRE) ? " IRES=1" : " IRES=0");
  puts((gsts & VTD_GCMD_QIE) ? " QIES=1" : " QIES=0");
  puts((gsts & VTD_GCMD_SIRTP) ? " IRTPS=1" : " IRTPS=0");
  puts((gsts & VTD_GCMD_CFI) ? " CFIS=1\n" : " CFIS=0\n");
  if (!(gsts & VTD_GCMD_IRE) || (gsts & VTD_GCMD_CFI)) return 0x11;
  vtd_write32(VTD_IEDATA, 0xE1);
  vtd_write32(VTD_IEADDR, 0xFEE00000u);  // compatibility format, APIC 0
  vtd_write32(VTD_IECTL, 0);             // unmask
  sti();
  vtd_wait_interrupt();
  for (u32 i = 0; i < 10000 && !completions; ++i) cpu_relax();
  puts(completions ? "invalidation completion event taken on cpu0\n" : "no completion event\n");
  return completions == 1 ? 0 : 0x12;
}
