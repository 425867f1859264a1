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
