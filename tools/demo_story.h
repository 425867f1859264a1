#pragma once
// The live demo's narrative: a machine run's trace, filtered to the steps a reader needs
// (firmware output, the device's message writes and MSIs, remapping-unit commands,
// translations, deliveries to CPUs, faults and hazards), one line each.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "device/msg_device.h"
#include "remap/trace.h"

namespace irqremap::cli {

class StorySink final : public TraceSink {
 public:
  void on_event(const Event& e) override;
  // UART bytes from the firmware, shown as "firmware: <line>".
  void uart(char c);
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
  std::string uart_line_;
};

// What the side-by-side summary needs from one machine's run.
struct MachineRun {
  std::string title;        // "x86-64 (q35, VT-d)"
  std::vector<std::string> stubs;
  std::vector<std::string> story;
  bool ok = false;          // every stub powered off cleanly
  std::string failure;      // the stop line when not ok
  std::vector<device::SlotCounters> slots;  // the device's counters after the runs
  std::string message;      // slot 0's message as the device holds it
};

class TimelineSink;
// With a timeline, each stub's run becomes one of its processes (--trace-out, --trace-svg).
MachineRun demo_x86(TimelineSink* timeline = nullptr);
MachineRun demo_arm64(TimelineSink* timeline = nullptr);

}  // namespace irqremap::cli
