#pragma once
// Compatibility-format MSIs (Intel VT-d spec rev 5.10 §5.1.2.1; Intel SDM vol. 3A §11.11
// "Message Signalled Interrupts"): the path an MSI takes to the local APICs when interrupt
// remapping is off (GSTS.IRES=0), and the address/data an IPI-less device would use.
// The layout is the one table in remap/vtd/msi_format.h.
#include <expected>
#include <string>

#include "remap/msi.h"
#include "remap/remapper.h"

namespace irqremap::x86 {

// Decode a compatibility-format MSI into the request the APIC bus routes. Errors (as one
// line with spec names): address outside the 0xFEEx_xxxx interrupt window or above 4 GiB,
// IF=1 (a remappable-format message with remapping off has no meaning: VT-d §5.1.2.2),
// reserved data bits set. The request is marked remapped=false.
std::expected<ApicDelivery, std::string> decode_compat_msi(const MsiWrite& msi);

// Encode the compatibility-format address/data for a request (the inverse, for firmware
// helpers and tests): address 0xFEE0_0000 | dest[7:0] << 12 | RH << 3 | DM << 2.
MsiWrite encode_compat_msi(const ApicDelivery& request, uint32_t source = 0);

}  // namespace irqremap::x86
