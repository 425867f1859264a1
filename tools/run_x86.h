#pragma once
// `irqremap run --arch x86`: the x86-64 machine's half of `run` (tools/run_machine.h).
#include "arch/x86/cpuid_leaves.h"
#include "tools/run_machine.h"

namespace irqremap::cli {

using RunX86Options = RunOptions;
inline constexpr uint64_t kX86DefaultMemMib = 128;  // QEMU q35 default (-m)
int run_x86(const RunX86Options& opts, Io io);
// --cpu: "qemu64" with ",+FEATURE"/",-FEATURE" items, as QEMU's -cpu (x2apic, tsc-deadline,
// umip); empty: every feature. Anything else is a UsageError naming the part it rejects.
x86::CpuFeatures parse_x86_cpu(const std::string& spec);

}  // namespace irqremap::cli
