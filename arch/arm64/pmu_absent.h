#pragma once
// The machine has no Performance Monitors Extension, as its device tree has no /pmu node
// (fdt_virt.h; QEMU virt would describe a PMUv3). Unicorn 2.0.1's Cortex-A57 does
// implement PMUv3, and its cycle counter (PMCCNTR_EL0, and event counters counting
// CPU_CYCLES) runs on the host's clock: two runs of one program read different counts,
// which docs/DESIGN.md forbids. So the vCPU makes the CPU agree with the tree:
//  - ID_AA64DFR0_EL1.PMUVer (bits 11:8) and the AArch32 view ID_DFR0_EL1.PerfMon (bits
//    27:24) read 0, "Performance Monitors Extension not implemented" (Arm ARM, the two
//    registers' descriptions); Linux and kvm-unit-tests test them before they touch the
//    PMU.
//  - Every PMU system register is then UNDEFINED (Arm ARM, "The Performance Monitors
//    Extension": its registers are present only with FEAT_PMUv3): an MRS or MSR of one
//    takes the Undefined Instruction exception (EC 0x00, ELR = the instruction).
#include <cstdint>

#include "arch/arm64/sysreg.h"

namespace irqremap::arm64::pmu_absent {

inline constexpr uint32_t kIdAa64Dfr0El1 = sysreg(3, 0, 0, 5, 0);
inline constexpr uint32_t kIdDfr0El1 = sysreg(3, 0, 0, 1, 2);
inline constexpr uint64_t kPmuVerMask = uint64_t{0xF} << 8;     // ID_AA64DFR0_EL1.PMUVer
inline constexpr uint64_t kPerfMonMask = uint64_t{0xF} << 24;   // ID_DFR0_EL1.PerfMon

// Whether `enc` is an ID register with a PMU field that id_value() clears.
constexpr bool has_pmu_field(uint32_t enc) { return enc == kIdAa64Dfr0El1 || enc == kIdDfr0El1; }

// The value an ID register read returns without the PMU (other registers: unchanged).
constexpr uint64_t id_value(uint32_t enc, uint64_t native) {
  if (enc == kIdAa64Dfr0El1) return native & ~kPmuVerMask;
  if (enc == kIdDfr0El1) return native & ~kPerfMonMask;
  return native;
}

// Whether `enc` (op0:op1:CRn:CRm:op2, sysreg.h) is a PMU register:
//  - op1 3, CRn 9, CRm 12-14: PMCR, PMCNTENSET/CLR, PMOVSCLR, PMSWINC, PMSELR, PMCEID0/1,
//    PMCCNTR, PMXEVTYPER, PMXEVCNTR, PMUSERENR, PMOVSSET (_EL0);
//  - op1 0, CRn 9, CRm 14: PMINTENSET/CLR_EL1 and PMMIR_EL1;
//  - op1 3, CRn 14, CRm 8-15: PMEVCNTR<n>_EL0, PMEVTYPER<n>_EL0 and PMCCFILTR_EL0 (CRm 0-3
//    there are the generic timer's CNT* registers).
constexpr bool is_pmu_register(uint32_t enc) {
  const uint32_t op0 = (enc >> 14) & 3, op1 = (enc >> 11) & 7, crn = (enc >> 7) & 0xF, crm = (enc >> 3) & 0xF;
  if (op0 != 3) return false;
  if (crn == 9) return (op1 == 3 && crm >= 12 && crm <= 14) || (op1 == 0 && crm == 14);
  return crn == 14 && op1 == 3 && crm >= 8;
}

}  // namespace irqremap::arm64::pmu_absent
