#pragma once
// The timeline of one or more machine runs, in memory: what --trace-out (Trace Event Format
// JSON, timeline_json.h) and --trace-svg (a picture, timeline_svg.h) both write. The
// TimelineSink (timeline_sink.h) fills it from the trace; the writers only read it, so the
// two files always show the same tracks, slices, marks and flows.
//
// Time is the machine's virtual time in retired instructions.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace irqremap::cli {

// A named lane: a CPU or a unit (its, gicrN, vtd, lapicN, dev0, ...).
struct TimelineTrack {
  std::string name;
  int tid = 0;  // CPUs are 1 + their number, other units 1000 + order of first appearance
};

// The decoded fields of an event: its one-line text and its named numbers.
struct TimelineArgs {
  std::string text;
  std::vector<std::pair<std::string, uint64_t>> values;
};

// Something that takes time on a track: an interrupt handler (cat "handler", from the
// exception entry to the EOI) or a firmware phase (cat "phase").
struct TimelineSlice {
  int tid = 0;
  uint64_t ts = 0, dur = 1;
  std::string name, cat;
  TimelineArgs args;
};

// An instant: an MSI write (cat "msi"), a table read, a cache event, a command, a fault...
struct TimelineMark {
  int tid = 0;
  uint64_t ts = 0;
  std::string name, cat;
  TimelineArgs args;
};

// One MSI followed across units: 's' at the device's write, 't' at each step (the
// translation, a pending state moved to another CPU, a retrigger), 'f' on the handler of
// the CPU that took it, or at the fault that dropped it.
struct TimelineFlowPoint {
  char ph = 's';
  int tid = 0;
  uint64_t ts = 0;
};
struct TimelineFlow {
  uint64_t id = 0;
  std::vector<TimelineFlowPoint> points;
  bool ended() const { return !points.empty() && points.back().ph == 'f'; }
};

// One machine run.
struct TimelineProcess {
  int pid = 0;
  std::string name;
  std::vector<TimelineTrack> tracks;  // in order of creation; writers sort by tid
  std::vector<TimelineSlice> slices;  // in order of their end
  std::vector<TimelineMark> marks;    // in time order
  std::vector<TimelineFlow> flows;    // by id
  uint64_t end = 0;                   // virtual time when the run ended

  const TimelineTrack* track(int tid) const {
    for (const TimelineTrack& t : tracks)
      if (t.tid == tid) return &t;
    return nullptr;
  }
};

struct Timeline {
  std::vector<TimelineProcess> processes;
  // A timeline holds at most kMaxItems slices, marks and flow points over all its runs, so
  // a run of millions of MSIs (arm64/doorbell-storm) gives a file a viewer can open and a
  // bounded amount of host memory, not gigabytes. Past the bound every run keeps its
  // tracks; `dropped` counts the unit events left out.
  static constexpr std::size_t kMaxItems = 100'000;
  uint64_t dropped = 0;
};

}  // namespace irqremap::cli
