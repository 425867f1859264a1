#pragma once
// `irqremap run --arch arm64`: the AArch64 machine's half of `run` (tools/run_machine.h).
#include "tools/run_machine.h"

namespace irqremap::cli {

using RunArm64Options = RunOptions;
int run_arm64(const RunArm64Options& opts, Io io);

}  // namespace irqremap::cli
