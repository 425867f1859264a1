// irqremap explain FORMAT VALUE... | explain msi --arch x86|arm64 --address A --data D
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>

#include "remap/formats.h"
#include "remap/vtd/msi_format.h"
#include <CLI/CLI.hpp>

#include "tools/cli.h"
#include "tools/explain_msi.h"
#include "tools/format_registry.h"

namespace irqremap::cli {

namespace {

struct ExplainOptions {
  std::string format;
  std::vector<std::string> values;
  bool json = false;
  bool list = false;
  bool eime = false;
  std::string arch;
  std::string address;
  std::string data;
  std::string device_id;
};

void list_formats(std::ostream& out) {
  for (const FormatGroup& g : explainable_format_groups()) {
    out << g.architecture << ":\n";
    for (const fields::Format* f : g.formats)
      out << fmt::format("  {:<22} {:>3} bits  {}\n", f->name, f->bits, f->title);
  }
  out << "msi:\n  msi --arch x86|arm64 --address A --data D   a whole MSI, explained\n";
}

int explain_value(const ExplainOptions& o, Io io) {
  const fields::Format* f = find_explainable_format(o.format);
  if (f == nullptr)
    throw UsageError(fmt::format("unknown format '{}' (irqremap explain --list shows them)",
                                 o.format));
  auto words = fields::parse_value(*f, o.values);
  if (!words) throw UsageError(words.error());
  fields::Context ctx;
  ctx.eime = o.eime;
  const fields::Decoded d = fields::decode(*f, *words, ctx);
  if (o.json)
    io.out << fields::to_json(d).dump(2) << "\n";
  else
    io.out << fields::explain(d);
  return 0;
}

}  // namespace

void add_explain(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ExplainOptions>();
  CLI::App* sub = app.add_subcommand(
      "explain",
      "Explain a hardware value field by field: an IRTE, an MSI, an ITS command, a register...");
  sub->add_option("format", o->format, "Format name (see --list), or 'msi'");
  sub->add_option("values", o->values,
                  "The value: one number per 64-bit word, low first (hex 0x.. or decimal), or "
                  "one wide hex number");
  sub->add_flag("--json", o->json, "Print JSON with the spec's field names as keys");
  sub->add_flag("--list", o->list, "List every format");
  sub->add_flag("--eime", o->eime, "Read IRTE DST as an x2APIC ID (IRTA.EIME=1)");
  sub->add_option("--arch", o->arch, "For 'msi': x86 or arm64")->check(CLI::IsMember({"x86", "arm64"}));
  sub->add_option("--address", o->address, "For 'msi': the MSI address");
  sub->add_option("--data", o->data, "For 'msi': the MSI data");
  sub->add_option("--device-id", o->device_id, "For 'msi --arch arm64': the DeviceID on the bus");
  sub->callback([o, &ctx] {
    if (o->list) {
      list_formats(ctx.io.out);
      return;
    }
    if (o->format.empty()) throw UsageError("explain needs a format (irqremap explain --list)");
    if (o->format == "msi") {
      MsiQuery q;
      if (o->arch.empty()) throw UsageError("explain msi needs --arch x86 or --arch arm64");
      if (o->address.empty() || o->data.empty())
        throw UsageError("explain msi needs --address and --data");
      if (!o->values.empty()) throw UsageError("explain msi takes --address and --data, not values");
      q.address = parse_number_or_throw(o->address, "--address");
      const uint64_t data = parse_number_or_throw(o->data, "--data");
      if (data > 0xFFFFFFFFu) throw UsageError(fmt::format("--data {:#x} is wider than 32 bits", data));
      q.data = uint32_t(data);
      if (!o->device_id.empty()) {
        const uint64_t dev = parse_number_or_throw(o->device_id, "--device-id");
        if (dev > 0xFFFFFFFFu) throw UsageError("--device-id is wider than 32 bits");
        q.device_id = uint32_t(dev);
      }
      q.eime = o->eime;
      ctx.status = o->arch == "x86" ? explain_msi_x86(q, o->json, ctx.io)
                                    : explain_msi_arm64(q, o->json, ctx.io);
      return;
    }
    ctx.status = explain_value(*o, ctx.io);
  });
}

}  // namespace irqremap::cli
