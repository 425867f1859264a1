#include "arch/common/pci/pci_function.h"

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

}  // namespace irqremap::pci

namespace irqremap::pci {

void PciFunction::state(snapshot::Io& io) {
  config().state(io);
  io.field("intx_request", intx_request_);
  io.field("intx_pin", intx_out_);  // the SPI input it drives is the distributor's
}

}  // namespace irqremap::pci
