#pragma once
// --trace-out: a run's trace as Trace Event Format JSON, the format ui.perfetto.dev and
// chrome://tracing open. Each machine run is a process; each CPU and each unit (ITS,
// redistributor, VT-d, local APIC, device, ...) is a named track. Interrupt handlers are
// slices on their CPU from the exception entry to the EOI; MSI writes, translations,
// table reads, cache events, commands, faults and hazards are instant events with the
// event's decoded values as args; a flow follows each MSI from the device's write through
// the translation to the handler that took it.
//
// Time is the machine's deterministic virtual time in retired instructions: the viewer's
// microsecond is one instruction, so the same run gives the same file.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "remap/trace.h"

namespace irqremap::cli {

class TimelineSink final : public TraceSink {
 public:
  // Starts a process named `name` (one machine run); `now` reads its virtual time.
  void begin_process(std::string name, std::function<uint64_t()> now);
  // Closes the handlers still running at the end of the run.
  void end_process();
  void on_event(const Event& e) override;
  // {"traceEvents": [...], ...}: the whole file.
  nlohmann::json json() const;

 private:
  struct Handler {
    uint64_t start;
    std::string name;
    nlohmann::json args;
  };
  int track(const std::string& unit);
  nlohmann::json base(const char* ph, const std::string& name, const std::string& unit, uint64_t ts);
  void instant(const Event& e, uint64_t ts);
  void flow(const char* ph, uint64_t id, const std::string& unit, uint64_t ts);
  void handler_begin(unsigned cpu, std::string name, uint64_t ts);
  void handler_named(unsigned cpu, uint64_t key, std::string name, uint64_t ts);
  void handler_end(unsigned cpu, uint64_t ts);

  std::vector<nlohmann::json> events_;
  int pid_ = 0;
  std::function<uint64_t()> now_;
  std::map<std::string, int> tracks_;
  std::map<unsigned, std::vector<Handler>> handlers_;
  // The MSI whose translation comes next, and translated MSIs waiting for their handler
  // by (CPU, INTID or vector).
  std::optional<uint64_t> msi_in_flight_;
  std::map<std::pair<unsigned, uint64_t>, uint64_t> awaiting_handler_;
  uint64_t next_flow_ = 1;
};

}  // namespace irqremap::cli
