// irqremap demo (live): one device, its messages written once, and the interrupt
// migrated on both machines: on AArch64 by MOVI + SYNC in the ITS, on x86-64 by an IRTE
// rewrite + IEC flush in VT-d; then a CPU hot-unplug on each. Each step is what the
// firmware printed, interleaved with the hardware events that explain it.
#include <fmt/format.h>

#include "tools/cli.h"
#include "tools/demo_story.h"
#include "tools/run_machine.h"
#include "tools/timeline_sink.h"

namespace irqremap::cli {

namespace {

void print_run(const MachineRun& r, std::ostream& out) {
  out << fmt::format("\n{}\n{}\n", r.title, std::string(r.title.size(), '-'));
  for (const std::string& line : r.story) out << "  " << line << "\n";
  if (!r.ok) out << "  RUN FAILED: " << r.failure << "\n";
}

std::string slot_summary(const MachineRun& r) {
  uint64_t commits = 0, rewrites = 0, torn = 0, messages = 0;
  for (const device::SlotCounters& c : r.slots) {
    commits += c.commits;
    rewrites += c.rewrites_enabled;
    torn += c.torn;
    messages += c.messages;
  }
  return fmt::format("{} slots, {} message writes, {} rewrites while enabled, {} torn, {} MSIs sent",
                     r.slots.size(), commits, rewrites, torn, messages);
}

// The invariant the whole project is about: every slot written exactly once.
bool written_once(const MachineRun& r) {
  if (r.slots.empty()) return false;
  for (const device::SlotCounters& c : r.slots)
    if (c.commits != 1 || c.rewrites_enabled != 0 || c.torn != 0) return false;
  return true;
}

}  // namespace

int run_live_demo(Io io, bool x86, bool arm64, const std::string& trace_out, const std::string& trace_svg,
                  const std::string& svg_window) {
  io.out << "irqremap demo — one device, its MSI message written once, two remapping units\n"
            "==============================================================================\n"
            "The same device model sits on both machines. Its driver writes each message slot\n"
            "once; migrating the interrupt to another CPU then happens only in the remapping\n"
            "unit's tables. Lines are the firmware's own output ('firmware:') interleaved with\n"
            "the hardware events that explain them ([unit] kind: ...).\n";
  std::vector<MachineRun> runs;
  TimelineSink timeline;
  TimelineSink* t = trace_out.empty() && trace_svg.empty() ? nullptr : &timeline;
  if (arm64) runs.push_back(demo_arm64(t));
  if (x86) runs.push_back(demo_x86(t));
  if (t) run_detail::write_timeline(timeline.timeline(), io.err, trace_out, trace_svg, svg_window);
  for (const MachineRun& r : runs) print_run(r, io.out);

  io.out << "\nSide by side\n------------\n";
  int status = 0;
  for (const MachineRun& r : runs) {
    const bool once = written_once(r);
    io.out << fmt::format("{}\n  message in the device : {}\n  device store          : {}\n"
                          "  written once          : {}\n",
                          r.title, r.message.empty() ? "(none)" : r.message, slot_summary(r),
                          once ? "yes" : "NO");
    if (!r.ok || !once) status = 1;
  }
  io.out << "\n  how the interrupt moves:\n"
            "    AArch64: MOVI (DeviceID, EventID -> new ICID) + SYNC; the ITE changes, pending\n"
            "             state follows; hot-unplug moves every event off the CPU, then CPU_OFF.\n"
            "    x86-64 : new vector/destination in the IRTE (cmpxchg16b or the low qword),\n"
            "             IEC invalidate for that index + wait descriptor; hot-unplug moves\n"
            "             every IRTE that targets the CPU, then the CPU parks.\n"
            "  Try: irqremap firmware list | irqremap run --arch x86 --smp 4 --firmware x86/irq-stale-iec --trace\n";
  return status;
}

}  // namespace irqremap::cli
