#pragma once
// Declarative field tables (docs/DESIGN.md, "Shared vocabulary" and "Conventions"). One
// table per hardware format: name, bit range, meaning, allowed values. The same table drives encode, decode,
// reserved-bit checks and the human explanation, so each bit layout is written down once.
//
// Bits are numbered across the whole format as the specs do: bit 0 is the LSB of 64-bit
// word 0, bit 64 the LSB of word 1 (IRTE SID is 79:64, an ITS command's DW2 starts at 128).
// A field lies inside one 64-bit word and is at most 64 bits wide.
//
// Hot paths use fields::get/set on a constexpr Field directly; everything is constexpr.
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "remap/bits.h"

namespace irqremap::fields {

enum class Access : uint8_t {
  RW,       // read/write (registers) or an ordinary field (tables, commands)
  RO,       // read-only register field
  WO,       // write-only register field (reads as 0)
  W1C,      // write 1 to clear
  Rsvd,     // reserved: must be zero; a set bit is flagged by decode/validate
  Ignored,  // don't care: hardware ignores it
  Fixed,    // must equal Field::fixed (an opcode, a format bit); encode sets it
};

struct EnumLabel {
  uint64_t value;
  std::string_view label;
};

struct Field {
  std::string_view name;  // the spec's name, verbatim
  unsigned hi = 0;        // highest bit, absolute across the format
  unsigned lo = 0;        // lowest bit
  Access access = Access::RW;
  std::string_view meaning;
  std::span<const EnumLabel> labels = {};  // enumerations spelled out
  uint64_t fixed = 0;                      // for Access::Fixed
  // Non-zero for address fields: the field's LSB holds address bit `addr_shift`, so the
  // byte address is value << addr_shift. encode takes the byte address for such a field.
  unsigned addr_shift = 0;

  constexpr unsigned width() const { return hi - lo + 1; }
  constexpr unsigned word() const { return lo / 64; }
  constexpr unsigned word_lo() const { return lo % 64; }
  constexpr unsigned word_hi() const { return hi % 64; }
  constexpr uint64_t word_mask() const { return bits::mask(word_hi(), word_lo()); }
  constexpr bool is_address() const { return addr_shift != 0; }
};

constexpr uint64_t get(std::span<const uint64_t> words, const Field& f) {
  return bits::extract(words[f.word()], f.word_hi(), f.word_lo());
}
constexpr void set(std::span<uint64_t> words, const Field& f, uint64_t value) {
  words[f.word()] = bits::deposit(words[f.word()], f.word_hi(), f.word_lo(), value);
}
// Single-word formats (registers, 64-bit entries).
constexpr uint64_t get(uint64_t word, const Field& f) { return bits::extract(word, f.hi, f.lo); }
constexpr uint64_t set(uint64_t word, const Field& f, uint64_t value) {
  return bits::deposit(word, f.hi, f.lo, value);
}

// Bits of `word` covered by reserved (Rsvd) fields: a set bit there is an error.
constexpr uint64_t reserved_mask(std::span<const Field> fs, unsigned word) {
  uint64_t m = 0;
  for (const Field& f : fs)
    if (f.access == Access::Rsvd && f.word() == word) m |= f.word_mask();
  return m;
}
// Bits of `word` covered by any field.
constexpr uint64_t defined_mask(std::span<const Field> fs, unsigned word) {
  uint64_t m = 0;
  for (const Field& f : fs)
    if (f.word() == word) m |= f.word_mask();
  return m;
}

// Compile-time table check (docs/DESIGN.md, "Conventions"): fields fit the format and their
// word, do not overlap, and non-reserved names are unique; `complete` also demands every bit be covered.
constexpr bool well_formed(std::span<const Field> fs, unsigned total_bits, bool complete) {
  for (std::size_t i = 0; i < fs.size(); ++i) {
    const Field& a = fs[i];
    if (a.hi < a.lo || a.hi >= total_bits || a.hi / 64 != a.lo / 64) return false;
    if (a.name.empty()) return false;
    for (std::size_t j = i + 1; j < fs.size(); ++j) {
      const Field& b = fs[j];
      if (a.lo <= b.hi && b.lo <= a.hi) return false;
      if (a.access != Access::Rsvd && b.access != Access::Rsvd && a.name == b.name) return false;
    }
  }
  if (complete) {
    for (unsigned w = 0; w * 64 < total_bits; ++w) {
      const unsigned top = total_bits - w * 64 >= 64 ? 63 : total_bits - w * 64 - 1;
      if (defined_mask(fs, w) != bits::mask(top, 0)) return false;
    }
  }
  return true;
}

struct Problem {
  std::string field;  // the field's name, or "" for the whole value
  std::string message;
  bool operator==(const Problem&) const = default;
};

struct FieldValue {
  const struct Field* field = nullptr;
  uint64_t value = 0;
  std::string_view label;  // the enumeration's label for the value, if any
};

struct Format;

// Settings that change how a value is read, which the value itself does not carry.
struct Context {
  bool eime = false;  // VT-d IRTA.EIME: IRTE DST holds a 32-bit x2APIC ID
};

struct Decoded {
  const Format* format = nullptr;
  std::vector<uint64_t> words;
  std::vector<FieldValue> values;
  std::vector<Problem> problems;

