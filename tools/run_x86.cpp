#include "tools/run_x86.h"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"

namespace irqremap::cli {

namespace {

class StreamSink final : public TraceSink {
 public:
  explicit StreamSink(std::ostream& out) : out_(out) {}
  void on_event(const Event& e) override { out_ << e.format() << "\n"; }

 private:
  std::ostream& out_;
};

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(fmt::format("--kernel {}: cannot open", path));
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = std::byte(uint8_t(raw[i]));
  return out;
}

}  // namespace

int run_x86(const RunX86Options& o, Io io) {
  if (o.kernel.empty() == o.firmware.empty())
    throw UsageError("run --arch x86: give exactly one of --kernel FILE or --firmware NAME");
  std::vector<std::byte> file;
  std::span<const std::byte> image;
  if (!o.kernel.empty()) {
    file = read_file(o.kernel);
    image = file;
  } else {
    const std::string name = o.firmware.starts_with("x86/") ? o.firmware : "x86/" + o.firmware;
    const guestfw::Firmware* fw = guestfw::find(name);
    if (fw == nullptr || fw->arch != "x86")
      throw UsageError(fmt::format("--firmware {}: no such x86 stub (irqremap firmware list)", o.firmware));
    image = fw->elf;
  }
  x86::X86MachineConfig cfg;
  cfg.cpus = o.smp;
  // With --trace, UART output is line-buffered so a line is never split by trace events.
  std::string uart_line;
  if (o.trace)
    cfg.uart_out = [&io, &uart_line](char c) {
      uart_line += c;
      if (c == '\n') {
        io.out << uart_line;
        uart_line.clear();
      }
    };
  else
    cfg.uart_out = [&io](char c) { io.out.put(c); };
  auto m = x86::X86Machine::create(cfg);
  if (!m) throw UsageError(m.error());
  x86::X86Machine& machine = **m;
  auto entry = machine.load(image);
  if (!entry) throw UsageError(entry.error());
  StreamSink sink(io.out);
  if (o.trace) {
    machine.attach(&sink);
    machine.set_trace_instructions(true);
  }
  const arch::RunResult r = machine.run(*entry, o.max_insns);
  if (o.trace) machine.detach(&sink);
  io.out << uart_line;
  io.out.flush();
  if (r.stop != arch::StopKind::SystemOff && r.stop != arch::StopKind::Exit)
    io.err << "irqremap: run stopped: " << r.message << "\n";
  return r.exit_status;
}

}  // namespace irqremap::cli
