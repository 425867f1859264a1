#include "tools/timeline_sink.h"

#include <fmt/format.h>

#include <charconv>

namespace irqremap::cli {

namespace {

// "cpu3" -> 3 for a unit named <prefix><number>.
std::optional<unsigned> unit_number(const std::string& unit, std::string_view prefix) {
  if (!unit.starts_with(prefix) || unit.size() == prefix.size()) return std::nullopt;
  unsigned n = 0;
  const char* first = unit.data() + prefix.size();
  const char* last = unit.data() + unit.size();
  auto [end, ec] = std::from_chars(first, last, n);
  if (ec != std::errc() || end != last) return std::nullopt;
  return n;
}

bool has(const Event& e, std::string_view key) { return e.value(key, ~uint64_t{0}) != ~uint64_t{0}; }

nlohmann::json args_of(const Event& e) {
  nlohmann::json a = {{"text", e.text}};
  for (const auto& [k, v] : e.values) a[k] = v;
  return a;
}

}  // namespace

void TimelineSink::begin_process(std::string name, std::function<uint64_t()> now) {
  ++pid_;
  now_ = std::move(now);
  tracks_.clear();
  handlers_.clear();
  awaiting_handler_.clear();
  msi_in_flight_.reset();
  events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid_}, {"tid", 0},
                     {"args", {{"name", std::move(name)}}}});
}

