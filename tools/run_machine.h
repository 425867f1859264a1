#pragma once
// `irqremap run --arch arm64|x86`, shared by both machines (run_arm64.cpp, run_x86.cpp
// instantiate it). Exit statuses: 0 after PSCI SYSTEM_OFF / ACPI power-off; (value << 1) | 1
// after an isa-debug-exit write (x86, as QEMU); 1 when the run stops at its budget, a guest
// fault, an unsupported instruction, a deadlock or a signal (one line on err: what, CPU, PC,
// disassembled instruction, instructions retired); 2 for bad arguments (UsageError).
// A signal stop is 1 like the other stops the guest did not ask for; the CLI installs the
// handlers around the run (stop_signals.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arch/common/scheduler.h"
#include "remap/trace.h"
#include "snapshot/snapshot_file.h"
#include "guest-fw/firmware.h"
#include "tools/cli.h"
#include "tools/gdb_attach.h"
#include "tools/migration.h"
#include "tools/timeline_json.h"
#include "tools/timeline_sink.h"
#include "tools/timeline_svg.h"

namespace irqremap::cli {

struct RunOptions {
  unsigned smp = 1;
  std::string kernel;    // ELF or raw image file
  std::string firmware;  // or an embedded stub, "<arch>/<name>" (the "<arch>/" may be omitted)
  bool trace = false;    // guest instructions, MMIO, interrupt controller, remapping and device events
  // No budget: the run goes on until the guest powers off (or a deadlock, a fault, a
  // signal), as a QEMU run does; a guest that may spin forever needs an explicit budget.
  uint64_t max_insns = arch::kNoInstructionBudget;
  std::optional<uint64_t> mem_mib;  // --mem: RAM in MiB (machine default when absent)
  std::string append;               // --append: the kernel command line
  std::string trace_out;            // --trace-out: Trace Event Format JSON (timeline_json.h)
  std::string trace_svg;            // --trace-svg: the same timeline as a picture (timeline_svg.h)
  std::string trace_svg_window;     // --trace-svg-window: draw only the phases named so
  std::string initrd;               // --initrd: a Linux initrd (arm64) or a multiboot module (x86)
  std::string cpu;                  // --cpu: qemu64[,+FEATURE|-FEATURE...] (x86; run_x86.cpp)
  std::vector<std::string> devices; // --device: PCI devices by QEMU -device name (arm64)
  uint64_t rng_seed = 0;            // --rng-seed: the virtio-rng generators' seed (arm64)
  // --trace-units: only events of these units (name prefixes: "its", "gicr", "cpu", ...)
  // reach --trace and the timeline; guest instructions only when a CPU unit is among them.
  std::vector<std::string> trace_units;
  std::string gdb;                  // --gdb: a GDB stub on this port (gdb_attach.h)
  bool gdb_wait = false;            // --gdb-wait: no instruction before the debugger says so
  // Snapshots (snapshot/snapshot_file.h, docs/SNAPSHOT.md): --save-at N FILE saves the
  // machine at the first quantum boundary after N instructions and goes on; --restore FILE
  // starts from a saved machine instead of an image; --migrate moves the running machine
  // into a fresh one where kvm-unit-tests asks for a migration (migration.h).
  std::optional<uint64_t> save_at;
  std::string save_file;
  std::string restore;
  bool migrate = false;
};

// --mem's value: a whole number of MiB, at least 1 (QEMU -m without a suffix); the upper
// bound is the machine's, checked when it is created.
inline uint64_t parse_mem_mib(const std::string& text) {
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits && text.find_first_not_of('0') != std::string::npos && text.size() - text.find_first_not_of('0') > 12)
    throw UsageError(fmt::format("--mem {}: more RAM than either machine holds (arm64 at most 261120 MiB, x86 3072)",
                                 text));
  const uint64_t mib = digits ? std::stoull(text) : 0;
  if (mib == 0) throw UsageError(fmt::format("--mem {}: give the RAM size as a whole number of MiB, at least 1", text));
  return mib;
}

namespace run_detail {

class StreamSink final : public TraceSink {
 public:
  explicit StreamSink(std::ostream& out) : out_(out) {}
  void on_event(const Event& e) override { out_ << e.format() << "\n"; }

