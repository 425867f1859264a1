#pragma once
// GICv3 ITS commands: 32 bytes, four little-endian doublewords DW0..DW3; the opcode is
// DW0[7:0] (Arm IHI0069 §5.3; positions cross-checked in ../shared/spec/its.md §1).
// Bits are absolute across the command: DW1 starts at bit 64, DW2 at 128, DW3 at 192.
#include "remap/fields.h"

namespace irqremap::its::cmd {

using fields::Access;
using fields::Field;

enum class Opcode : uint8_t {
  MOVI = 0x01, INT = 0x03, CLEAR = 0x04, SYNC = 0x05, MAPD = 0x08, MAPC = 0x09,
  MAPTI = 0x0A, MAPI = 0x0B, INV = 0x0C, INVALL = 0x0D, MOVALL = 0x0E, DISCARD = 0x0F,
};

constexpr Field opcode_field(Opcode op) {
  return Field{"Opcode", 7, 0, Access::Fixed, "Command opcode", {}, uint64_t(op)};
}

// MAPTI: map (DeviceID, EventID) to a physical LPI and a collection (IHI0069 §5.3.10).
inline constexpr Field MAPTI_DeviceID{"DeviceID", 63, 32, Access::RW, "Device identifier"};
inline constexpr Field MAPTI_EventID{"EventID", 95, 64, Access::RW, "Event identifier"};
inline constexpr Field MAPTI_pINTID{"pINTID", 127, 96, Access::RW, "Physical LPI INTID"};
inline constexpr Field MAPTI_ICID{"ICID", 143, 128, Access::RW, "Interrupt collection ID"};
inline constexpr Field kMaptiFields[] = {
    opcode_field(Opcode::MAPTI),
    {"Rsvd", 31, 8, Access::Rsvd, "reserved"},
    MAPTI_DeviceID, MAPTI_EventID, MAPTI_pINTID, MAPTI_ICID,
    {"Rsvd", 191, 144, Access::Rsvd, "reserved"},
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMaptiFields, 256, true));
inline constexpr fields::Format kMapti{"mapti", "ITS command MAPTI (map translation, INTID)",
                                       "Arm IHI0069 §5.3.10", 256, kMaptiFields};

}  // namespace irqremap::its::cmd
