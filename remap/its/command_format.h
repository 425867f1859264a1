#pragma once
// GICv3 ITS commands: 32 bytes, four little-endian doublewords DW0..DW3; the opcode is
// DW0[7:0] (Arm IHI0069 §5.3, one subsection per command: §5.3.1-§5.3.13).
// Bits are absolute across the command: DW1 starts at bit 64, DW2 at 128, DW3 at 192.
//
// Every field sits at the same place in every command that has it (DeviceID is always
// DW0[63:32], EventID DW1[31:0], ICID DW2[15:0], RDbase DW2[51:16]), so each is declared
// once and the per-command tables list which ones the command uses.
#include <optional>
#include <string_view>

#include "remap/fields.h"

namespace irqremap::its::cmd {

using fields::Access;
using fields::Field;

enum class Opcode : uint8_t {
  MOVI = 0x01, INT = 0x03, CLEAR = 0x04, SYNC = 0x05, MAPD = 0x08, MAPC = 0x09,
  MAPTI = 0x0A, MAPI = 0x0B, INV = 0x0C, INVALL = 0x0D, MOVALL = 0x0E, DISCARD = 0x0F,
};

// "MAPTI", or "" for an opcode that is not a physical command.
std::string_view opcode_name(uint8_t opcode);
std::optional<Opcode> opcode_by_name(std::string_view name);  // case-insensitive

constexpr Field opcode_field(Opcode op) {
  return Field{"Opcode", 7, 0, Access::Fixed, "Command opcode", {}, uint64_t(op)};
}
inline constexpr Field Op{"Opcode", 7, 0, Access::RW, "Command opcode"};

// Shared field positions (IHI0069 §5.3.x command layouts).
inline constexpr Field DeviceID{"DeviceID", 63, 32, Access::RW, "Device identifier"};
inline constexpr Field EventID{"EventID", 95, 64, Access::RW, "Event identifier"};
inline constexpr Field pINTID{"pINTID", 127, 96, Access::RW, "Physical LPI INTID"};
inline constexpr Field Size{"Size", 68, 64, Access::RW,
                            "EventID bits - 1: the ITT holds 2^(Size+1) entries"};
inline constexpr Field ICID{"ICID", 143, 128, Access::RW, "Interrupt collection ID"};
inline constexpr Field ITT_addr{"ITT_addr", 179, 136, Access::RW,
                                "ITT base address bits 51:8 (256-byte aligned)", {}, 0, 8};
inline constexpr Field RDbase{"RDbase", 179, 144, Access::RW,
                              "Target redistributor: PE number (GITS_TYPER.PTA=0) or "
                              "RD_base address bits 51:16 (PTA=1)"};
inline constexpr Field V{"V", 191, 191, Access::RW, "Valid: 1 maps, 0 unmaps"};
inline constexpr Field RDbase1{"RDbase1", 179, 144, Access::RW,
                               "Source redistributor (PE number or RD_base bits 51:16)"};
inline constexpr Field RDbase2{"RDbase2", 243, 208, Access::RW,
                               "Target redistributor (PE number or RD_base bits 51:16)"};

// Compatibility names for the first table written (MAPTI).
inline constexpr Field MAPTI_DeviceID = DeviceID;
inline constexpr Field MAPTI_EventID = EventID;
inline constexpr Field MAPTI_pINTID = pINTID;
inline constexpr Field MAPTI_ICID = ICID;

// MAPD: map a DeviceID to an ITT (§5.3.8).
inline constexpr Field kMapdFields[] = {
    opcode_field(Opcode::MAPD),
    {"Rsvd", 31, 8, Access::Rsvd, "reserved"},
    DeviceID, Size,
    {"Rsvd", 127, 69, Access::Rsvd, "reserved"},
    {"Rsvd", 135, 128, Access::Rsvd, "reserved"},
    ITT_addr,
    {"Rsvd", 190, 180, Access::Rsvd, "reserved"},
    V,
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMapdFields, 256, true));
inline constexpr fields::Format kMapd{"mapd", "ITS command MAPD (map device)",
                                      "Arm IHI0069 §5.3.8", 256, kMapdFields};