 private:
  std::ostream& out_;
};

// irqremap's stdin as the guest UART's input (arch/arm64/pl011.h: the two points where a
// byte is fetched). A terminal is only polled, so a guest never waits for a keypress that
// may not come; a file or a pipe is read with waiting at the idle point, so its bytes
// arrive at the same points in every run. End of input: nothing more, ever.
inline std::function<std::optional<uint8_t>(bool)> stdin_source() {
  struct State {
    bool tty = ::isatty(0) == 1;
    bool ended = false;
  };
  auto st = std::make_shared<State>();
  return [st](bool at_idle) -> std::optional<uint8_t> {
    if (st->ended) return std::nullopt;
    if (st->tty || !at_idle) {
      pollfd p{0, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return std::nullopt;
    }
    uint8_t b = 0;
    const ssize_t n = ::read(0, &b, 1);
    if (n == 1) return b;
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) st->ended = true;
    return std::nullopt;
  };
}

// Passes on the events of the units asked for (a unit is admitted when its name starts with
// one of `units`; no units: every event). A Linux boot is 10^9 instructions and millions
// of register accesses; `--trace --trace-units its` is its ITS commands and translations.
class UnitFilter final : public TraceSink {
 public:
  UnitFilter(TraceSink& next, const std::vector<std::string>& units) : next_(next), units_(units) {}
  static bool admits(const std::vector<std::string>& units, std::string_view unit) {
    if (units.empty()) return true;
    for (const std::string& u : units)
      if (unit.starts_with(u)) return true;
    return false;
  }
  void on_event(const Event& e) override {
    if (admits(units_, e.unit)) next_.on_event(e);
  }

 private:
  TraceSink& next_;
  const std::vector<std::string>& units_;
};

// The timelines' axis: retired instructions (both machines are deterministic).
template <typename Machine>
uint64_t virtual_now(const Machine& m) {
  if constexpr (requires { m.now(); }) return m.now();
  else return m.time().timeline_now();
}

// Writes the timeline to the files asked for (--trace-out JSON, --trace-svg picture), or
// says why it could not.
inline void write_timeline(const Timeline& t, std::ostream& err, const std::string& json_path,
                           const std::string& svg_path, const std::string& svg_window = "") {
  auto write = [](const char* option, const std::string& path, auto&& put) {
    if (path.empty()) return;
    std::ofstream f(path, std::ios::binary);
    put(f);
    if (!f) throw UsageError(fmt::format("{} {}: cannot write", option, path));
  };
  write("--trace-out", json_path, [&](std::ostream& f) { write_timeline_json(t, f); });
  if (!svg_window.empty()) {
    // A window no phase matches would draw an empty picture; say what the run marked.
    const std::vector<std::string> names = phase_names(t);
    if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return n.starts_with(svg_window); }))
      throw UsageError(fmt::format("--trace-svg-window {}: no firmware phase starts with that ({})", svg_window,
                                   names.empty() ? "the run marked no phases"
                                                 : fmt::format("phases: {}", fmt::join(names, ", "))));
  }
  write("--trace-svg", svg_path, [&](std::ostream& f) { f << timeline_svg(t, svg_window); });
  if (t.dropped != 0)
    err << fmt::format("irqremap: note: the timeline holds the run's first {} items; {} later events are not in it "
                       "(a shorter run, --max-insns, shows the rest)\n",
                       Timeline::kMaxItems, t.dropped);
}

// The most of a --kernel file irqremap reads: a kernel with its debug information fits
// many times over, and a file the size of a disk image is refused before it is read.
inline constexpr std::uintmax_t kMaxKernelBytes = std::uintmax_t{1} << 30;

// A --kernel image (or --initrd ramdisk, `option` says which): a regular file of at most
// kMaxKernelBytes. A directory, a FIFO or a device such as /dev/zero is refused by name
// (reading one throws, blocks or never ends).
inline std::vector<std::byte> read_file(const std::string& path, std::string_view option = "--kernel") {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st))
    throw UsageError(fmt::format("{} {}: cannot open (no such file)", option, path));
  if (!std::filesystem::is_regular_file(st))
    throw UsageError(fmt::format("{} {}: not a regular file{}", option, path,
                                 option == "--kernel" ? " (an ELF or raw image is)" : ""));
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw UsageError(fmt::format("{} {}: cannot read its size: {}", option, path, ec.message()));
  if (size > kMaxKernelBytes)
    throw UsageError(fmt::format("{} {}: {} bytes, more than the {} MiB irqremap reads", option, path, size,
                                 kMaxKernelBytes >> 20));
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(fmt::format("{} {}: cannot open", option, path));
  std::vector<std::byte> out(size);
  f.read(reinterpret_cast<char*>(out.data()), std::streamsize(size));
  if (std::uintmax_t(f.gcount()) != size) throw UsageError(fmt::format("{} {}: read failed", option, path));
  return out;
}

}  // namespace run_detail

