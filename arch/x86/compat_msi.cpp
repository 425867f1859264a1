#include "arch/x86/compat_msi.h"

#include <fmt/format.h>

#include "remap/vtd/msi_format.h"

namespace irqremap::x86 {

using namespace vtd::msi;

std::expected<ApicDelivery, std::string> decode_compat_msi(const MsiWrite& msi) {
  if ((msi.address >> 32) != 0 || fields::get(msi.address, ADDR_FEE) != kInterruptWindow)
    return std::unexpected(fmt::format(
        "MSI address {:#x} is outside the interrupt window 0xFEEx_xxxx", msi.address));
  if (is_remappable(msi.address))
    return std::unexpected(fmt::format(
        "MSI address {:#x} has IF=1 (remappable format) but interrupt remapping is off",
        msi.address));
  const uint64_t rsvd = fields::reserved_mask(kDataCompatFields, 0);
  if ((msi.data & rsvd) != 0)
    return std::unexpected(
        fmt::format("MSI data {:#x} sets reserved bits {:#x}", msi.data, msi.data & rsvd));
  ApicDelivery d;
  d.dest = uint32_t(fields::get(msi.address, CADDR_DEST));
  d.dest_logical = fields::get(msi.address, CADDR_DM) != 0;
  d.redirection_hint = fields::get(msi.address, CADDR_RH) != 0;
  d.vector = uint8_t(fields::get(msi.data, CDATA_VECTOR));
  d.delivery_mode = uint8_t(fields::get(msi.data, CDATA_DLM));
  d.level = fields::get(msi.data, CDATA_TM) != 0;
  d.remapped = false;
  return d;
}

MsiWrite encode_compat_msi(const ApicDelivery& r, uint32_t source) {
  uint64_t a = fields::set(0, ADDR_FEE, kInterruptWindow);
  a = fields::set(a, CADDR_DEST, r.dest & 0xFF);
  a = fields::set(a, CADDR_RH, r.redirection_hint ? 1 : 0);
  a = fields::set(a, CADDR_DM, r.dest_logical ? 1 : 0);
  uint64_t d = fields::set(0, CDATA_VECTOR, r.vector);
  d = fields::set(d, CDATA_DLM, r.delivery_mode);
  d = fields::set(d, CDATA_TM, r.level ? 1 : 0);
  d = fields::set(d, CDATA_LEVEL, 1);  // assert
  return MsiWrite{a, uint32_t(d), source};
}

}  // namespace irqremap::x86
