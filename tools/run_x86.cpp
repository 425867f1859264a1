#include "tools/run_x86.h"

#include "arch/x86/x86_machine.h"

namespace irqremap::cli {

x86::CpuFeatures parse_x86_cpu(const std::string& spec) {
  x86::CpuFeatures f;
  if (spec.empty()) return f;
  const std::string usage =
      "give qemu64, optionally followed by ,+FEATURE or ,-FEATURE (features: x2apic, tsc-deadline, umip; all "
      "present by default)";
  size_t at = spec.find(',');
  const std::string model = spec.substr(0, at);
  if (model != "qemu64")
    throw UsageError(fmt::format("--cpu {}: the x86 machine's CPU model is qemu64; {}", spec, usage));
  while (at != std::string::npos) {
    const size_t next = spec.find(',', at + 1);
    const std::string item = spec.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    at = next;
    if (item.size() < 2 || (item[0] != '+' && item[0] != '-'))
      throw UsageError(fmt::format("--cpu {}: {:?} is not +FEATURE or -FEATURE; {}", spec, item, usage));
    const bool on = item[0] == '+';
    const std::string name = item.substr(1);
    if (name == "x2apic")
      f.x2apic = on;
    else if (name == "tsc-deadline")
      f.tsc_deadline = on;
    else if (name == "umip")
      f.umip = on;
    else
      throw UsageError(fmt::format("--cpu {}: no feature {:?} to add or take away; {}", spec, name, usage));
  }
  return f;
}

int run_x86(const RunX86Options& o, Io io) {
  if (!o.devices.empty())
    throw UsageError(fmt::format("--device {}: the x86 machine takes no --device (its PCI devices are fixed); "
                                 "--device is for --arch arm64",
                                 o.devices.front()));
  // Parsed before anything is read or made: a misspelt feature is a usage error (2).
  const x86::CpuFeatures features = parse_x86_cpu(o.cpu);
  RunX86Options opts = o;
  // QEMU's q35 has 128 MiB of RAM unless -m says otherwise; images made for it (multiboot
  // kernels such as kvm-unit-tests') size their allocators from it.
  if (!opts.mem_mib) opts.mem_mib = kX86DefaultMemMib;
  return run_machine<x86::X86Machine, x86::X86MachineConfig>(
      "x86", opts, io, [&](x86::X86MachineConfig& cfg) { cfg.features = features; });
}

}  // namespace irqremap::cli
