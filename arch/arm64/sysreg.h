#pragma once
// AArch64 system register encodings as the MRS/MSR hook sees them (Arm ARM C5.3: op0,
// op1, CRn, CRm, op2 of the instruction), shared by the CPU-side models (GIC CPU
// interface, generic timer) and the vCPU glue.
#include <cstdint>

namespace irqremap::arm64 {

// op0:op1:CRn:CRm:op2 of a system register, packed as in the MRS/MSR encoding.
constexpr uint32_t sysreg(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2) {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

}  // namespace irqremap::arm64
