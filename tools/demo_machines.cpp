// The two halves of the live demo. Both machines have the same shape (create, load, run,
// attach a trace sink, the common device), so one routine runs the stubs on either and
// brings back the story and the device's counters for the side-by-side summary.
#include <fmt/format.h>

#include "arch/arm64/arm64_machine.h"
#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"
#include "tools/demo_story.h"
#include "tools/run_machine.h"
#include "tools/timeline_sink.h"

namespace irqremap::cli {

namespace {

template <typename Machine, typename Config>
MachineRun run_stubs(std::string title, std::vector<std::string> stubs, const char* message_kind,
                     TimelineSink* timeline) {
  MachineRun run;
  run.title = std::move(title);
  run.stubs = std::move(stubs);
  run.ok = true;
  StorySink story;
  for (const std::string& name : run.stubs) {
    Config cfg;
    cfg.cpus = 4;
    cfg.uart_out = [&story](char c) { story.uart(c); };
    const guestfw::Firmware* fw = guestfw::find(name);
    auto m = Machine::create(cfg);
    if (!m || fw == nullptr) {
      run.ok = false;
      run.failure = m ? name + ": stub not built" : m.error();
      break;
    }
    Machine& machine = **m;
    auto entry = machine.load(fw->elf);
    if (!entry) {
      run.ok = false;
      run.failure = fmt::format("{}: {}", name, entry.error());
      break;
    }
    story.on_event(Event{EventKind::Note, "demo", "running " + name, {}});
    machine.attach(&story);
    if (timeline) {
      timeline->begin_process(name, name.substr(0, name.find('/')), cfg.cpus,
                              [&machine] { return run_detail::virtual_now(machine); });
      machine.attach(timeline);
    }
    const arch::RunResult r = machine.run(*entry, 50'000'000);
    machine.detach(&story);
    if (timeline) {
      machine.detach(timeline);
      timeline->end_process();
    }
    if (r.stop != arch::StopKind::SystemOff) {
      run.ok = false;
      run.failure = fmt::format("{}: {}", name, r.message);
      break;
    }
    // The first stub's device is the one the summary reports on.
    if (run.slots.empty() && machine.device() != nullptr) {
      const device::MsgDevice& dev = *machine.device();
      for (unsigned i = 0; i < dev.config().slots; ++i)
        if (dev.counters(i).commits > 0) run.slots.push_back(dev.counters(i));
      const MsiWrite msg = dev.message(0);
      run.message = fmt::format("address {:#x} data {:#x} source {:#x} ({})", msg.address,
                                msg.data, msg.source, message_kind);
    }
  }
  run.story = story.lines();
  return run;
}

}  // namespace

MachineRun demo_x86(TimelineSink* timeline) {
  return run_stubs<x86::X86Machine, x86::X86MachineConfig>(
      "x86-64 (q35-like, VT-d at 0xFED9_0000)", {"x86/irq-migrate", "x86/irq-unplug"},
      "remappable format: IRTE handle + SHV, requester ID 00:03.0", timeline);
}

MachineRun demo_arm64(TimelineSink* timeline) {
  return run_stubs<arm64::Arm64Machine, arm64::Arm64MachineConfig>(
      "AArch64 (QEMU virt, GICv3 ITS at 0x0808_0000)", {"arm64/device-migrate"},
      "GITS_TRANSLATER + EventID, DeviceID on the side", timeline);
}

}  // namespace irqremap::cli
