// Fuzz target: the text the CLI turns into numbers and formats: parse_number_or_throw
// (every numeric option), --mem's parser, and `explain` / `encode` over every format they
// know (tools/format_registry.h), run in-process as the tests run them. Bad input must be
// a UsageError or an exit status of 2, never another exception or a crash.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tools/cli.h"
#include "tools/format_registry.h"
#include "tools/run_machine.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

std::vector<std::string_view> format_names() {
  std::vector<std::string_view> names{"msi"};
  for (const FormatGroup& g : cli::explainable_format_groups())
    for (const fields::Format* f : g.formats) names.push_back(f->name);
  return names;
}

// A number as a user types it: hex, binary, decimal, or raw text.
std::string number(OpStream& in) {
  switch (in.below(4)) {
    case 0: return fmt::format("{:#x}", in.u64());
    case 1: return fmt::format("{:#b}", in.u32());
    case 2: return fmt::format("{}", in.u64());
    default: return in.text(40);
  }
}
}  // namespace

void run(OpStream& in) {
  static const std::vector<std::string_view> names = format_names();
  for (unsigned steps = 0; !in.done() && steps < 16; ++steps) {
    switch (in.below(4)) {
      case 0:
        try {
          (void)cli::parse_number_or_throw(in.text(40), "value");
        } catch (const cli::UsageError&) {
        }
        break;
      case 1:
        try {
          if (cli::parse_mem_mib(in.text(20)) == 0) __builtin_trap();
        } catch (const cli::UsageError&) {
        }
        break;
      case 2:
      case 3: {
        const bool encode = in.flag();
        std::vector<std::string> args{encode ? "encode" : "explain",
                                      std::string(names[in.below(unsigned(names.size()))])};
        const unsigned n = in.below(5);
        for (unsigned i = 0; i < n; ++i) {
          switch (in.below(5)) {
            case 0: args.push_back(in.text(24) + "=" + number(in)); break;
            case 1: args.push_back(in.text(24)); break;
            case 2: args.push_back("--json"); break;
            case 3: args.push_back(in.flag() ? "--eime" : "--arch=" + std::string(in.flag() ? "x86" : "arm64")); break;
            default: args.push_back(number(in)); break;
          }
        }
        std::ostringstream out, err;
        const int status = cli::run(args, out, err);
        if (status != 0 && status != 1 && status != 2) __builtin_trap();
        break;
      }
    }
  }
}

}  // namespace irqremap::fuzz
