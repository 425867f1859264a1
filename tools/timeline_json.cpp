#include "tools/timeline_json.h"

#include <algorithm>
#include <tuple>

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
// the flow events that bind to it.
std::vector<nlohmann::json> timed_events(const TimelineProcess& p) {
  std::vector<std::tuple<uint64_t, int, size_t, nlohmann::json>> ev;  // (ts, rank, order, event)
  auto add = [&ev](uint64_t ts, int rank, nlohmann::json j) { ev.emplace_back(ts, rank, ev.size(), std::move(j)); };
  for (const TimelineSlice& s : p.slices)
    add(s.ts, 0, {{"ph", "X"}, {"name", s.name}, {"cat", s.cat}, {"pid", p.pid}, {"tid", s.tid}, {"ts", s.ts},
                  {"dur", s.dur}, {"args", args_json(s.args)}});
  for (const TimelineMark& m : p.marks)
    add(m.ts, 0, {{"ph", "i"}, {"s", "t"}, {"name", m.name}, {"cat", m.cat}, {"pid", p.pid}, {"tid", m.tid},
                  {"ts", m.ts}, {"args", args_json(m.args)}});
  for (const TimelineFlow& f : p.flows)
    for (const TimelineFlowPoint& pt : f.points) {
      // Flow events bind to the slice enclosing them on their track ("e": the enclosing
      // one for the end, so the arrow lands on the handler).
      nlohmann::json j = {{"ph", std::string(1, pt.ph)}, {"name", "msi"}, {"cat", "msi"}, {"pid", p.pid},
                          {"tid", pt.tid},           {"ts", pt.ts},   {"id", f.id}};
      if (pt.ph == 'f') j["bp"] = "e";
      add(pt.ts, 1, std::move(j));
    }
  std::stable_sort(ev.begin(), ev.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
  });
  std::vector<nlohmann::json> out;
  for (auto& e : ev) out.push_back(std::move(std::get<3>(e)));
  return out;
}

}  // namespace

nlohmann::json timeline_json(const Timeline& t) {
  std::vector<nlohmann::json> events;
  for (const TimelineProcess& p : t.processes) {
    events.push_back(metadata("process_name", p.pid, 0, {{"name", p.name}}));
    std::vector<TimelineTrack> tracks = p.tracks;
    std::sort(tracks.begin(), tracks.end(), [](const auto& a, const auto& b) { return a.tid < b.tid; });
    for (const TimelineTrack& tr : tracks) {
      events.push_back(metadata("thread_name", p.pid, tr.tid, {{"name", tr.name}}));
      events.push_back(metadata("thread_sort_index", p.pid, tr.tid, {{"sort_index", tr.tid}}));
    }
    for (nlohmann::json& e : timed_events(p)) events.push_back(std::move(e));
  }
  return {{"traceEvents", events},
          {"displayTimeUnit", "ns"},
          {"otherData", {{"time", "retired instructions (one per microsecond on the axis)"}}}};
}

}  // namespace irqremap::cli
