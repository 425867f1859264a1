#include "arch/x86/pci/seabios_q35.h"

namespace irqremap::x86::pci {

void seabios_q35_setup(PciBus& bus, std::span<const BarPlacement> bars) {
  for (const BarPlacement& p : bars) {
    const unsigned o = cfg::BAR0 + 4 * p.bar;
    bus.config_write(p.devfn, o, 4, uint32_t(p.address));
    if (PciFunction* f = bus.function(p.devfn); f && f->config().bar(p.bar).kind == BarKind::Mem64)
      bus.config_write(p.devfn, o + 4, 4, uint32_t(p.address >> 32));
  }
  for (unsigned devfn = 0; devfn < 256; ++devfn) {
    PciFunction* f = bus.function(devfn);
    if (f == nullptr) continue;
    bool mem = false, io = false;
    for (unsigned n = 0; n < 6; ++n) {
      const BarInfo& b = f->config().bar(n);
      if (b.size == 0) continue;
      (b.kind == BarKind::Io ? io : mem) = true;
    }
    uint16_t cmd = f->config().command() | command::BUS_MASTER;
    if (mem) cmd |= command::MEMORY;
    if (io) cmd |= command::IO;
    bus.config_write(devfn, cfg::COMMAND, 2, cmd);
    const unsigned pin = f->config().get8(cfg::INTERRUPT_PIN);
    if (pin != 0) bus.config_write(devfn, cfg::INTERRUPT_LINE, 1, q35_intx_irq(devfn >> 3, pin));
  }
}

}  // namespace irqremap::x86::pci