// Boots `o` on a Machine built from Config: both machines share this shape (create, load,
// run, attach a trace sink, save and restore), so the two `run --arch` halves are this one
// routine.
// `configure` (may be empty) sets what only one machine's half of `run` knows about.
template <typename Machine, typename Config>
int run_machine(std::string_view arch, const RunOptions& o, Io io,
                const std::function<void(Config&)>& configure = {}) {
  const bool restoring = !o.restore.empty();
  if (restoring ? !o.kernel.empty() || !o.firmware.empty() : o.kernel.empty() == o.firmware.empty())
    throw UsageError(fmt::format("run --arch {}: give exactly one of --kernel FILE, --firmware NAME or --restore FILE",
                                 arch));
  if (restoring && !o.initrd.empty())
    throw UsageError("--initrd: a restored machine has its initrd in its RAM already; --restore takes no --initrd");
  if (o.migrate && !o.gdb.empty())
    throw UsageError("--migrate moves the machine into a new one, which a debugger cannot follow: not with --gdb");
  std::vector<std::byte> file;
  std::span<const std::byte> image;
  std::vector<uint8_t> snapshot_file;
  if (restoring) {
    auto f = snapshot::read_file(o.restore);
    if (!f) throw UsageError("--restore " + f.error());
    snapshot_file = std::move(*f);
  } else if (!o.kernel.empty()) {
    file = run_detail::read_file(o.kernel);
    image = file;
  } else {
    const std::string prefix = std::string(arch) + "/";
    const std::string name = o.firmware.starts_with(prefix) ? o.firmware : prefix + o.firmware;
    const guestfw::Firmware* fw = guestfw::find(name);
    if (fw == nullptr || fw->arch != arch)
      throw UsageError(fmt::format("--firmware {}: no such {} stub (irqremap firmware list)", o.firmware, arch));
    image = fw->elf;
  }
  // Read before the machine is made, so a missing file is reported before anything runs.
  std::optional<std::vector<std::byte>> initrd;
  if (!o.initrd.empty()) initrd = run_detail::read_file(o.initrd, "--initrd");
  Config cfg;
  cfg.cpus = o.smp;
  // The per-arch halves refuse the options their machine does not take (run_x86.cpp).
  if (o.mem_mib) cfg.ram_size = *o.mem_mib << 20;
  if constexpr (requires { cfg.bootargs; }) cfg.bootargs = o.append;
  if constexpr (requires { cfg.pci_devices; }) cfg.pci_devices = o.devices;
  if constexpr (requires { cfg.rng_seed; }) cfg.rng_seed = o.rng_seed;
  // --migrate's keys come before stdin's bytes (migration.h).
  auto keys = std::make_shared<MigrationKeys>();
  if constexpr (requires { cfg.uart_in; }) cfg.uart_in = keys->source(run_detail::stdin_source());
  if constexpr (requires { cfg.kernel_name; }) cfg.kernel_name = o.kernel.empty() ? o.firmware : o.kernel;
  if constexpr (requires { cfg.initrd_name; }) cfg.initrd_name = o.initrd;
  if (configure) configure(cfg);
  // UART output reaches stdout as the guest writes it, also when stdout is a file or a
  // pipe (where it is block-buffered): each character is flushed, as QEMU's -serial stdio
  // writes each one, so a partial line (a prompt, progress dots) shows too. A guest writes
  // one character per MMIO access, so this is a write() per access: uart-hello and
  // its-migrate show no difference beyond noise (30 and 85 ms, to a file or a pipe); a
  // guest that does nothing but write 200,000 characters takes 0.43 s instead of 0.07 s.
  // With --trace, UART output is line-buffered so a line is never split by trace events,
  // and flushed with the trace lines before it at each newline.
  std::string uart_line;
  std::function<void(char)> out;
  if (o.trace)
    out = [&io, &uart_line](char c) {
      uart_line += c;
      if (c == '\n') {
        io.out << uart_line;
        uart_line.clear();
        io.out.flush();
      }
    };
  else
    out = [&io](char c) { io.out.put(c).flush(); };
  // The machine that runs now (--migrate replaces it) and the guest lines --migrate acts on.
  std::unique_ptr<Machine> machine;
  MigrationPrompts prompts;
  cfg.uart_out = [&](char c) {
    out(c);
    if (o.migrate && prompts.feed(c)) machine->scheduler().request_pause();
  };
  auto made = Machine::create(cfg);
  if (!made) throw UsageError(made.error());
  machine = std::move(*made);
  uint64_t entry = 0;
  if (restoring) {
    if (auto r = snapshot::restore(*machine, snapshot_file); !r)
      throw UsageError(fmt::format("--restore {}: {}", o.restore, r.error()));
    snapshot_file = {};
  } else {
    auto loaded = [&] {
      // Both machines take an initrd (arm64: after a Linux kernel; x86: a multiboot module).
      if constexpr (requires { machine->load(image, std::optional<std::span<const std::byte>>()); })
        return machine->load(image, initrd ? std::optional<std::span<const std::byte>>(*initrd) : std::nullopt);
      else
        return machine->load(image);
    }();
    if (!loaded)
      throw UsageError(o.kernel.empty() ? loaded.error() : fmt::format("--kernel {}: {}", o.kernel, loaded.error()));
    entry = *loaded;
  }
  run_detail::StreamSink stream(io.out);
  run_detail::UnitFilter sink(stream, o.trace_units);
  // Guest instructions cost a callback each (and the precise execution mode): only when the
  // trace keeps them.
  const bool trace_insns = run_detail::UnitFilter::admits(o.trace_units, "cpu0");
  const bool timed = !o.trace_out.empty() || !o.trace_svg.empty();
  if (!o.trace_units.empty() && !o.trace && !timed)
    throw UsageError("--trace-units selects what --trace, --trace-out or --trace-svg record: give one of them");
  TimelineSink timeline;
  run_detail::UnitFilter timeline_sink(timeline, o.trace_units);
  // What watches a machine: attached to the first one and moved to each machine a
  // migration makes, so the trace and the timeline go on as one.
  auto attach = [&](Machine& m) {
    if (o.trace) {
      m.attach(&sink);
      if (trace_insns) m.set_trace_instructions(true);
    }
    if (timed) m.attach(&timeline_sink);
  };
  auto detach = [&](Machine& m) {
    if (o.trace) m.detach(&sink);
    if (timed) m.detach(&timeline_sink);
  };
  if (timed)
    timeline.begin_process(
        fmt::format("{} {}", arch, restoring ? o.restore : o.kernel.empty() ? o.firmware : o.kernel), arch,
        cfg.cpus, [&machine] { return run_detail::virtual_now(*machine); });
  attach(*machine);
  std::unique_ptr<GdbAttachment> gdb;
  if (!o.gdb.empty()) gdb = attach_gdb(*machine, o.gdb, o.gdb_wait, io.err);
  bool save_pending = o.save_at.has_value();
  arch::RunResult r;
  for (;;) {
    // (again after each pause: a pause clears both kinds, and a migration makes a new machine)
    if (save_pending) machine->scheduler().pause_at(*o.save_at, true);
    r = machine->run(entry, o.max_insns);
    if (r.stop != arch::StopKind::Paused) break;
    if (save_pending && machine->instructions() >= *o.save_at) {
      save_pending = false;
      auto bytes = snapshot::save(*machine);
      if (!bytes) throw UsageError(fmt::format("--save-at {}: {}", *o.save_at, bytes.error()));
      if (auto w = snapshot::write_file(o.save_file, *bytes); !w) throw UsageError("--save-at: " + w.error());
      io.err << fmt::format("irqremap: machine saved to {} after {} instructions\n", o.save_file,
                            machine->instructions());
    }
    if (const std::optional<MigrationPrompts::Action> a = prompts.take()) {
      if (*a == MigrationPrompts::Action::Migrate) {
        // As kvm-unit-tests' scripts do with two QEMUs: the state goes to a machine made
        // afresh from the same configuration, and the old one is gone.
        auto bytes = snapshot::save(*machine);
        if (!bytes) throw UsageError("--migrate: " + bytes.error());
        auto fresh = Machine::create(cfg);
        if (!fresh) throw UsageError("--migrate: " + fresh.error());
        if (auto ok = snapshot::restore(**fresh, *bytes); !ok) throw UsageError("--migrate: " + ok.error());
        detach(*machine);
        machine = std::move(*fresh);
        attach(*machine);
      }
      // Then the key the test waits for.
      keys->push('\n');
    }
  }
  if (save_pending)
    io.err << fmt::format("irqremap: note: the run ended after {} instructions, before --save-at {}: nothing saved\n",
                          machine->instructions(), *o.save_at);
  // The debugger hears of the end first (W), then the run's output is finished as usual.
  if (gdb) gdb->exited(r.exit_status);
  gdb.reset();
  detach(*machine);
  if (timed) {
    timeline.end_process();
    run_detail::write_timeline(timeline.timeline(), io.err, o.trace_out, o.trace_svg, o.trace_svg_window);
  }
  io.out << uart_line;
  io.out.flush();
  // PCI functions with MSI-X: their message stores as the guest left them (how often each
  // entry was written, and whether it was rewritten while the vector could fire).
  if constexpr (requires { machine->msix_report(); })
    if (const std::string report = machine->msix_report(); !report.empty()) io.err << report;
  if (r.stop != arch::StopKind::SystemOff && r.stop != arch::StopKind::Exit)
    io.err << "irqremap: run stopped: " << r.message << "\n";
  return r.exit_status;
}

}  // namespace irqremap::cli

