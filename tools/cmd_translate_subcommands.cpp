// The architectures `irqremap translate` knows. Each adds its own subcommand here.
#include <CLI/CLI.hpp>

#include "tools/cli.h"

namespace irqremap::cli {

void add_translate_x86(CLI::App& translate, Context& ctx);    // cmd_translate_x86.cpp
void add_translate_arm64(CLI::App& translate, Context& ctx);  // cmd_translate_arm64.cpp

void add_translate_subcommands(CLI::App& translate, Context& ctx) {
  add_translate_x86(translate, ctx);
  add_translate_arm64(translate, ctx);
}

}  // namespace irqremap::cli
