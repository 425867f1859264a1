#include "remap/trace.h"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>

namespace irqremap {

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::GuestInsn: return "insn";
    case EventKind::RegRead: return "reg-read";
    case EventKind::RegWrite: return "reg-write";
    case EventKind::TableRead: return "table-read";
    case EventKind::Command: return "command";
    case EventKind::CommandError: return "command-error";
    case EventKind::CacheHit: return "cache-hit";
    case EventKind::CacheMiss: return "cache-miss";
    case EventKind::CacheInvalidate: return "cache-invalidate";
    case EventKind::Translation: return "translate";
    case EventKind::Fault: return "fault";
    case EventKind::Delivery: return "deliver";
    case EventKind::Device: return "device";
    case EventKind::Hazard: return "HAZARD";
    case EventKind::Note: return "note";
  }
  return "?";
}

uint64_t Event::value(std::string_view key, uint64_t fallback) const {
  for (const auto& [k, v] : values)
    if (k == key) return v;
  return fallback;
}

std::string Event::format() const {
  return fmt::format("[{}] {}: {}", unit, to_string(kind), text);
}

void Trace::attach(TraceSink* sink) {
  if (sink != nullptr && std::find(sinks_.begin(), sinks_.end(), sink) == sinks_.end())
    sinks_.push_back(sink);
}

void Trace::detach(TraceSink* sink) { std::erase(sinks_, sink); }

std::vector<Event> RecordingSink::of_kind(EventKind k) const {
  std::vector<Event> out;
  for (const Event& e : events)
    if (e.kind == k) out.push_back(e);
  return out;
}

std::size_t RecordingSink::count(EventKind k) const {
  return std::size_t(std::count_if(events.begin(), events.end(),
                                   [k](const Event& e) { return e.kind == k; }));
}

bool RecordingSink::contains(EventKind k, std::string_view fragment) const {
  return std::any_of(events.begin(), events.end(), [&](const Event& e) {
    return e.kind == k && e.text.find(fragment) != std::string::npos;
  });
}

void PrintSink::on_event(const Event& e) { fmt::print(out_, "{}\n", e.format()); }

}  // namespace irqremap
