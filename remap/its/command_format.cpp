#include "remap/its/command_format.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fmt/format.h>

namespace irqremap::its::cmd {

namespace {
struct Entry {
  Opcode op;
  std::string_view name;
  const fields::Format* format;
};
constexpr std::array<Entry, 12> kTable{{
    {Opcode::MOVI, "MOVI", &kMovi},       {Opcode::INT, "INT", &kInt},
    {Opcode::CLEAR, "CLEAR", &kClear},    {Opcode::SYNC, "SYNC", &kSync},
    {Opcode::MAPD, "MAPD", &kMapd},       {Opcode::MAPC, "MAPC", &kMapc},
    {Opcode::MAPTI, "MAPTI", &kMapti},    {Opcode::MAPI, "MAPI", &kMapi},
    {Opcode::INV, "INV", &kInv},          {Opcode::INVALL, "INVALL", &kInvall},
    {Opcode::MOVALL, "MOVALL", &kMovall}, {Opcode::DISCARD, "DISCARD", &kDiscard},
}};
}  // namespace

std::string_view opcode_name(uint8_t opcode) {
  for (const Entry& e : kTable)
    if (uint8_t(e.op) == opcode) return e.name;
  return {};
}

std::optional<Opcode> opcode_by_name(std::string_view name) {
  for (const Entry& e : kTable)
    if (e.name.size() == name.size() &&
        std::equal(name.begin(), name.end(), e.name.begin(), [](char a, char b) {
          return std::toupper(static_cast<unsigned char>(a)) == b;
        }))
      return e.op;
  return std::nullopt;
}

const fields::Format* format_for(uint8_t opcode) {
  for (const Entry& e : kTable)
    if (uint8_t(e.op) == opcode) return e.format;
  return nullptr;
}

const fields::Format* select(std::span<const uint64_t> words) {
  return format_for(uint8_t(fields::get(words, Op)));
}

void check_family(const fields::Decoded& d, const fields::Context&,
                  std::vector<fields::Problem>& out) {
  const uint64_t op = fields::get(d.words, Op);
  out.push_back({"Opcode", fmt::format("unknown opcode {:#04x}: not one of the 12 physical ITS "
                                       "commands (IHI0069 §5.3)",
                                       op)});
}

}  // namespace irqremap::its::cmd
