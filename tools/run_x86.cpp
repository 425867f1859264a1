#include "tools/run_x86.h"

#include "arch/x86/x86_machine.h"

namespace irqremap::cli {

int run_x86(const RunX86Options& o, Io io) {
  return run_machine<x86::X86Machine, x86::X86MachineConfig>("x86", o, io);
}

}  // namespace irqremap::cli
