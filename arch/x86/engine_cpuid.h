#pragma once
// Unicorn 2.0.1 glue: the CPUID answers of Unicorn's own CPU, the base of the machine's
// (cpuid_leaves.h). The vCPU's CPUID hook skips Unicorn's helper, so the engine's answer
// to a leaf is taken from a scratch engine that runs CPUID with no hook, once per leaf and
// subleaf, and kept (process-wide; the answers depend on nothing but the leaf).
#include <cstdint>

#include "arch/x86/cpuid_leaves.h"

namespace irqremap::x86 {

CpuidRegs engine_cpuid(uint32_t leaf, uint32_t subleaf);

}  // namespace irqremap::x86
