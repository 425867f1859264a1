#pragma once
// ID register fields the machine answers itself, one table: the value an MRS returns is
// Unicorn's Cortex-A57 value with these fields replaced, so the CPU describes what the
// machine around it has, as QEMU 7.2's cortex-a57 on virt does.
//  - ID_AA64PFR0_EL1.GIC, bits 27:24 = 0b0001: "System register interface to versions
//    3.0 and 4.0 of the GIC CPU interface is supported" (Arm ARM, ID_AA64PFR0_EL1), and
//    its AArch32 view ID_PFR1_EL1.GIC, bits 31:28 = 0b0001 (Arm ARM, ID_PFR1_EL1). The
//    machine has a GICv3 reached through the ICC_* registers (gic_cpu_interface.h);
//    Unicorn, with no GIC attached, reads 0. QEMU sets the field when a GICv3 is
//    connected. Linux 6.1 checks it for ARM64_HAS_SYSREG_GIC_CPUIF ("CPU features:
//    detected: GIC system register CPU interface").
//  - ID_AA64DFR0_EL1.PMUVer, bits 11:8 = 0b0001 (PMUv3) and its AArch32 view
//    ID_DFR0_EL1.PerfMon, bits 27:24 = 0b0011 (PMUv3): the PMU of pmu.h, as QEMU's
//    cortex-a57 reports it (Unicorn's value agrees; stated here so that the PMU the guest
//    is told about is the one the machine implements, whatever Unicorn says).
#include <cstdint>

#include "arch/arm64/sysreg.h"

namespace irqremap::arm64::id_registers {

inline constexpr uint32_t kIdAa64Pfr0El1 = sysreg(3, 0, 0, 4, 0);
inline constexpr uint32_t kIdPfr1El1 = sysreg(3, 0, 0, 1, 1);
inline constexpr uint32_t kIdAa64Dfr0El1 = sysreg(3, 0, 0, 5, 0);
inline constexpr uint32_t kIdDfr0El1 = sysreg(3, 0, 0, 1, 2);

// One ID register field: bits hi:lo of the register `enc` read `value`.
struct Override {
  uint32_t enc;
  unsigned hi, lo;
  uint64_t value;
  const char* field;
};

inline constexpr Override kOverrides[] = {
    {kIdAa64Pfr0El1, 27, 24, 1, "ID_AA64PFR0_EL1.GIC: GICv3 system register interface"},
    {kIdPfr1El1, 31, 28, 1, "ID_PFR1_EL1.GIC: GICv3 system register interface"},
    {kIdAa64Dfr0El1, 11, 8, 1, "ID_AA64DFR0_EL1.PMUVer: PMUv3"},
    {kIdDfr0El1, 27, 24, 3, "ID_DFR0_EL1.PerfMon: PMUv3"},
};

// Whether `enc` is an ID register with a field in the table.
constexpr bool has_override(uint32_t enc) {
  for (const Override& o : kOverrides)
    if (o.enc == enc) return true;
  return false;
}

// The value an MRS of `enc` returns on this machine, from the one Unicorn has (`native`);
// other registers: unchanged.
constexpr uint64_t value(uint32_t enc, uint64_t native) {
  for (const Override& o : kOverrides) {
    if (o.enc != enc) continue;
    const uint64_t mask = ((uint64_t{1} << (o.hi - o.lo + 1)) - 1) << o.lo;
    native = (native & ~mask) | ((o.value << o.lo) & mask);
  }
  return native;
}

}  // namespace irqremap::arm64::id_registers
