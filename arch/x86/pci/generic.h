#pragma once
// The PCI pieces both machines share (arch/common/pci/: configuration space, BAR sizing,
// capabilities, the function interface), seen from the x86 machine's namespace so its
// q35 bus, host bridge and devices name them as before.
#include "arch/common/pci/config_space.h"
#include "arch/common/pci/msi_capability.h"
#include "arch/common/pci/pci_function.h"

namespace irqremap::x86::pci {
using namespace irqremap::pci;
}  // namespace irqremap::x86::pci
