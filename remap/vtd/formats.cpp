#include "remap/vtd/formats.h"

#include <array>

#include "remap/vtd/cap_format.h"
#include "remap/vtd/dma_format.h"
#include "remap/vtd/dma_inv_format.h"
#include "remap/vtd/fault_format.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/inv_desc_format.h"
#include "remap/vtd/ioapic_rte_format.h"
#include "remap/vtd/irta_format.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"
#include "remap/vtd/pid_format.h"
#include "remap/vtd/qi_format.h"

namespace irqremap::vtd {

std::span<const fields::Format* const> formats() {
  static constexpr std::array all{
      &irte::kIrte,        &irte::kRemapped,      &irte::kPosted,     &msi::kAddrRemappable,
      &msi::kDataRemappable, &msi::kAddrCompat,   &msi::kDataCompat,  &irta::kIrta,
      &gcmd::kGcmd,        &gcmd::kGsts,          &fault::kFsts,      &fault::kFectl,
      &fault::kFedata,     &fault::kFeaddr,       &fault::kFeuaddr,   &fault::kFrcd,
      &qi::kIqa,           &qi::kIqh,             &qi::kIqt,          &qi::kIcs,
      &inv_desc::kIec,     &inv_desc::kWait,      &cap::kCap,         &cap::kEcap,
      &pid::kPid,          &dma::kRtaddr,         &dma::kRootEntry,   &dma::kContextEntry,
      &dma::kSlPte,        &dma_inv::kCcmd,       &dma_inv::kIva,     &dma_inv::kIotlb,
      &dma_inv::kCcDesc,   &dma_inv::kIotlbDesc,  &ioapic_rte::kRte,  &ioapic_rte::kCompat,
      &ioapic_rte::kRemappable};
  return all;
}

}  // namespace irqremap::vtd

namespace irqremap::vtd::ioapic_rte {
const fields::Format* select(std::span<const uint64_t> words) {
  return fields::get(words[0], IF_REMAP) ? &kRemappable : &kCompat;
}
}  // namespace irqremap::vtd::ioapic_rte
