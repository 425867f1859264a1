// `irqremap snapshot show FILE`: a snapshot explained field by field (docs/SNAPSHOT.md).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "snapshot/records.h"
#include "snapshot/snapshot_file.h"
#include "tools/cli.h"

namespace irqremap::cli {

namespace {

struct ShowArgs {
  std::string file;
  std::string path;
  bool memory = false;
};

}  // namespace

void add_snapshot(CLI::App& app, Context& ctx) {
  CLI::App* snap = app.add_subcommand("snapshot", "Explain a machine snapshot (run --save-at) field by field");
  snap->require_subcommand(1);
  auto args = std::make_shared<ShowArgs>();
  CLI::App* show = snap->add_subcommand(
      "show", "Print the file's header and every record as path: value (the memory's pages only with --memory)");
  show->add_option("file", args->file, "A file written by run --save-at")->required();
  show->add_option("--path", args->path, "Only the records whose path starts with this (e.g. cpu1/, its/)");
  show->add_flag("--memory", args->memory, "Also every saved page of guest memory (page index and its first bytes)");
  show->callback([&ctx, args] {
    auto bytes = snapshot::read_file(args->file);
    if (!bytes) throw UsageError("snapshot show " + bytes.error());
    auto d = snapshot::decode(*bytes);
    if (!d) throw UsageError(fmt::format("snapshot show {}: {}", args->file, d.error()));
    auto rs = snapshot::records(d->stream);
    if (!rs) throw UsageError(fmt::format("snapshot show {}: {}", args->file, rs.error()));
    std::ostream& out = ctx.io.out;
    out << fmt::format("format version {}\nconfiguration: {}\nstate: {} bytes in {} records\n", d->version,
                       d->configuration, d->stream.size(), rs->size());
    uint64_t pages = 0;
    for (const snapshot::Record& r : *rs) {
      const bool page = r.path.starts_with("memory/region/page") || r.path.starts_with("memory/region/data");
      pages += r.path.starts_with("memory/region/data");
      if ((page && !args->memory) || !r.path.starts_with(args->path)) continue;
      out << r.path << ": " << r.value << "\n";
    }
    if (!args->memory && args->path.empty())
      out << fmt::format("memory: {} pages of 4 KiB saved (--memory lists them)\n", pages);
  });
}

}  // namespace irqremap::cli
