#pragma once
// PCI as SeaBIOS leaves it on QEMU q35, for a machine on which no BIOS runs (images are
// loaded straight into RAM, as with QEMU's -kernel after SeaBIOS has finished). For each
// function with a fixed BAR placement: the BARs programmed, Command memory space (and I/O
// space for I/O BARs) and bus master enabled, and the Interrupt Line register set to the
// legacy IRQ SeaBIOS picks for its INTx pin. On q35 that IRQ is also the I/O APIC input the
// pin is wired to, which is how kvm-unit-tests finds the pin to program.
#include <cstdint>
#include <span>

#include "arch/x86/pci/pci_bus.h"

namespace irqremap::x86::pci {

// SeaBIOS's q35 rotation (src/fw/pciinit.c mch_pci_slot_get_irq; facts only): slots 0-24
// map INTx pin p (1 = INTA) to {10, 10, 11, 11}[(p - 1 + slot) mod 4]; slots 25-31 use
// the INTA entry's rotation from 0. Returns 0 for pin 0 (no INTx).
constexpr uint8_t q35_intx_irq(unsigned slot, unsigned pin) {
  constexpr uint8_t kPciIrqs[4] = {10, 10, 11, 11};
  if (pin == 0) return 0;
  return slot <= 24 ? kPciIrqs[(pin - 1 + slot) & 3] : kPciIrqs[(pin - 1) & 3];
}

struct BarPlacement {
  unsigned devfn;
  unsigned bar;
  uint64_t address;
};

// Programs the BARs listed and, for every present function, Command and Interrupt Line as
// SeaBIOS does. Returns nothing: all effects are in config space.
void seabios_q35_setup(PciBus& bus, std::span<const BarPlacement> bars);

}  // namespace irqremap::x86::pci
