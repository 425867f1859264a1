#include "arch/x86/cpuid_leaves.h"

namespace irqremap::x86 {

CpuidRegs machine_cpuid(uint32_t leaf, uint32_t subleaf, CpuidRegs r, uint32_t apic_id, bool apic_enabled,
                        const CpuFeatures& f) {
  switch (leaf) {
    case 1:
      r.ebx = (r.ebx & 0x00FF'FFFF) | (apic_id << 24);  // initial APIC ID (Table 3-8)
      if (f.x2apic) r.ecx |= kCpuid1EcxX2apic;
      if (f.tsc_deadline) r.ecx |= kCpuid1EcxTscDeadline;  // the APIC timer's TSC-deadline mode (§11.5.4.1)
      r.edx |= kCpuid1EdxModelled;
      if (!apic_enabled) r.edx &= ~kCpuid1EdxApic;  // §11.4.3: the flag follows IA32_APIC_BASE.EN
      break;
    case 7:
      if (subleaf == 0 && f.umip) r.ecx |= kCpuid7EcxUmip;
      break;
    case 0xB:
      r.edx = apic_id;  // x2APIC ID of the current logical processor
      break;
    case 0x8000'0001:
      r.edx |= kCpuid8000_0001EdxSyscall;  // the vCPU performs SYSCALL (x86_vcpu.h)
      break;
    default:
      break;
  }
  return r;
}

uint64_t cr4_reserved_bits(const CpuidRegs& l1, const CpuidRegs& l7) {
  struct Bit {
    unsigned cr4_bit;
    bool supported;
  };
  const Bit bits[] = {
      {0, (l1.edx >> 1 & 1) != 0},    // VME: CPUID.1:EDX.VME
      {1, (l1.edx >> 1 & 1) != 0},    // PVI: VME
      {2, (l1.edx >> 4 & 1) != 0},    // TSD: TSC
      {3, (l1.edx >> 2 & 1) != 0},    // DE
      {4, (l1.edx >> 3 & 1) != 0},    // PSE
      {5, (l1.edx >> 6 & 1) != 0},    // PAE
      {6, (l1.edx >> 7 & 1) != 0},    // MCE
      {7, (l1.edx >> 13 & 1) != 0},   // PGE
      {8, true},                      // PCE
      {9, (l1.edx >> 24 & 1) != 0},   // OSFXSR: FXSR
      {10, (l1.edx >> 25 & 1) != 0},  // OSXMMEXCPT: SSE
      {11, (l7.ecx >> 2 & 1) != 0},   // UMIP
      {12, (l7.ecx >> 16 & 1) != 0},  // LA57
      {13, (l1.ecx >> 5 & 1) != 0},   // VMXE: VMX
      {14, (l1.ecx >> 6 & 1) != 0},   // SMXE: SMX
      {16, (l7.ebx >> 0 & 1) != 0},   // FSGSBASE
      {17, (l1.ecx >> 17 & 1) != 0},  // PCIDE: PCID
      {18, (l1.ecx >> 26 & 1) != 0},  // OSXSAVE: XSAVE
      {19, (l7.ecx >> 23 & 1) != 0},  // KL
      {20, (l7.ebx >> 7 & 1) != 0},   // SMEP
      {21, (l7.ebx >> 20 & 1) != 0},  // SMAP
      {22, (l7.ecx >> 3 & 1) != 0},   // PKE: PKU
      {23, (l7.ecx >> 7 & 1) != 0},   // CET: CET_SS
      {24, (l7.ecx >> 31 & 1) != 0},  // PKS
  };
  uint64_t reserved = ~uint64_t{0};
  for (const Bit& b : bits)
    if (b.supported) reserved &= ~(uint64_t{1} << b.cr4_bit);
  return reserved;
}

}  // namespace irqremap::x86
