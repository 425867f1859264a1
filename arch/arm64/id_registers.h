#pragma once
// ID register fields the machine answers itself because Unicorn 2.0.1's Cortex-A57 has no
// GIC attached. The machine has a GICv3 whose CPU interface is reached through the ICC_*
// system registers (gic_cpu_interface.h), so the CPU says so, as QEMU's cortex-a57 does
// when a GICv3 is connected to it (it sets the field when the CPU has a GICv3 state):
//  - ID_AA64PFR0_EL1.GIC, bits 27:24 = 0b0001: "System register interface to versions
//    3.0 and 4.0 of the GIC CPU interface is supported" (Arm ARM, ID_AA64PFR0_EL1);
//  - its AArch32 view ID_PFR1_EL1.GIC, bits 31:28 = 0b0001 (Arm ARM, ID_PFR1_EL1).
// Unicorn reads 0 in both ("not supported"). Linux 6.1 checks ID_AA64PFR0_EL1.GIC for
// its ARM64_HAS_SYSREG_GIC_CPUIF capability ("CPU features: detected: GIC system
// register CPU interface"). pmu_absent.h rewrites the debug ID registers the same way.
#include <cstdint>

#include "arch/arm64/sysreg.h"

namespace irqremap::arm64::id_registers {

inline constexpr uint32_t kIdAa64Pfr0El1 = sysreg(3, 0, 0, 4, 0);
inline constexpr uint32_t kIdPfr1El1 = sysreg(3, 0, 0, 1, 1);
inline constexpr uint64_t kAa64Pfr0GicMask = uint64_t{0xF} << 24;  // ID_AA64PFR0_EL1.GIC
inline constexpr uint64_t kPfr1GicMask = uint64_t{0xF} << 28;      // ID_PFR1_EL1.GIC
inline constexpr uint64_t kGicSysregV3 = 1;  // GICv3/v4 system register CPU interface

// Whether `enc` is an ID register whose value gic_cpuif_value() changes.
constexpr bool has_gic_field(uint32_t enc) { return enc == kIdAa64Pfr0El1 || enc == kIdPfr1El1; }

// The value an MRS of `enc` returns on this machine, from the one Unicorn has (`native`);
// other registers: unchanged.
constexpr uint64_t gic_cpuif_value(uint32_t enc, uint64_t native) {
  if (enc == kIdAa64Pfr0El1) return (native & ~kAa64Pfr0GicMask) | (kGicSysregV3 << 24);
  if (enc == kIdPfr1El1) return (native & ~kPfr1GicMask) | (kGicSysregV3 << 28);
  return native;
}

}  // namespace irqremap::arm64::id_registers