// MAPC: map a collection to a redistributor (§5.3.7).
inline constexpr Field kMapcFields[] = {
    opcode_field(Opcode::MAPC),
    {"Rsvd", 63, 8, Access::Rsvd, "reserved"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
    ICID, RDbase,
    {"Rsvd", 190, 180, Access::Rsvd, "reserved"},
    V,
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMapcFields, 256, true));
inline constexpr fields::Format kMapc{"mapc", "ITS command MAPC (map collection)",
                                      "Arm IHI0069 §5.3.7", 256, kMapcFields};

// MAPTI: map (DeviceID, EventID) to a physical LPI and a collection (§5.3.10).
inline constexpr Field kMaptiFields[] = {
    opcode_field(Opcode::MAPTI),
    {"Rsvd", 31, 8, Access::Rsvd, "reserved"},
    DeviceID, EventID, pINTID, ICID,
    {"Rsvd", 191, 144, Access::Rsvd, "reserved"},
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMaptiFields, 256, true));
inline constexpr fields::Format kMapti{"mapti", "ITS command MAPTI (map translation, INTID)",
                                       "Arm IHI0069 §5.3.10", 256, kMaptiFields};

// MAPI: MAPTI with pINTID = EventID (§5.3.9).
inline constexpr Field kMapiFields[] = {
    opcode_field(Opcode::MAPI),
    {"Rsvd", 31, 8, Access::Rsvd, "reserved"},
    DeviceID, EventID,
    {"Rsvd", 127, 96, Access::Rsvd, "reserved"},
    ICID,
    {"Rsvd", 191, 144, Access::Rsvd, "reserved"},
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMapiFields, 256, true));
inline constexpr fields::Format kMapi{"mapi", "ITS command MAPI (map interrupt, pINTID = EventID)",
                                      "Arm IHI0069 §5.3.9", 256, kMapiFields};

// MOVI: retarget one event to another collection (§5.3.12).
inline constexpr Field kMoviFields[] = {
    opcode_field(Opcode::MOVI),
    {"Rsvd", 31, 8, Access::Rsvd, "reserved"},
    DeviceID, EventID,
    {"Rsvd", 127, 96, Access::Rsvd, "reserved"},
    ICID,
    {"Rsvd", 191, 144, Access::Rsvd, "reserved"},
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMoviFields, 256, true));
inline constexpr fields::Format kMovi{"movi", "ITS command MOVI (move one interrupt to ICID)",
                                      "Arm IHI0069 §5.3.12", 256, kMoviFields};

