#pragma once
// ITS command errors (Arm IHI0069 §5.3 and §6.3; the values as Linux's
// include/linux/irqchip/arm-gic-v3.h names them). The encoding is 0x01 | opcode | cause.
#include <cstdint>
#include <string_view>

namespace irqremap::its {

enum class ItsError : uint32_t {
  E_ITS_MOVI_UNMAPPED_INTERRUPT = 0x010107,
  E_ITS_MOVI_UNMAPPED_COLLECTION = 0x010109,
  E_ITS_INT_UNMAPPED_INTERRUPT = 0x010307,
  E_ITS_CLEAR_UNMAPPED_INTERRUPT = 0x010507,
  E_ITS_MAPD_DEVICE_OOR = 0x010801,
  E_ITS_MAPD_ITTSIZE_OOR = 0x010802,
  E_ITS_MAPC_PROCNUM_OOR = 0x010902,
  E_ITS_MAPC_COLLECTION_OOR = 0x010903,
  // Not in Linux's list: follows the encoding rule with MAPC's cause 03 (collection out
  // of range), for a MAPTI/MAPI whose ICID is beyond the collection table.
  E_ITS_MAPTI_COLLECTION_OOR = 0x010A03,
  E_ITS_MAPTI_UNMAPPED_DEVICE = 0x010A04,
  E_ITS_MAPTI_ID_OOR = 0x010A05,
  E_ITS_MAPTI_PHYSICALID_OOR = 0x010A06,
  E_ITS_INV_UNMAPPED_INTERRUPT = 0x010C07,
  E_ITS_INVALL_UNMAPPED_COLLECTION = 0x010D09,
  E_ITS_MOVALL_PROCNUM_OOR = 0x010E01,
  E_ITS_DISCARD_UNMAPPED_INTERRUPT = 0x010F07,
  // irqremap's own codes (0x01FFxx) for conditions with no architected number:
  IRQREMAP_UNKNOWN_COMMAND = 0x01FF00,  // opcode not one of the 12 physical commands
  IRQREMAP_MEMORY_ERROR = 0x01FF01,     // queue or table access outside guest RAM
  IRQREMAP_CWRITER_OOR = 0x01FF02,      // CWRITER/CREADR offset beyond the queue
};

// "E_ITS_MAPD_DEVICE_OOR"
std::string_view error_name(ItsError e);

}  // namespace irqremap::its
