#include "arch/common/pci/pci_function.h"

#include "snapshot/state_io.h"

namespace irqremap::pci {

void PciFunction::set_intx(bool asserted) {
  ConfigSpace& c = config();
  intx_request_ = asserted;
  c.set16(cfg::STATUS, asserted ? (c.get16(cfg::STATUS) | status::INTERRUPT)
                                : (c.get16(cfg::STATUS) & ~status::INTERRUPT));
  const bool out = asserted && !(c.command() & command::INTX_DISABLE);
  if (out == intx_out_) return;
  intx_out_ = out;
  if (intx_) intx_(out);
}

void PciFunction::state(snapshot::Io& io) {
  config().state(io);
  // The pin is not driven again on restore: the interrupt controller's input level is in
  // its own part of the snapshot.
  io.field("INTx_request", intx_request_);
  io.field("INTx_pin", intx_out_);
}

}  // namespace irqremap::pci
