#pragma once
// The irqremap command line. Each subcommand lives in its own cmd_*.cpp and registers
// itself from commands.cpp. Subcommands write to the streams they are given, so tests
// run them in-process. Exit statuses: 0 success, 1 the run itself failed (a guest fault,
// a budget hit), 2 bad input (unknown format, malformed value or argument).
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

// CLI11 stays out of this header so code that only calls run() (the tests) does not
// compile it; the cmd_*.cpp files include <CLI/CLI.hpp> themselves.
namespace CLI {
class App;
}

namespace irqremap::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
};

// Thrown inside the CLI layer for bad input; becomes "irqremap: error: ..." and status 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Shared state of one invocation: the streams and the status a subcommand sets.
struct Context {
  Io io;
  int status = 0;
};

void register_commands(CLI::App& app, Context& ctx);

// Runs irqremap with args (without the program name); returns the exit status.
int run(std::span<const std::string> args, std::ostream& out, std::ostream& err);

// Parses a number (hex 0x.., binary 0b.., decimal) or throws UsageError naming `what`.
uint64_t parse_number_or_throw(const std::string& text, std::string_view what);

// Every subcommand's add_* function, one per file.
void add_explain(CLI::App& app, Context& ctx);
void add_encode(CLI::App& app, Context& ctx);
void add_demo(CLI::App& app, Context& ctx);
void add_translate(CLI::App& app, Context& ctx);
void add_firmware(CLI::App& app, Context& ctx);
void add_run(CLI::App& app, Context& ctx);
void add_snapshot(CLI::App& app, Context& ctx);
// The architectures under `translate`, registered from cmd_translate_subcommands.cpp.
void add_translate_subcommands(CLI::App& translate, Context& ctx);

}  // namespace irqremap::cli
