#pragma once
// `irqremap run --arch arm64`: the AArch64 machine's half of `run` (the subcommand and its
// --arch dispatch live in cmd_run.cpp). Exit statuses as on x86: 0 after PSCI SYSTEM_OFF
// (or SYSTEM_RESET); 1 when the run stops at its budget, a guest fault, an unsupported
// instruction or a deadlock (one line on err: what, CPU, PC, disassembled instruction);
// 2 for bad arguments.
#include <cstdint>
#include <string>

#include "tools/cli.h"

namespace irqremap::cli {

struct RunArm64Options {
  unsigned smp = 1;
  std::string kernel;    // ELF or raw image file
  std::string firmware;  // or an embedded stub, "arm64/<name>" (the "arm64/" may be omitted)
  bool trace = false;    // guest instructions, MMIO, GIC, ITS and device events on out
  uint64_t max_insns = 100'000'000;
};

int run_arm64(const RunArm64Options& opts, Io io);

}  // namespace irqremap::cli