int TimelineSink::track(const std::string& unit) {
  if (auto it = tracks_.find(unit); it != tracks_.end()) return it->second;
  // CPUs first, in CPU order; every other unit after them in order of first appearance.
  const std::optional<unsigned> cpu = unit_number(unit, "cpu");
  const int tid = cpu ? int(*cpu) + 1 : 1000 + int(tracks_.size());
  tracks_[unit] = tid;
  events_.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid_}, {"tid", tid}, {"args", {{"name", unit}}}});
  events_.push_back(
      {{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", pid_}, {"tid", tid}, {"args", {{"sort_index", tid}}}});
  return tid;
}

nlohmann::json TimelineSink::base(const char* ph, const std::string& name, const std::string& unit, uint64_t ts) {
  return {{"ph", ph}, {"name", name}, {"pid", pid_}, {"tid", track(unit)}, {"ts", ts}};
}

void TimelineSink::instant(const Event& e, uint64_t ts) {
  // An MSI write and its translation are one-instruction slices rather than instants:
  // flow arrows attach to slices, and these are where an MSI's arrow starts and bends.
  const bool flow_point = e.kind == EventKind::Translation ||
                          (e.kind == EventKind::Device && e.text.find("sends MSI") != std::string::npos);
  nlohmann::json j = base(flow_point ? "X" : "i", std::string(to_string(e.kind)), e.unit, ts);
  if (flow_point) j["dur"] = 1;
  else j["s"] = "t";
  j["cat"] = std::string(to_string(e.kind));
  j["args"] = args_of(e);
  events_.push_back(std::move(j));
}

// Flow events bind to the slice enclosing them on their track ("e": the enclosing one for
// the end, so the arrow lands on the handler).
void TimelineSink::flow(const char* ph, uint64_t id, const std::string& unit, uint64_t ts) {
  nlohmann::json j = base(ph, "msi", unit, ts);
  j["cat"] = "msi";
  j["id"] = id;
  if (std::string_view(ph) == "f") j["bp"] = "e";
  events_.push_back(std::move(j));
}

void TimelineSink::handler_begin(unsigned cpu, std::string name, uint64_t ts) {
  handlers_[cpu].push_back(Handler{ts, std::move(name), nlohmann::json::object()});
}

// The handler now running on `cpu` serves `key` (INTID or vector): name it, and end the
// flow of the MSI that raised it there.
void TimelineSink::handler_named(unsigned cpu, uint64_t key, std::string name, uint64_t ts) {
  auto& stack = handlers_[cpu];
  if (stack.empty()) return;
  stack.back().name = std::move(name);
  stack.back().args["id"] = key;
  if (auto it = awaiting_handler_.find({cpu, key}); it != awaiting_handler_.end()) {
    flow("f", it->second, fmt::format("cpu{}", cpu), ts);
    awaiting_handler_.erase(it);
  }
}

void TimelineSink::handler_end(unsigned cpu, uint64_t ts) {
  auto& stack = handlers_[cpu];
  if (stack.empty()) return;
  Handler h = std::move(stack.back());
  stack.pop_back();
  nlohmann::json j = base("X", h.name, fmt::format("cpu{}", cpu), h.start);
  j["cat"] = "handler";
  j["dur"] = ts > h.start ? ts - h.start : 1;  // a zero-length slice would not show
  j["args"] = std::move(h.args);
  events_.push_back(std::move(j));
}

void TimelineSink::end_process() {
  const uint64_t ts = now_ ? now_() : 0;
  for (auto& [cpu, stack] : handlers_)
    while (!stack.empty()) handler_end(cpu, ts);
}

void TimelineSink::on_event(const Event& e) {
  const uint64_t ts = now_ ? now_() : 0;
  switch (e.kind) {
    case EventKind::GuestInsn:
    case EventKind::RegRead:
    case EventKind::RegWrite:
    case EventKind::Note:
      return;  // too many to draw; --trace prints them
    default:
      break;
  }
  const std::optional<unsigned> cpu = unit_number(e.unit, "cpu");
  if (e.kind == EventKind::Delivery && cpu) {
    // Exception entry (AArch64 IRQ: the INTID is known at the ICC_IAR1_EL1 read; x86: the
    // vector is known at once), then EOI ends it.
    if (e.text.starts_with("IRQ exception taken")) return handler_begin(*cpu, "IRQ", ts);
    if (e.text.starts_with("interrupt taken") && has(e, "vector")) {
      const uint64_t v = e.value("vector");
      handler_begin(*cpu, fmt::format("vector {:#04x}", v), ts);
      return handler_named(*cpu, v, fmt::format("vector {:#04x}", v), ts);
    }
    if (has(e, "ack") && has(e, "intid")) {
      const uint64_t id = e.value("intid");
      return handler_named(*cpu, id, fmt::format("{} {}", id >= 8192 ? "LPI" : id < 16 ? "SGI" : "PPI", id), ts);
    }
    if (has(e, "eoi")) return handler_end(*cpu, ts);
  }
  if (const auto apic = unit_number(e.unit, "lapic"); apic && e.kind == EventKind::Delivery && has(e, "eoi"))
    handler_end(*apic, ts);  // APIC ID = CPU number on the x86 machine

  instant(e, ts);
  if (e.kind == EventKind::Device && e.text.find("sends MSI") != std::string::npos) {
    msi_in_flight_ = next_flow_++;
    flow("s", *msi_in_flight_, e.unit, ts);
  } else if (e.kind == EventKind::Translation && msi_in_flight_) {
    flow("t", *msi_in_flight_, e.unit, ts);
    // ITS: redistributor = CPU, LPI INTID; VT-d: destination APIC ID = CPU, vector.
    if (has(e, "rd") && has(e, "intid"))
      awaiting_handler_[{unsigned(e.value("rd")), e.value("intid")}] = *msi_in_flight_;
    else if (has(e, "dest") && has(e, "vector"))
      awaiting_handler_[{unsigned(e.value("dest")), e.value("vector")}] = *msi_in_flight_;
    msi_in_flight_.reset();
  } else if (e.kind == EventKind::Fault) {
    msi_in_flight_.reset();  // a dropped MSI reaches no handler
  }
}

nlohmann::json TimelineSink::json() const {
  return {{"traceEvents", events_},
          {"displayTimeUnit", "ns"},
          {"otherData", {{"time", "retired instructions (one per microsecond on the axis)"}}}};
}

}  // namespace irqremap::cli
