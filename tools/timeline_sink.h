#pragma once
// Collects a run's trace into a Timeline (timeline.h), which --trace-out and --trace-svg
// then write. Each machine run is a process; each CPU and each unit (ITS, redistributor,
// VT-d, local APIC, device, ...) is a named track, every CPU of the machine even when idle.
// Interrupt handlers are slices on their CPU from the exception entry to the EOI; firmware
// phases (the marker of arch/*/README.md, "Timeline phase markers") are slices too; MSI
// writes, table reads, cache events, commands, faults and hazards are marks with the
// event's decoded values; a flow follows each MSI from the device's write through the
// translation to the handler that took it, or to the fault that dropped it.
//
// Where an MSI's pending state changes CPU before any CPU took it, the flow follows it:
//  - ITS: MOVI/MOVALL moves the pending LPI to the new redistributor (an event says so);
//  - VT-d: the IRTE that carried the MSI is invalidated while the MSI still sits in the old
//    CPU's IRR, and that CPU then sends an IPI: the retrigger of Linux's fixup_irqs on
//    hot-unplug, so the flow goes on to the IPI's destination and vector.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "remap/trace.h"
#include "tools/timeline.h"

namespace irqremap::cli {

class TimelineSink final : public TraceSink {
 public:
  // Starts a process named `name` (one run of an `arch` machine, "x86" or "arm64", with
  // `cpus` CPUs); `now` reads its virtual time.
  void begin_process(std::string name, std::string_view arch, unsigned cpus, std::function<uint64_t()> now);
  // Closes the handlers and phases still running at the end of the run.
  void end_process();
  void on_event(const Event& e) override;
  const Timeline& timeline() const { return timeline_; }

 private:
  struct Open {
    uint64_t start;
    std::string name;
    TimelineArgs args;
  };
  // A translated MSI waiting for the handler that takes it.
  struct Awaiting {
    uint64_t flow;
    std::optional<uint64_t> irte;  // VT-d: the IRTE index that translated it
    bool irte_invalidated = false;
  };
  using Target = std::pair<unsigned, uint64_t>;  // (CPU, INTID or vector)

  TimelineProcess& process() { return timeline_.processes.back(); }
  int track(const std::string& unit);
  void mark(const Event& e, uint64_t ts);
  TimelineFlow& flow(uint64_t id);
  void flow_point(uint64_t id, char ph, const std::string& unit, uint64_t ts);
  void handler_begin(unsigned cpu, std::string name, uint64_t ts);
  void handler_named(unsigned cpu, uint64_t key, std::string name, uint64_t ts);
  void close(std::vector<Open>& stack, unsigned cpu, const char* cat, uint64_t ts);
  void phase(const Event& e, unsigned cpu, uint64_t ts);
  void follow(const Event& e, uint64_t ts);

  Timeline timeline_;
  std::function<uint64_t()> now_;
  std::map<unsigned, std::vector<Open>> handlers_, phases_;
  // The MSI whose translation comes next, and translated MSIs waiting for their handler.
  std::optional<uint64_t> msi_in_flight_;
  std::map<Target, std::vector<Awaiting>> awaiting_;
  uint64_t next_flow_ = 1;
  std::size_t items_ = 0;                 // slices, marks and flow points recorded
  std::optional<uint64_t> truncated_at_;  // when the bound was reached (Timeline::kMaxItems)
};

}  // namespace irqremap::cli
