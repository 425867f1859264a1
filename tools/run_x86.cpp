#include "tools/run_x86.h"

#include "arch/x86/x86_machine.h"

namespace irqremap::cli {

int run_x86(const RunX86Options& o, Io io) {
  if (!o.devices.empty())
    throw UsageError(fmt::format("--device {}: the x86 machine takes no --device (its PCI devices are fixed); "
                                 "--device is for --arch arm64",
                                 o.devices.front()));
  if (!o.initrd.empty())
    throw UsageError(fmt::format("--initrd {}: the x86 machine takes no initrd (its multiboot loader does not load "
                                 "modules); --initrd is for --arch arm64",
                                 o.initrd));
  RunX86Options opts = o;
  // QEMU's q35 has 128 MiB of RAM unless -m says otherwise; images made for it (multiboot
  // kernels such as kvm-unit-tests') size their allocators from it.
  if (!opts.mem_mib) opts.mem_mib = kX86DefaultMemMib;
  return run_machine<x86::X86Machine, x86::X86MachineConfig>("x86", opts, io);
}

}  // namespace irqremap::cli
