// The architectures `irqremap translate` knows. Each adds its own subcommand here.
#include "tools/cli.h"

namespace irqremap::cli {

void add_translate_subcommands(CLI::App& translate, Context& ctx) {
  (void)translate;
  (void)ctx;
}

}  // namespace irqremap::cli
