#include "tools/run_x86.h"

#include "arch/x86/x86_machine.h"

namespace irqremap::cli {

int run_x86(const RunX86Options& o, Io io) {
  // The x86 machine's RAM size and multiboot command line are not wired to the CLI yet:
  // refusing them is clearer than running a different machine than asked for.
  if (o.mem_mib) throw UsageError("run --arch x86: --mem is not supported on the x86 machine yet");
  if (!o.append.empty()) throw UsageError("run --arch x86: --append is not supported on the x86 machine yet");
  return run_machine<x86::X86Machine, x86::X86MachineConfig>("x86", o, io);
}

}  // namespace irqremap::cli
