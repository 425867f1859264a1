#include "tools/timeline_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <vector>

namespace irqremap::cli {

namespace {

nlohmann::json args_json(const TimelineArgs& a) {
  nlohmann::json j = nlohmann::json::object();
  if (!a.text.empty()) j["text"] = a.text;
  for (const auto& [k, v] : a.values) j[k] = v;
  return j;
}

nlohmann::json metadata(const char* name, int pid, int tid, nlohmann::json args) {
  return {{"ph", "M"}, {"name", name}, {"pid", pid}, {"tid", tid}, {"args", std::move(args)}};
}

// One process's timed events in time order; at equal times a slice or mark comes before
// the flow events that bind to it. Only references are sorted; each event's JSON is made
// when it is written.
void write_events(const TimelineProcess& p, std::ostream& out) {
  enum class Kind : uint8_t { Slice, Mark, FlowPoint };
  struct Ref {
    uint64_t ts;
    int rank;
    size_t order;
    Kind kind;
    size_t index, point;
  };
  std::vector<Ref> refs;
  for (size_t i = 0; i < p.slices.size(); ++i) refs.push_back({p.slices[i].ts, 0, refs.size(), Kind::Slice, i, 0});
  for (size_t i = 0; i < p.marks.size(); ++i) refs.push_back({p.marks[i].ts, 0, refs.size(), Kind::Mark, i, 0});
  for (size_t i = 0; i < p.flows.size(); ++i)
    for (size_t k = 0; k < p.flows[i].points.size(); ++k)
      refs.push_back({p.flows[i].points[k].ts, 1, refs.size(), Kind::FlowPoint, i, k});
  std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
    return std::tie(a.ts, a.rank, a.order) < std::tie(b.ts, b.rank, b.order);
  });
  for (const Ref& r : refs) {
    nlohmann::json j;
    if (r.kind == Kind::Slice) {
      const TimelineSlice& s = p.slices[r.index];
      j = {{"ph", "X"}, {"name", s.name}, {"cat", s.cat}, {"pid", p.pid}, {"tid", s.tid}, {"ts", s.ts},
           {"dur", s.dur}, {"args", args_json(s.args)}};
    } else if (r.kind == Kind::Mark) {
      const TimelineMark& m = p.marks[r.index];
      j = {{"ph", "i"}, {"s", "t"}, {"name", m.name}, {"cat", m.cat}, {"pid", p.pid}, {"tid", m.tid},
           {"ts", m.ts}, {"args", args_json(m.args)}};
    } else {
      const TimelineFlow& f = p.flows[r.index];
      const TimelineFlowPoint& pt = f.points[r.point];
      // Flow events bind to the slice or instant on their track at their time ("e": the
      // enclosing one for the end, so the arrow lands on the handler).
      j = {{"ph", std::string(1, pt.ph)}, {"name", "msi"}, {"cat", "msi"}, {"pid", p.pid},
           {"tid", pt.tid},           {"ts", pt.ts},   {"id", f.id}};
      if (pt.ph == 'f') j["bp"] = "e";
    }
    out << ",\n" << j.dump();
  }
}

}  // namespace

void write_timeline_json(const Timeline& t, std::ostream& out) {
  out << "{\"traceEvents\":[";
  bool first = true;
  auto put = [&](const nlohmann::json& j) {
    out << (first ? "\n" : ",\n") << j.dump();
    first = false;
  };
  for (const TimelineProcess& p : t.processes) {
    put(metadata("process_name", p.pid, 0, {{"name", p.name}}));
    std::vector<TimelineTrack> tracks = p.tracks;
    std::sort(tracks.begin(), tracks.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });
    for (const TimelineTrack& tr : tracks) {
      put(metadata("thread_name", p.pid, tr.tid, {{"name", tr.name}}));
      put(metadata("thread_sort_index", p.pid, tr.tid, {{"sort_index", tr.tid}}));
    }
    write_events(p, out);  // after the process_name metadata, so never the first element
  }
  nlohmann::json other = {{"time", "retired instructions (one per microsecond on the axis)"}};
  if (t.dropped != 0) {
    other["truncated_after_items"] = Timeline::kMaxItems;
    other["dropped_events"] = t.dropped;
  }
  out << "\n],\"displayTimeUnit\":\"ns\",\"otherData\":" << other.dump() << "}\n";
}

}  // namespace irqremap::cli
