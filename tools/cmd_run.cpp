// `irqremap run --arch arm64|x86`: boot firmware on a machine. The per-arch halves are
// run_arm64.cpp and run_x86.cpp; this file only parses and dispatches.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "tools/cli.h"
#include "tools/run_arm64.h"
#include "tools/run_x86.h"

namespace irqremap::cli {

namespace {

struct RunArgs {
  std::string arch;
  unsigned smp = 1;
  std::string kernel;
  std::string firmware;
  bool trace = false;
  uint64_t max_insns = 100'000'000;
};

}  // namespace

void add_run(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(
      "run", "Run guest firmware on the AArch64 (QEMU virt, GICv3 ITS) or x86-64 (q35, VT-d) machine");
  sub->add_option("--arch", args->arch, "Machine: arm64 or x86")->required()->check(CLI::IsMember({"arm64", "x86"}));
  sub->add_option("--smp", args->smp, "Number of CPUs (1..8)")->check(CLI::Range(1, 8));
  sub->add_option("--kernel", args->kernel, "ELF or raw image file");
  sub->add_option("--firmware", args->firmware, "Embedded stub (irqremap firmware list), e.g. arm64/uart-hello");
  sub->add_flag("--trace", args->trace, "Interleave disassembled guest instructions with device events");
  sub->add_option("--max-insns", args->max_insns, "Instruction budget over all CPUs");
  sub->callback([&ctx, args] {
    if (args->arch == "arm64") {
      ctx.status = run_arm64(RunArm64Options{args->smp, args->kernel, args->firmware, args->trace, args->max_insns},
                             ctx.io);
    } else {
      ctx.status = run_x86(RunX86Options{args->smp, args->kernel, args->firmware, args->trace, args->max_insns},
                           ctx.io);
    }
  });
}

}  // namespace irqremap::cli
