// `irqremap run --arch arm64|x86`: boot firmware on a machine. The per-arch halves are
// run_arm64.cpp and run_x86.cpp; this file only parses and dispatches.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "tools/cli.h"
#include "tools/run_arm64.h"
#include "tools/run_x86.h"
#include "tools/stop_signals.h"

namespace irqremap::cli {

namespace {

// The options bind straight into RunOptions, so the defaults `run` uses are RunOptions'
// own (no instruction budget unless --max-insns: run_machine.h).
struct RunArgs {
  std::string arch;
  RunOptions o;
  std::string mem;
  std::vector<std::string> save_at;  // N FILE
};

// --save-at's N: a whole number of instructions (0 is the machine before its first one).
uint64_t parse_save_at(const std::string& n) {
  if (n.empty() || n.size() > 19 || n.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError(fmt::format("--save-at {}: give the instruction count as a whole number, then the file", n));
  return std::stoull(n);
}

}  // namespace

void add_run(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(
      "run", "Run guest firmware on the AArch64 (QEMU virt, GICv3 ITS) or x86-64 (q35, VT-d) machine");
  sub->add_option("--arch", args->arch, "Machine: arm64 or x86")->required()->check(CLI::IsMember({"arm64", "x86"}));
  sub->add_option("--smp", args->o.smp, "Number of CPUs (1..8)")->check(CLI::Range(1, 8));
  sub->add_option("--kernel", args->o.kernel, "ELF or raw image file");
  sub->add_option("--firmware", args->o.firmware, "Embedded stub (irqremap firmware list), e.g. arm64/uart-hello");
  sub->add_flag("--trace", args->o.trace, "Interleave disassembled guest instructions with device events");
  sub->add_option("--trace-units", args->o.trace_units,
                  "Record only the events of these units in --trace, --trace-out and --trace-svg (comma-separated "
                  "name prefixes: its, gicd, gicr, cpu, pl011, virtio-rng-pci, vtd, lapic, ...); guest instructions "
                  "only when cpu is among them. `--trace --trace-units its` of a Linux boot is its ITS commands")
      ->delimiter(',');
  sub->add_option("--trace-out", args->o.trace_out,
                  "Write the run as Trace Event Format JSON (open in ui.perfetto.dev or chrome://tracing)");
  CLI::Option* svg = sub->add_option("--trace-svg", args->o.trace_svg,
                  "Draw the same timeline as a self-contained SVG picture (lanes, handler slices, MSI arrows)");
  sub->add_option("--trace-svg-window", args->o.trace_svg_window,
                  "Draw only the span of the firmware phases whose names start with this (phase markers)")
      ->needs(svg);
  // CLI11 would read "-5" into the unsigned budget as 2^64-5: a positive count only.
  sub->add_option("--max-insns", args->o.max_insns,
                  "Instruction budget over all CPUs (default: none, the run goes on until the guest powers off)")
      ->check(CLI::Validator(
          [](const std::string& v) {
            return v.starts_with('-') || v.find_first_not_of('0') == std::string::npos
                       ? std::string("the budget is a positive number of instructions")
                       : std::string();
          },
          "POSITIVE"));
  sub->add_option("--mem", args->mem,
                  "RAM in MiB (default 128 as QEMU virt and q35; arm64 at most 261120, the 255 GiB the virt map holds; x86 2 to 3072)");
  sub->add_option("--append", args->o.append,
                  "Kernel command line, as QEMU -append: the device tree's /chosen/bootargs (arm64), the multiboot command line after the kernel's name (x86)");
  sub->add_option("--initrd", args->o.initrd,
                  "Initial ramdisk, as QEMU -initrd: arm64 loads it after a Linux kernel, its bounds in the device tree's "
                  "/chosen; x86 gives it to a multiboot kernel as its one module (at the page after the kernel, "
                  "mods_count 1; kvm-unit-tests reads its environment from it)");
  sub->add_option("--cpu", args->o.cpu,
                  "x86 CPU, as QEMU -cpu: qemu64 with ,+FEATURE or ,-FEATURE items (x2apic, tsc-deadline, umip; "
                  "all present by default), e.g. qemu64,-x2apic: CPUID stops reporting it and what it adds is reserved");
  sub->add_option("--device", args->o.devices,
                  "Add a PCI device, as QEMU -device (arm64; repeatable): pci-testdev (QEMU's PCI test device) or "
                  "virtio-rng-pci (virtio entropy device, MSI-X through the ITS) goes to the next free slot of the "
                  "generic ECAM host's bus 0 (00:01.0 first), after the host bridge at 00:00.0")
      ->allow_extra_args(false);
  sub->add_option("--rng-seed", args->o.rng_seed,
                  "Seed of virtio-rng-pci's deterministic generator (default 0): the same seed gives the same bytes");
  CLI::Option* gdb = sub->add_option("--gdb", args->o.gdb,
                  "Wait for a GDB connection on this TCP port, on 127.0.0.1 only (as QEMU -gdb tcp::PORT; "
                  "tcp::PORT is accepted): one thread per CPU, breakpoints, watchpoints, single-step");
  sub->add_flag("--gdb-wait", args->o.gdb_wait,
                "Hold every CPU before its first instruction until the debugger continues (as QEMU -S)")
      ->needs(gdb);
  sub->add_option("--save-at", args->save_at,
                  "Save the whole machine to FILE after exactly N instructions (over all "
                  "CPUs), then go on (as QEMU's savevm); --restore FILE starts from it")
      ->expected(2)
      ->type_name("N FILE");
  sub->add_option("--restore", args->o.restore,
                  "Start from a machine saved with --save-at instead of an image (as QEMU -loadvm; give the same "
                  "--smp, --mem and --device the saved machine had: another configuration is refused)");
  sub->add_flag("--migrate", args->o.migrate,
                "Migrate the machine where a kvm-unit-tests migration test asks (\"Now migrate the VM...\"): save "
                "it, restore it into a new machine and type a key, as kvm-unit-tests' scripts do with two QEMUs");
  sub->footer(
      "arm64 boots as QEMU virt -kernel does: a Linux arm64 Image at RAM base + text_offset (0x40200000\n"
      "for text_offset 0), a raw image at 0x40080000, each entered with x0 = the device tree (at RAM base +\n"
      "min(RAM/2, 128 MiB), or past the kernel and --initrd, 2 MiB aligned); an ELF at its physical\n"
      "addresses (RAM or flash). A gzip-compressed Image is refused: gunzip it first.\n"
      "x86 boots as QEMU q35 -kernel does: a multiboot ELF32 in 32-bit protected mode with EAX = 0x2BADB002\n"
      "and EBX = the multiboot information; an ELF64 or raw image (at 0x100000) in 64-bit mode.\n"
      "UART output goes to stdout as the guest writes it; stdin is the UART's input (the PL011 on arm64,\n"
      "COM1's 16550 on x86), as with QEMU's -serial stdio. Exit status: 0 after a power-off, (value << 1) | 1\n"
      "after an x86 isa-debug-exit write, 1 with one line (what, CPU, PC, instruction, instructions run)\n"
      "when the run stops otherwise: the --max-insns budget, a guest fault, a deadlock, Ctrl-C (SIGINT) or SIGTERM;\n"
      "2 for bad arguments. A signal stops the run between two quanta; the UART output and the trace files\n"
      "are written as for any other stop.\n"
      "Debugging, side by side with QEMU:\n"
      "  qemu-system-aarch64 -M virt,gic-version=3,its=on -kernel fw.elf -s -S\n"
      "  irqremap run --arch arm64 --kernel fw.elf --gdb tcp::1234 --gdb-wait\n"
      "  gdb-multiarch fw.elf -ex 'target remote :1234'\n"
      "When the guest powers off the debugger is told the process exited, and run ends with its usual status;\n"
      "gdb's detach (or a debugger that goes) lets the run go on, gdb's kill ends it (status 1).\n"
      "Snapshots (docs/SNAPSHOT.md): --save-at N FILE writes every CPU, RAM and device to FILE after exactly\n"
      "N instructions (the running quantum is cut there); --restore FILE, with the same --arch, --smp, --mem, --device\n"
      "and --rng-seed, goes on from there exactly as the saved run went on (same output, same trace).");
  sub->callback([&ctx, args] {
    RunOptions o = args->o;
    if (!args->mem.empty()) o.mem_mib = parse_mem_mib(args->mem);
    if (!args->save_at.empty()) {
      o.save_at = parse_save_at(args->save_at.at(0));
      o.save_file = args->save_at.at(1);
    }
    // For the whole run, not only the guest's part: a signal while the trace files are
    // written is recorded and ignored instead of cutting them short.
    const StopSignals signals;
    ctx.status = args->arch == "arm64" ? run_arm64(o, ctx.io) : run_x86(o, ctx.io);
  });
}

}  // namespace irqremap::cli
