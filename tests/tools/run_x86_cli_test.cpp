// `irqremap run --arch x86` through the real command line (irqremap::cli::run in-process).
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace {
struct Out {
  int status;
  std::string out, err;
};
Out cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int st = irqremap::cli::run(args, out, err);
  return {st, out.str(), err.str()};
}
}  // namespace

TEST_CASE("cli: run --arch x86 --smp 3 --firmware x86/irq-unplug: nothing lost on hot-unplug, status 0") {
  auto r = cli({"run", "--arch", "x86", "--smp", "3", "--firmware", "x86/irq-unplug"});
  CHECK(r.status == 0);
  CHECK(r.out.find("in-flight slot 0 handled on cpu1: 1") != std::string::npos);
  CHECK(r.out.find("irq-unplug: ok") != std::string::npos);
}

TEST_CASE("cli: run --arch x86 --max-insns stops with status 1 and one line on err") {
  auto r = cli({"run", "--arch", "x86", "--smp", "2", "--firmware", "ipi-ping", "--max-insns", "1000"});
  CHECK(r.status == 1);
  CHECK(r.err.find("instruction budget of 1000 exhausted") != std::string::npos);
}

TEST_CASE("cli: run --arch x86 with an unknown stub or --smp 9 is a usage error (status 2)") {
  CHECK(cli({"run", "--arch", "x86", "--firmware", "x86/nope"}).status == 2);
  CHECK(cli({"run", "--arch", "x86", "--smp", "9", "--firmware", "ipi-ping"}).status == 2);
}
