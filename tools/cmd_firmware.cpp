// irqremap firmware list | firmware disasm NAME [--symbol S]: the guest firmware stubs
// built from guest-fw/ and embedded in the tool, listed and disassembled (Capstone).
#include <fmt/format.h>

#include "guest-fw/firmware.h"
#include <CLI/CLI.hpp>

#include "tools/cli.h"
#include "tools/firmware_listing.h"

namespace irqremap::cli {

void add_firmware(CLI::App& app, Context& ctx) {
  CLI::App* fw = app.add_subcommand("firmware", "List and disassemble the embedded guest firmware stubs");
  fw->require_subcommand(1);

  CLI::App* list = fw->add_subcommand("list", "Every stub: NAME, arch, ELF size and what it does");
  list->callback([&ctx] {
    for (const guestfw::Firmware& f : guestfw::all())
      ctx.io.out << fmt::format("{:<24} {:>6} bytes  {}\n", f.name, f.elf.size(), f.description);
  });

  CLI::App* dis = fw->add_subcommand("disasm", "Disassemble a stub's code with its labels");
  auto name = std::make_shared<std::string>();
  auto symbol = std::make_shared<std::string>();
  dis->add_option("NAME", *name, "Stub name, as `firmware list` prints it (e.g. arm64/uart-hello)")
      ->required();
  dis->add_option("--symbol", *symbol, "Only the code from this label to the next");
  dis->callback([&ctx, name, symbol] {
    const guestfw::Firmware* f = guestfw::find(*name);
    if (f == nullptr) {
      std::string known;
      for (const guestfw::Firmware& g : guestfw::all()) known += (known.empty() ? "" : ", ") + std::string(g.name);
      throw UsageError(fmt::format("unknown firmware '{}' (known: {})", *name, known));
    }
    auto text = firmware_listing(*f, *symbol);
    if (!text) throw UsageError(text.error());
    ctx.io.out << *text;
  });
}

}  // namespace irqremap::cli
