#include "tools/run_arm64.h"

#include "arch/arm64/arm64_machine.h"

namespace irqremap::cli {

int run_arm64(const RunArm64Options& o, Io io) {
  return run_machine<arm64::Arm64Machine, arm64::Arm64MachineConfig>("arm64", o, io);
}

}  // namespace irqremap::cli
