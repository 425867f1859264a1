#pragma once
// 64-bit IDT gate descriptor (Intel SDM vol. 3A §6.14.1, Figure 6-8 "64-Bit IDT Gate
// Descriptors"), 16 bytes. The machine reads the gate for each interrupt it vectors into
// the guest (§6.14.2); `irqremap explain idt-gate` style decoding comes from this table.
#include <array>
#include <cstdint>

#include "remap/fields.h"

namespace irqremap::x86::idt {

using fields::Access;
using fields::EnumLabel;
using fields::Field;

inline constexpr EnumLabel kType[] = {{0xE, "64-bit interrupt gate"}, {0xF, "64-bit trap gate"}};
inline constexpr Field OFFSET_LO{"Offset 15:0", 15, 0, Access::RW, "Handler offset bits 15:0"};
inline constexpr Field SELECTOR{"Segment Selector", 31, 16, Access::RW, "Code segment of the handler"};
inline constexpr Field IST{"IST", 34, 32, Access::RW, "Interrupt Stack Table index (0: none)"};
inline constexpr Field TYPE{"Type", 43, 40, Access::RW, "Gate type", kType};
inline constexpr Field DPL{"DPL", 46, 45, Access::RW, "Descriptor privilege level"};
inline constexpr Field P{"P", 47, 47, Access::RW, "Present"};
inline constexpr Field OFFSET_MID{"Offset 31:16", 63, 48, Access::RW, "Handler offset bits 31:16"};
inline constexpr Field OFFSET_HI{"Offset 63:32", 95, 64, Access::RW, "Handler offset bits 63:32"};
inline constexpr Field kGateFields[] = {
    OFFSET_LO, SELECTOR, IST,
    {"Rsvd", 39, 35, Access::Rsvd, "reserved"},
    TYPE,
    {"Rsvd", 44, 44, Access::Rsvd, "zero"},
    DPL, P, OFFSET_MID, OFFSET_HI,
    {"Rsvd", 127, 96, Access::Rsvd, "reserved"},
};
static_assert(fields::well_formed(kGateFields, 128, true));
inline constexpr fields::Format kGate{"idt-gate", "64-bit IDT gate descriptor",
                                      "Intel SDM vol. 3A §6.14.1", 128, kGateFields};

inline constexpr uint8_t kInterruptGate = 0xE, kTrapGate = 0xF;

struct Gate {
  uint64_t offset = 0;
  uint16_t selector = 0;
  uint8_t ist = 0;
  uint8_t type = 0;
  uint8_t dpl = 0;
  bool present = false;
};

constexpr Gate decode(const std::array<uint64_t, 2>& w) {
  Gate g;
  g.offset = fields::get(w, OFFSET_LO) | (fields::get(w, OFFSET_MID) << 16) |
             (fields::get(w, OFFSET_HI) << 32);
  g.selector = uint16_t(fields::get(w, SELECTOR));
  g.ist = uint8_t(fields::get(w, IST));
  g.type = uint8_t(fields::get(w, TYPE));
  g.dpl = uint8_t(fields::get(w, DPL));
  g.present = fields::get(w, P) != 0;
  return g;
}

constexpr std::array<uint64_t, 2> encode(const Gate& g) {
  std::array<uint64_t, 2> w{};
  fields::set(w, OFFSET_LO, g.offset & 0xFFFF);
  fields::set(w, OFFSET_MID, (g.offset >> 16) & 0xFFFF);
  fields::set(w, OFFSET_HI, g.offset >> 32);
  fields::set(w, SELECTOR, g.selector);
  fields::set(w, IST, g.ist);
  fields::set(w, TYPE, g.type);
  fields::set(w, DPL, g.dpl);
  fields::set(w, P, g.present ? 1 : 0);
  return w;
}

}  // namespace irqremap::x86::idt
