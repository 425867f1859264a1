#include "tools/run_arm64.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <string>

#include "arch/arm64/arm64_machine.h"

namespace irqremap::cli {

int run_arm64(const RunArm64Options& o, Io io) {
  if (!o.cpu.empty())
    throw UsageError(fmt::format("--cpu {}: the arm64 machine's CPU is fixed (cortex-a57); --cpu is for --arch x86", o.cpu));
  // Checked before anything is read or made, so a misspelt name is a usage error (2).
  for (const std::string& d : o.devices)
    if (std::ranges::find(arm64::kPciDeviceNames, d) == std::end(arm64::kPciDeviceNames))
      throw UsageError(fmt::format("--device {}: no such device (arm64 knows: pci-testdev, virtio-rng-pci)", d));
  return run_machine<arm64::Arm64Machine, arm64::Arm64MachineConfig>("arm64", o, io);
}

}  // namespace irqremap::cli
