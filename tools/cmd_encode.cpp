// irqremap encode FORMAT NAME=VALUE...
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>

#include "remap/formats.h"
#include <CLI/CLI.hpp>

#include "tools/cli.h"
#include "tools/format_registry.h"

namespace irqremap::cli {

namespace {
struct EncodeOptions {
  std::string format;
  std::vector<std::string> assignments;
  bool json = false;
};

int encode_value(const EncodeOptions& o, Io io) {
  const fields::Format* f = find_explainable_format(o.format);
  if (f == nullptr)
    throw UsageError(fmt::format("unknown format '{}' (irqremap explain --list shows them)",
                                 o.format));
  std::vector<std::pair<std::string, uint64_t>> as;
  for (const std::string& a : o.assignments) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(fmt::format("'{}' is not NAME=VALUE", a));
    as.emplace_back(a.substr(0, eq), parse_number_or_throw(a.substr(eq + 1), a.substr(0, eq)));
  }
  auto words = fields::encode(*f, as);
  if (!words) throw UsageError(words.error());
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (uint64_t w : *words) j.push_back(fmt::format("{:#018x}", w));
    io.out << nlohmann::json{{"format", f->name}, {"words", j}}.dump(2) << "\n";
    return 0;
  }
  std::string line;
  for (uint64_t w : *words) {
    if (!line.empty()) line += ' ';
    line += f->bits <= 32 ? fmt::format("{:#010x}", w) : fmt::format("{:#018x}", w);
  }
  io.out << line << "\n";
  return 0;
}
}  // namespace

void add_encode(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<EncodeOptions>();
  CLI::App* sub = app.add_subcommand(
      "encode", "Build a value from fields; prints it as 64-bit words, low first, "
                "ready for 'explain'");
  sub->add_option("format", o->format, "Format name (see 'explain --list')")->required();
  sub->add_option("fields", o->assignments, "NAME=VALUE with the spec's field names");
  sub->add_flag("--json", o->json, "Print JSON");
  sub->callback([o, &ctx] { ctx.status = encode_value(*o, ctx.io); });
}

}  // namespace irqremap::cli
