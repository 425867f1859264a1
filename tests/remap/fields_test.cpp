// The field-table engine: decode, encode, reserved bits, parsing (docs/DESIGN.md, "Shared
// vocabulary", fields).
#include <doctest/doctest.h>

#include "remap/fields.h"
#include "remap/formats.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"

using namespace irqremap;
using namespace irqremap::fields;

TEST_CASE("fields: every registered table is well formed and names are unique") {
  std::vector<std::string_view> names;
  for (const FormatGroup& g : all_format_groups())
    for (const Format* f : g.formats) {
      CHECK_MESSAGE(well_formed(f->fields, f->bits, false), f->name);
      for (std::string_view n : names) CHECK_MESSAGE(n != f->name, f->name);
      names.push_back(f->name);
      CHECK(find_format(f->name) == f);
    }
  CHECK(find_format("IRTE") == &vtd::irte::kIrte);  // case-insensitive
  CHECK(find_format("no-such-format") == nullptr);
}

TEST_CASE("fields: IRTE encode/decode round trip of every field (VT-d §9.9)") {
  const std::vector<std::pair<std::string, uint64_t>> as{
      {"P", 1}, {"FPD", 1}, {"DM", 1}, {"RH", 1}, {"TM", 1}, {"DLM", 4},
      {"V", 0xEC}, {"DST", 0x00FF0000}, {"SID", 0xABCD}, {"SQ", 3}, {"SVT", 2}};
  auto w = encode(vtd::irte::kRemapped, as);
  REQUIRE(w.has_value());
  // Hand-computed from the §9.9 table: P|FPD|DM|RH|TM = 0x1F, DLM=100 -> 0x80, V at 23:16,
  // DST at 63:32; SID 79:64, SQ 81:80, SVT 83:82.
  CHECK((*w)[0] == 0x00FF0000'00EC009Full);
  CHECK((*w)[1] == 0x0000000000000000ull + 0xABCD + (3ull << 16) + (2ull << 18));
  const Decoded d = decode(vtd::irte::kIrte, *w, Context{.eime = true});
  CHECK(d.format == &vtd::irte::kRemapped);
  for (const auto& [name, value] : as) CHECK_MESSAGE(d.get(name) == value, name);
  CHECK(d.ok());
}

TEST_CASE("fields: IRTE with reserved bits set is flagged (VT-d §9.9 bits 14:12, 31:24, 127:84)") {
  const std::array<uint64_t, 2> w{0x1ull | (1ull << 13) | (1ull << 30), 1ull << (100 - 64)};
  const Decoded d = decode(vtd::irte::kIrte, w);
  CHECK(d.problems.size() == 3);
  CHECK(d.has_problem_with("Rsvd"));
}

TEST_CASE("fields: xAPIC DST with bits outside 47:40 is flagged only when EIME=0 (VT-d §9.9)") {
  auto w = encode(vtd::irte::kRemapped, std::vector<std::pair<std::string, uint64_t>>{
                                            {"P", 1}, {"DST", 0x12345678}});
  REQUIRE(w);
  CHECK(decode(vtd::irte::kIrte, *w, Context{.eime = false}).has_problem_with("DST"));
  CHECK(decode(vtd::irte::kIrte, *w, Context{.eime = true}).ok());
  auto ok = encode(vtd::irte::kRemapped, std::vector<std::pair<std::string, uint64_t>>{
                                             {"P", 1}, {"DST", 0x0300}});
  CHECK(decode(vtd::irte::kIrte, *ok).ok());
}

TEST_CASE("fields: IM selects the posted format and its address fields (VT-d §9.10)") {
  auto w = encode(vtd::irte::kPosted, std::vector<std::pair<std::string, uint64_t>>{
                                          {"P", 1}, {"VV", 0x30}, {"PDA_L", 0x12345640},
                                          {"PDA_H", 0x100000000}});
  REQUIRE(w);
  CHECK(((*w)[0] >> 15 & 1) == 1);  // IM set by encode
  CHECK(((*w)[0] >> 38) == (0x12345640ull >> 6));
  CHECK(((*w)[1] >> 32) == 1);
  const Decoded d = decode(vtd::irte::kIrte, *w);
  CHECK(d.format == &vtd::irte::kPosted);
  CHECK(d.ok());
  CHECK(explain(d).find("(address 0x12345640)") != std::string::npos);
}

TEST_CASE("fields: encode rejects unknown fields, reserved fields, too-wide values, misalignment") {
  using V = std::vector<std::pair<std::string, uint64_t>>;
  auto unknown = encode(vtd::irte::kRemapped, V{{"Vector", 1}});
  REQUIRE(!unknown);
  CHECK(unknown.error().find("unknown field 'Vector'") != std::string::npos);
  auto wide = encode(vtd::irte::kRemapped, V{{"DLM", 8}});
  REQUIRE(!wide);
  CHECK(wide.error() == "value 0x8 does not fit DLM (3 bits)");
  CHECK(!encode(vtd::irte::kRemapped, V{{"Rsvd", 1}}));
  auto misaligned = encode(vtd::irte::kPosted, V{{"PDA_L", 0x1001}});
  REQUIRE(!misaligned);
  CHECK(misaligned.error().find("not aligned to 64 bytes") != std::string::npos);
  CHECK(!encode(vtd::irte::kIrte, V{}));  // a family needs a member
}

TEST_CASE("fields: an undefined enumeration value is flagged (DLM=011 is reserved, VT-d §9.9)") {
  auto w = encode(vtd::irte::kRemapped, std::vector<std::pair<std::string, uint64_t>>{
                                            {"P", 1}, {"DLM", 3}});
  REQUIRE(w);
  const Decoded d = decode(vtd::irte::kIrte, *w);
  CHECK(d.has_problem_with("DLM"));
  CHECK(explain(d).find("DLM=011 is a reserved encoding") != std::string::npos);
}

TEST_CASE("fields: parse_value takes words low-first or one wide hex number") {
  const std::vector<std::string> two{"0x10", "0x20"};
  CHECK(*parse_value(vtd::irte::kIrte, two) == std::vector<uint64_t>{0x10, 0x20});
  const std::vector<std::string> wide{"0x0000000000000020" "0000000000000010"};
  CHECK(*parse_value(vtd::irte::kIrte, wide) == std::vector<uint64_t>{0x10, 0x20});
  const std::vector<std::string> three{"1", "2", "3"};
  CHECK(!parse_value(vtd::irte::kIrte, three));
  const std::vector<std::string> junk{"0xZZ"};
  CHECK(!parse_value(vtd::msi::kDataRemappable, junk));
  const std::vector<std::string> too_wide{"0x100000000"};
  CHECK(parse_value(vtd::msi::kDataRemappable, too_wide).error().find("wider than") !=
        std::string::npos);
  CHECK(!parse_number("18446744073709551616"));
  CHECK(*parse_number("0b101") == 5);
  CHECK(*parse_number("65") == 65);
}

TEST_CASE("fields: remappable MSI index = handle + subhandle when SHV=1 (VT-d §5.1.2.2)") {
  const uint32_t a = vtd::msi::remappable_address(0x8005, true);
  CHECK(a == (0xFEE00000u | (5u << 5) | 0x10 | 0x8 | 0x4));
  const auto idx = vtd::msi::remappable_index(a, 3);
  CHECK(idx.handle == 0x8005);
  CHECK(idx.index == 0x8008);
  CHECK(vtd::msi::remappable_index(vtd::msi::remappable_address(7, false), 3).index == 7);
}
