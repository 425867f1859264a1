#pragma once
// `irqremap run --arch x86`: the x86-64 machine's half of `run` (tools/run_machine.h).
#include "tools/run_machine.h"

namespace irqremap::cli {

using RunX86Options = RunOptions;
inline constexpr uint64_t kX86DefaultMemMib = 128;  // QEMU q35 default (-m)
int run_x86(const RunX86Options& opts, Io io);

}  // namespace irqremap::cli
