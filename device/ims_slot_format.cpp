#include "device/ims_slot_format.h"
// The slot tables are constexpr; this file checks them once more where the compiler sees
// both layouts together: the mask/PASID word is the same in both orders.
namespace irqremap::device::slot {
static_assert(fields::defined_mask(kIdxdFields, 1) == fields::defined_mask(kReorderedFields, 1));
}
