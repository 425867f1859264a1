#include "remap/fields.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace irqremap::fields {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view label_for(const Field& f, uint64_t v) {
  for (const EnumLabel& l : f.labels)
    if (l.value == v) return l.label;
  return {};
}

std::string field_names(const Format& fmt_) {
  std::string out;
  for (const Field& f : fmt_.fields) {
    if (f.access == Access::Rsvd || f.access == Access::Fixed) continue;
    if (!out.empty()) out += ' ';
    out += f.name;
  }
  return out;
}

}  // namespace

std::optional<uint64_t> Decoded::get(std::string_view name) const {
  for (const FieldValue& v : values)
    if (v.field->name == name) return v.value;
  return std::nullopt;
}

bool Decoded::has_problem_with(std::string_view field) const {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const Problem& p) { return p.field == field; });
}

Decoded decode(const Format& format, std::span<const uint64_t> words, const Context& ctx) {
  const Format* f = &format;
  Decoded d;
  d.words.assign(words.begin(), words.end());
  d.words.resize(format.words(), 0);
  if (f->select != nullptr) {
    const Format* member = f->select(d.words);
    if (member == nullptr) {
      d.format = f;
      d.problems.push_back({"", fmt::format("no {} matches this value", f->title)});
      if (f->check != nullptr) f->check(d, ctx, d.problems);
      return d;
    }
    f = member;
  }
  d.format = f;
  for (const Field& field : f->fields) {
    FieldValue v{&field, fields::get(d.words, field), {}};
    v.label = label_for(field, v.value);
    d.values.push_back(v);
    switch (field.access) {
      case Access::Rsvd:
        if (v.value != 0)
          d.problems.push_back({std::string(field.name),
                                fmt::format("reserved bits {} set ({:#x}); they must be zero",
                                            bit_range(field), v.value)});
        break;
      case Access::Fixed:
        if (v.value != field.fixed)
          d.problems.push_back({std::string(field.name),
                                fmt::format("{} must be {:#x} for {}, found {:#x}", field.name,
                                            field.fixed, f->title, v.value)});
        break;
      default:
        if (!field.labels.empty()) {
          if (v.label.empty())
            d.problems.push_back({std::string(field.name),
                                  fmt::format("{}={} is not a defined encoding", field.name,
                                              show_value(v))});
          else if (v.label.starts_with("reserved"))
            d.problems.push_back({std::string(field.name),
                                  fmt::format("{}={} is a reserved encoding", field.name,
                                              show_value(v))});
        }
        break;
    }
  }
  if (f->bits % 64 != 0 && !d.words.empty()) {
    const uint64_t over = d.words.back() & ~bits::mask(f->bits % 64 - 1, 0);
    if (over != 0)
      d.problems.push_back({"", fmt::format("value has bits above bit {} set ({:#x})", f->bits - 1,
                                            over)});
  }
  if (f->check != nullptr) f->check(d, ctx, d.problems);
  return d;
}

std::expected<std::vector<uint64_t>, std::string> encode(
    const Format& format, std::span<const std::pair<std::string, uint64_t>> assignments) {
  if (format.select != nullptr)
    return std::unexpected(fmt::format(
        "'{}' is a family of formats; name a member to encode (see 'irqremap explain --list')",
        format.name));
  std::vector<uint64_t> words(format.words(), 0);
  for (const Field& f : format.fields)
    if (f.access == Access::Fixed) set(words, f, f.fixed);
  for (const auto& [name, value] : assignments) {
    const Field* field = nullptr;
    for (const Field& f : format.fields)
      if (iequal(f.name, name)) field = &f;
    if (field == nullptr)
      return std::unexpected(fmt::format("unknown field '{}' in {} (fields: {})", name,
                                         format.name, field_names(format)));
    if (field->access == Access::Rsvd)
      return std::unexpected(fmt::format("field '{}' of {} is reserved and must stay zero", name,
                                         format.name));
    if (field->access == Access::Fixed) {
      if (value != field->fixed)
        return std::unexpected(fmt::format("field '{}' of {} is fixed at {:#x}", field->name,
                                           format.name, field->fixed));
      continue;
    }
    uint64_t raw = value;
    if (field->is_address()) {
      const uint64_t align = bits::mask(field->addr_shift - 1, 0);
      if ((value & align) != 0)
        return std::unexpected(fmt::format("{}={:#x} is not aligned to {} bytes", field->name,
                                           value, uint64_t{1} << field->addr_shift));
      raw = value >> field->addr_shift;
    }
    if (!bits::fits(raw, field->width()))
      return std::unexpected(fmt::format(
          "value {:#x} does not fit {} ({} bit{}{})", value, field->name, field->width(),
          field->width() == 1 ? "" : "s",
          field->is_address() ? fmt::format(", address bits {}:{}",
                                            field->addr_shift + field->width() - 1,
                                            field->addr_shift)
                              : ""));
    set(words, *field, raw);
  }
  return words;
}

std::expected<uint64_t, std::string> parse_number(std::string_view text) {
  std::string_view t = text;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  } else if (t.size() > 2 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B')) {
    base = 2;
    t.remove_prefix(2);
  }
  std::string clean;
  for (char c : t)
    if (c != '_' && c != '\'') clean += c;
  uint64_t v = 0;
  if (clean.empty())
    return std::unexpected(fmt::format("'{}' is not a number (use hex 0x.. or decimal)", text));
  auto [ptr, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), v, base);
  if (ec == std::errc::result_out_of_range)
    return std::unexpected(fmt::format("'{}' does not fit in 64 bits", text));
  if (ec != std::errc() || ptr != clean.data() + clean.size())
    return std::unexpected(fmt::format("'{}' is not a number (use hex 0x.. or decimal)", text));
  return v;
}

