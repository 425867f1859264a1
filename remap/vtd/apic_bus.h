#pragma once
// ApicBus: where the VT-d unit hands interrupt requests. After remapping (VT-d §5.1.4),
// a compatibility-format request passed through (§5.1.2.1, CFIS), the notification event
// of a posted interrupt (§5.2.3) and the unit's own fault event (§7.4.1.x, FECTL/FEDATA/
// FEADDR) and invalidation completion event (§6.5.2.10, IECTL/IEDATA/IEADDR) all reach the
// local APICs as the same narrow request. The x86 machine implements it with its local
// APICs; tests implement it with a recorder.
#include "remap/remapper.h"

namespace irqremap::vtd {

class ApicBus {
 public:
  virtual ~ApicBus() = default;
  // dest (xAPIC 8-bit or x2APIC 32-bit APIC ID), DM, RH, vector, DLM, TM.
  virtual void deliver(const ApicDelivery& request) = 0;
};

}  // namespace irqremap::vtd