// MOVALL: move every pending LPI of one redistributor to another (§5.3.11).
inline constexpr Field kMovallFields[] = {
    opcode_field(Opcode::MOVALL),
    {"Rsvd", 63, 8, Access::Rsvd, "reserved"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
    {"Rsvd", 143, 128, Access::Rsvd, "reserved"},
    RDbase1,
    {"Rsvd", 191, 180, Access::Rsvd, "reserved"},
    {"Rsvd", 207, 192, Access::Rsvd, "reserved"},
    RDbase2,
    {"Rsvd", 255, 244, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kMovallFields, 256, true));
inline constexpr fields::Format kMovall{"movall", "ITS command MOVALL (move all pending LPIs)",
                                        "Arm IHI0069 §5.3.11", 256, kMovallFields};

// DISCARD, INV, INT, CLEAR: (DeviceID, EventID) only (§5.3.3, §5.3.5, §5.3.4, §5.3.2).
#define IRQREMAP_ITS_DEV_EVENT_FIELDS(OP)               \
  {                                                     \
    opcode_field(Opcode::OP),                           \
        {"Rsvd", 31, 8, Access::Rsvd, "reserved"},      \
        DeviceID, EventID,                              \
        {"Rsvd", 127, 96, Access::Rsvd, "reserved"},    \
        {"Rsvd", 191, 128, Access::Rsvd, "reserved"},   \
        {"Rsvd", 255, 192, Access::Rsvd, "reserved"},   \
  }
inline constexpr Field kDiscardFields[] = IRQREMAP_ITS_DEV_EVENT_FIELDS(DISCARD);
inline constexpr Field kInvFields[] = IRQREMAP_ITS_DEV_EVENT_FIELDS(INV);
inline constexpr Field kIntFields[] = IRQREMAP_ITS_DEV_EVENT_FIELDS(INT);
inline constexpr Field kClearFields[] = IRQREMAP_ITS_DEV_EVENT_FIELDS(CLEAR);
#undef IRQREMAP_ITS_DEV_EVENT_FIELDS
static_assert(fields::well_formed(kDiscardFields, 256, true));
static_assert(fields::well_formed(kInvFields, 256, true));
static_assert(fields::well_formed(kIntFields, 256, true));
static_assert(fields::well_formed(kClearFields, 256, true));
inline constexpr fields::Format kDiscard{"discard", "ITS command DISCARD (unmap and clear pending)",
                                         "Arm IHI0069 §5.3.3", 256, kDiscardFields};
inline constexpr fields::Format kInv{"inv", "ITS command INV (re-read LPI configuration)",
                                     "Arm IHI0069 §5.3.5", 256, kInvFields};
inline constexpr fields::Format kInt{"int", "ITS command INT (make the LPI pending)",
                                     "Arm IHI0069 §5.3.4", 256, kIntFields};
inline constexpr fields::Format kClear{"clear", "ITS command CLEAR (clear pending state)",
                                       "Arm IHI0069 §5.3.2", 256, kClearFields};

// INVALL: re-read the configuration of every LPI of a collection (§5.3.6).
inline constexpr Field kInvallFields[] = {
    opcode_field(Opcode::INVALL),
    {"Rsvd", 63, 8, Access::Rsvd, "reserved"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
    ICID,
    {"Rsvd", 191, 144, Access::Rsvd, "reserved"},
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kInvallFields, 256, true));
inline constexpr fields::Format kInvall{"invall", "ITS command INVALL (re-read collection config)",
                                        "Arm IHI0069 §5.3.6", 256, kInvallFields};

// SYNC: wait for the effects of earlier commands at a redistributor (§5.3.13).
inline constexpr Field kSyncFields[] = {
    opcode_field(Opcode::SYNC),
    {"Rsvd", 63, 8, Access::Rsvd, "reserved"},
    {"Rsvd", 127, 64, Access::Rsvd, "reserved"},
    {"Rsvd", 143, 128, Access::Rsvd, "reserved"},
    RDbase,
    {"Rsvd", 191, 180, Access::Rsvd, "reserved"},
    {"Rsvd", 255, 192, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kSyncFields, 256, true));
inline constexpr fields::Format kSync{"sync", "ITS command SYNC (synchronise a redistributor)",
                                      "Arm IHI0069 §5.3.13", 256, kSyncFields};

// The member format for an opcode, or nullptr for one that is not a physical command.
const fields::Format* format_for(uint8_t opcode);
const fields::Format* select(std::span<const uint64_t> words);
void check_family(const fields::Decoded& d, const fields::Context& ctx,
                  std::vector<fields::Problem>& out);

// The family: DW0[7:0] picks the member; any other opcode is flagged as unknown.
inline constexpr fields::Format kCommand{
    "its-cmd", "ITS command", "Arm IHI0069 §5.3", 256, {}, check_family, select,
    "Only the 12 physical commands are modelled; GICv4 opcodes (0x2x) read as unknown."};

}  // namespace irqremap::its::cmd