std::expected<std::vector<uint64_t>, std::string> parse_value(const Format& format,
                                                              std::span<const std::string> args) {
  const unsigned n = format.words();
  if (args.size() == 1 && n > 1) {
    // One wide hex number: "0x" followed by up to bits/4 digits, low word last.
    std::string_view t = args[0];
    if (t.starts_with("0x") || t.starts_with("0X")) t.remove_prefix(2);
    std::string digits;
    for (char c : t)
      if (c != '_') digits += c;
    if (digits.empty() || digits.size() > format.bits / 4 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      return std::unexpected(fmt::format(
          "{} is {} bits: give {} 64-bit words (low first) or one hex number of up to {} digits",
          format.name, format.bits, n, format.bits / 4));
    std::vector<uint64_t> words(n, 0);
    for (unsigned w = 0; w < n && !digits.empty(); ++w) {
      const std::size_t take = std::min<std::size_t>(16, digits.size());
      words[w] = std::stoull(digits.substr(digits.size() - take), nullptr, 16);
      digits.resize(digits.size() - take);
    }
    return words;
  }
  if (args.size() != n)
    return std::unexpected(fmt::format(
        "{} is {} bits: expected {} value{} (64-bit words, low first){}, got {}", format.name,
        format.bits, n, n == 1 ? "" : "s", n > 1 ? " or one wide hex number" : "", args.size()));
  std::vector<uint64_t> words;
  for (const std::string& a : args) {
    auto v = parse_number(a);
    if (!v) return std::unexpected(v.error());
    words.push_back(*v);
  }
  if (format.bits < 64 && !bits::fits(words[0], format.bits))
    return std::unexpected(
        fmt::format("value {:#x} is wider than {} ({} bits)", words[0], format.name, format.bits));
  return words;
}

std::string bit_range(const Field& f) {
  return f.hi == f.lo ? fmt::format("{}", f.lo) : fmt::format("{}:{}", f.hi, f.lo);
}

std::string show_value(const FieldValue& v) {
  const Field& f = *v.field;
  if (!f.labels.empty() && f.width() > 1)
    return fmt::format("{:0{}b}", v.value, f.width());
  if (f.width() <= 3) return fmt::format("{}", v.value);
  return fmt::format("{:#x}", v.value);
}

std::string explain(const Decoded& d) {
  std::string out = fmt::format("{} — {}\n", d.format->title, d.format->spec);
  out += "  value:";
  for (std::size_t i = 0; i < d.words.size(); ++i)
    out += fmt::format(" {}{:#018x}", d.words.size() > 1 ? fmt::format("w{}=", i) : "", d.words[i]);
  out += '\n';
  if (!d.values.empty()) {
    std::size_t name_w = 5;
    for (const FieldValue& v : d.values) name_w = std::max(name_w, v.field->name.size());
    out += fmt::format("  {:>7}  {:<{}}  {:<18}  {}\n", "bits", "field", name_w, "value", "meaning");
    for (const FieldValue& v : d.values) {
      const Field& f = *v.field;
      std::string meaning(f.meaning);
      if (!v.label.empty()) meaning = fmt::format("{}: {}", f.meaning, v.label);
      if (f.is_address())
        meaning += fmt::format(" (address {:#x})", v.value << f.addr_shift);
      if (f.access == Access::Rsvd) meaning = v.value == 0 ? "reserved, zero" : "reserved, SET";
      out += fmt::format("  {:>7}  {:<{}}  {:<18}  {}\n", bit_range(f), f.name, name_w,
                         show_value(v), meaning);
    }
  }
  if (!d.format->notes.empty()) out += fmt::format("  note: {}\n", d.format->notes);
  if (d.problems.empty()) {
    out += "  ok: no reserved bits set, every field holds a defined value\n";
  } else {
    for (const Problem& p : d.problems)
      out += fmt::format("  PROBLEM{}: {}\n", p.field.empty() ? "" : " " + p.field, p.message);
  }
  return out;
}

nlohmann::json to_json(const Decoded& d) {
  nlohmann::json j;
  j["format"] = d.format->name;
  j["title"] = d.format->title;
  j["spec"] = d.format->spec;
  j["words"] = nlohmann::json::array();
  for (uint64_t w : d.words) j["words"].push_back(fmt::format("{:#018x}", w));
  nlohmann::json fs = nlohmann::json::object();
  for (const FieldValue& v : d.values) {
    const Field& f = *v.field;
    if (f.access == Access::Rsvd && v.value == 0) continue;
    std::string key(f.name);
    if (f.access == Access::Rsvd) key += "[" + bit_range(f) + "]";
    nlohmann::json fj = {{"bits", bit_range(f)}, {"value", v.value}, {"meaning", f.meaning}};
    if (!v.label.empty()) fj["label"] = v.label;
    if (f.is_address()) fj["address"] = fmt::format("{:#x}", v.value << f.addr_shift);
    fs[key] = fj;
  }
  j["fields"] = fs;
  j["problems"] = nlohmann::json::array();
  for (const Problem& p : d.problems) j["problems"].push_back({{"field", p.field}, {"message", p.message}});
  j["ok"] = d.problems.empty();
  return j;
}

}  // namespace irqremap::fields
