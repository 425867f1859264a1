#pragma once
// `irqremap run --arch x86`: the x86-64 machine's half of `run` (the subcommand and its
// --arch dispatch live in cmd_run.cpp). Same behaviour and exit statuses as arm64:
// 0 after power-off (ACPI PM1a SLP_EN, the x86 counterpart of PSCI SYSTEM_OFF);
// (value << 1) | 1 after isa-debug-exit (as QEMU), 1 when the run stops at its budget, a
// guest fault, an unsupported instruction or a deadlock (one line on err: what, CPU, PC,
// disassembled instruction); 2 for bad arguments.
#include <cstdint>
#include <string>

#include "tools/cli.h"

namespace irqremap::cli {

struct RunX86Options {
  unsigned smp = 1;
  std::string kernel;    // ELF or raw image file
  std::string firmware;  // or an embedded stub, "x86/<name>" (the "x86/" may be omitted)
  bool trace = false;    // guest instructions, MMIO, APIC, VT-d and device events on out
  uint64_t max_insns = 100'000'000;
};

int run_x86(const RunX86Options& opts, Io io);

}  // namespace irqremap::cli
