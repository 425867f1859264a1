#include <CLI/CLI.hpp>

#include "tools/cli.h"

#include <fmt/format.h>

#include "remap/fields.h"

namespace irqremap::cli {

void register_commands(CLI::App& app, Context& ctx) {
  add_explain(app, ctx);
  add_encode(app, ctx);
  add_demo(app, ctx);
  add_translate(app, ctx);
  add_firmware(app, ctx);
  add_run(app, ctx);
  add_snapshot(app, ctx);
}

uint64_t parse_number_or_throw(const std::string& text, std::string_view what) {
  auto v = fields::parse_number(text);
  if (!v) throw UsageError(fmt::format("{}: {}", what, v.error()));
  return *v;
}

int run(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
  Context ctx{Io{out, err}};
  CLI::App app{"irqremap: interrupt remapping emulator for x86 VT-d and the GICv3 ITS,\n"
               "explained field by field.",
               "irqremap"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  register_commands(app, ctx);
  std::vector<const char*> argv{"irqremap"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help / --help-all, on the app or a subcommand
      app.exit(e, out, err);
      return 0;
    }
    err << "irqremap: error: " << e.what() << "\n";
    return 2;
  } catch (const UsageError& e) {
    err << "irqremap: error: " << e.what() << "\n";
    return 2;
  }
  return ctx.status;
}

}  // namespace irqremap::cli