  std::optional<uint64_t> get(std::string_view name) const;
  bool ok() const { return problems.empty(); }
  bool has_problem_with(std::string_view field) const;
};

using CheckFn = void (*)(const Decoded&, const Context&, std::vector<Problem>&);
using SelectFn = const Format* (*)(std::span<const uint64_t> words);

struct Format {
  std::string_view name;   // CLI name, lower case: "irte", "mapti", "gits_typer"
  std::string_view title;  // "Interrupt Remapping Table Entry (remapped format)"
  std::string_view spec;   // citation: "Intel VT-d spec rev 5.10 §9.9"
  unsigned bits = 64;      // 8, 32, 64, 128 or 256
  std::span<const Field> fields;
  CheckFn check = nullptr;  // checks beyond reserved bits and enumerations
  // For a family (IRTE remapped/posted by IM; ITS command by opcode): picks the member
  // format from the raw value, or returns nullptr ("unknown opcode"). Such a format has
  // no fields of its own.
  SelectFn select = nullptr;
  std::string_view notes = {};  // implementation-defined choices, said once

  constexpr unsigned words() const { return (bits + 63) / 64; }
};

// Decode every field; flags reserved bits set, values outside an enumeration that lists
// every allowed value (a label named "reserved" marks a reserved encoding), Fixed fields
// that do not hold their value, bits above `bits`, and whatever Format::check adds.
Decoded decode(const Format& format, std::span<const uint64_t> words, const Context& ctx = {});

// Build a value from NAME=VALUE assignments. Fixed fields take their value; other fields
// not named are zero. Errors: unknown field, reserved field, value too wide, misaligned
// address. Names match case-insensitively.
std::expected<std::vector<uint64_t>, std::string> encode(
    const Format& format, std::span<const std::pair<std::string, uint64_t>> assignments);

// Parse the words of a value from command-line text: hex (0x..) or decimal, one value
// per 64-bit word (low first), or a single hex number of up to bits/4 digits.
std::expected<std::vector<uint64_t>, std::string> parse_value(const Format& format,
                                                              std::span<const std::string> args);
// Parse one number: 0x-prefixed hex, 0b binary, or decimal. Rejects junk and overflow.
std::expected<uint64_t, std::string> parse_number(std::string_view text);

// "31:24" or "5"
std::string bit_range(const Field& f);
// The value as the explanation shows it: binary for enumerations, else hex or decimal.
std::string show_value(const FieldValue& v);

// Field-by-field text explanation with problems at the end.
std::string explain(const Decoded& d);
// The same as JSON, spec names as keys.
nlohmann::json to_json(const Decoded& d);

}  // namespace irqremap::fields
