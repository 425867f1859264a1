// irqremap translate x86|arm64: what-if translation with no CPU. Each architecture's
// subcommand lives in its own file (cmd_translate_x86.cpp, cmd_translate_arm64.cpp).
#include <CLI/CLI.hpp>

#include "tools/cli.h"

namespace irqremap::cli {

void add_translate(CLI::App& app, Context& ctx) {
  CLI::App* t = app.add_subcommand(
      "translate",
      "What-if translation with no CPU: tables in, one MSI in, the delivery or the fault out");
  t->require_subcommand(1);
  add_translate_subcommands(*t, ctx);
}

}  // namespace irqremap::cli
