#include "tools/timeline_sink.h"

#include <fmt/format.h>

#include <algorithm>
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

TimelineArgs args_of(const Event& e) { return TimelineArgs{e.text, e.values}; }

// An MSI's write: a device's, or a CPU's own store to GITS_TRANSLATER (the ITS's
// translation register, IHI0069 "GITS_TRANSLATER": the CPU's accesses carry DeviceID 0 on this
// machine), which firmware such as arm64/its-migrate rings itself.
bool is_msi_write(const Event& e) {
  if (e.kind == EventKind::Device) return e.text.find("sends MSI") != std::string::npos;
  return e.kind == EventKind::RegWrite && e.unit.starts_with("cpu") && e.text.starts_with("MMIO write ITS ") &&
         e.text.find("(ITS+0x10040,") != std::string::npos;
}

std::string cpu_unit(unsigned cpu) { return fmt::format("cpu{}", cpu); }

}  // namespace

void TimelineSink::begin_process(std::string name, std::string_view arch, unsigned cpus,
                                 std::function<uint64_t()> now) {
  TimelineProcess p;
  p.pid = int(timeline_.processes.size()) + 1;
  p.name = std::move(name);
  timeline_.processes.push_back(std::move(p));
  now_ = std::move(now);
  handlers_.clear();
  phases_.clear();
  awaiting_.clear();
  msi_in_flight_.reset();
  if (truncated_at_) truncated_at_ = 0;  // past the bound a new run keeps no events from its start
  // Every CPU has its track, also one that never runs: an empty lane is information. So do
  // the remapping unit and each CPU's interrupt target (redistributor or local APIC), in
  // that order, so lanes read top-down as an interrupt travels; devices and the other
  // units follow in order of first appearance.
  for (unsigned c = 0; c < cpus; ++c) track(cpu_unit(c));
  const bool arm64 = arch == "arm64";
  track(arm64 ? "its" : "vtd");
  for (unsigned c = 0; c < cpus; ++c) track(fmt::format("{}{}", arm64 ? "gicr" : "lapic", c));
}

int TimelineSink::track(const std::string& unit) {
  TimelineProcess& p = process();
  for (const TimelineTrack& t : p.tracks)
    if (t.name == unit) return t.tid;
  // CPUs first, in CPU order; every other unit after them in order of first appearance.
  const std::optional<unsigned> cpu = unit_number(unit, "cpu");
  const int tid = cpu ? int(*cpu) + 1 : 1000 + int(p.tracks.size());
  p.tracks.push_back(TimelineTrack{unit, tid});
  return tid;
}

void TimelineSink::mark(const Event& e, uint64_t ts) {
  // Every unit event is an instant, translations too: the flow events written at the same
  // time on the same track bind to it (timeline_json.cpp writes the instant first).
  const std::string kind(to_string(e.kind));
  const bool msi = is_msi_write(e), translation = e.kind == EventKind::Translation;
  // An ITS command is named by its mnemonic (the first word of its text: MAPD, MOVI,
  // SYNC, ...), so a run without firmware phases, a Linux boot, shows where the OS moved
  // interrupts.
  std::string name = msi ? "MSI write" : kind;
  if (e.kind == EventKind::Command && e.unit == "its" && !e.text.empty()) name = e.text.substr(0, e.text.find(' '));
  ++items_;
  process().marks.push_back(
      TimelineMark{track(e.unit), ts, std::move(name), msi ? "msi" : translation ? "translate" : kind, args_of(e)});
}

TimelineFlow& TimelineSink::flow(uint64_t id) {
  // Flow ids grow with each MSI and a flow is made at its first point, so the list is in
  // id order: a binary search, not a scan of every MSI so far.
  auto& flows = process().flows;
  auto it = std::lower_bound(flows.begin(), flows.end(), id, [](const TimelineFlow& f, uint64_t v) { return f.id < v; });
  if (it != flows.end() && it->id == id) return *it;
  return *flows.insert(it, TimelineFlow{id, {}});
}

void TimelineSink::flow_point(uint64_t id, char ph, const std::string& unit, uint64_t ts) {
  ++items_;
  flow(id).points.push_back(TimelineFlowPoint{ph, track(unit), ts});
}

void TimelineSink::handler_begin(unsigned cpu, std::string name, uint64_t ts) {
  handlers_[cpu].push_back(Open{ts, std::move(name), {}});
}

// The handler now running on `cpu` serves `key` (INTID or vector): name it, and end the
// flows of the MSIs that raised it there (more than one when they coalesced).
void TimelineSink::handler_named(unsigned cpu, uint64_t key, std::string name, uint64_t ts) {
  auto& stack = handlers_[cpu];
  if (stack.empty()) return;
  stack.back().name = std::move(name);
  stack.back().args.values.emplace_back("id", key);
  if (auto it = awaiting_.find({cpu, key}); it != awaiting_.end()) {
    for (const Awaiting& a : it->second) flow_point(a.flow, 'f', cpu_unit(cpu), ts);
    awaiting_.erase(it);
  }
}

void TimelineSink::close(std::vector<Open>& stack, unsigned cpu, const char* cat, uint64_t ts) {
  if (stack.empty()) return;
  Open o = std::move(stack.back());
  stack.pop_back();
  const uint64_t dur = ts > o.start ? ts - o.start : 1;  // a zero-length slice would not show
  ++items_;
  process().slices.push_back(TimelineSlice{track(cpu_unit(cpu)), o.start, dur, std::move(o.name), cat, std::move(o.args)});
}

void TimelineSink::end_process() {
  const uint64_t now = now_ ? now_() : 0;
  // Past the bound, what was still open ends where the timeline stops, not at the run's end.
  const uint64_t ts = truncated_at_ ? std::min(*truncated_at_, now) : now;
  for (auto& [cpu, stack] : handlers_)
    while (!stack.empty()) close(stack, cpu, "handler", ts);
  for (auto& [cpu, stack] : phases_)
    while (!stack.empty()) close(stack, cpu, "phase", ts);
  process().end = ts;
}

// The firmware's phase marker (arch/*/README.md): {"phase", 1} opens a slice named by the
// text after "phase begin: ", {"phase", 0} closes the innermost one on that CPU.
void TimelineSink::phase(const Event& e, unsigned cpu, uint64_t ts) {
  static constexpr std::string_view kBegin = "phase begin: ";
  if (e.value("phase") == 1)
    phases_[cpu].push_back(Open{ts, e.text.starts_with(kBegin) ? e.text.substr(kBegin.size()) : e.text, {e.text, {}}});
  else
    close(phases_[cpu], cpu, "phase", ts);
}

// An MSI's flow: started at the device's write, bent at the translation, carried along when
// its pending state moves (see the header), ended at the handler or at the fault.
void TimelineSink::follow(const Event& e, uint64_t ts) {
  if (is_msi_write(e)) {
    msi_in_flight_ = next_flow_++;
    flow_point(*msi_in_flight_, 's', e.unit, ts);
    return;
  }
  if (e.kind == EventKind::Translation && msi_in_flight_) {
    flow_point(*msi_in_flight_, 't', e.unit, ts);
    // ITS: redistributor = CPU, LPI INTID; VT-d: destination APIC ID = CPU, vector.
    Awaiting a{*msi_in_flight_, std::nullopt};
    if (has(e, "index")) a.irte = e.value("index");
    if (has(e, "rd") && has(e, "intid"))
      awaiting_[{unsigned(e.value("rd")), e.value("intid")}].push_back(a);
    else if (has(e, "dest") && has(e, "vector"))
      awaiting_[{unsigned(e.value("dest")), e.value("vector")}].push_back(a);
    msi_in_flight_.reset();
    return;
  }
  if (e.kind == EventKind::Fault && msi_in_flight_) {
    flow_point(*msi_in_flight_, 'f', e.unit, ts);  // a dropped MSI ends where it was dropped
    msi_in_flight_.reset();
    return;
  }
  // ITS MOVI/MOVALL: the pending LPI now waits on the new redistributor's CPU.
  if (e.kind == EventKind::Delivery && has(e, "from_rd") && has(e, "rd") && has(e, "intid")) {
    auto it = awaiting_.find({unsigned(e.value("from_rd")), e.value("intid")});
    if (it == awaiting_.end()) return;
    std::vector<Awaiting> moved = std::move(it->second);
    awaiting_.erase(it);
    for (const Awaiting& a : moved) flow_point(a.flow, 't', e.unit, ts);
    auto& to = awaiting_[{unsigned(e.value("rd")), e.value("intid")}];
    to.insert(to.end(), moved.begin(), moved.end());
    return;
  }
  // VT-d: an IEC invalidation covering the IRTE of an MSI still waiting in an IRR.
  if (e.kind == EventKind::CacheInvalidate && e.unit == "vtd") {
    const bool global = !has(e, "first");
    const uint64_t first = e.value("first", 0), count = e.value("count", 1);
    for (auto& [target, list] : awaiting_)
      for (Awaiting& a : list)
        if (a.irte && (global || (*a.irte >= first && *a.irte < first + count))) a.irte_invalidated = true;
    return;
  }
  // VT-d: the old CPU retriggers such an MSI with an IPI to its new destination and vector.
  if (e.kind == EventKind::Command && has(e, "dest") && has(e, "vector") && e.value("shorthand", 0) == 0) {
    const std::optional<unsigned> from = unit_number(e.unit, "lapic");
    if (!from) return;
    for (auto it = awaiting_.begin(); it != awaiting_.end(); ++it) {
      if (it->first.first != *from) continue;
      auto& list = it->second;
      for (auto a = list.begin(); a != list.end(); ++a) {
        if (!a->irte_invalidated) continue;
        Awaiting moved = *a;
        moved.irte_invalidated = false;
        list.erase(a);
        if (list.empty()) awaiting_.erase(it);
        flow_point(moved.flow, 't', e.unit, ts);
        awaiting_[{unsigned(e.value("dest")), e.value("vector")}].push_back(moved);
        return;
      }
    }
  }
}

void TimelineSink::on_event(const Event& e) {
  if (truncated_at_) {
    ++timeline_.dropped;
    return;
  }
  const uint64_t ts = now_ ? now_() : 0;
  // A few items of headroom: one event adds at most a mark, a slice and a few flow points.
  if (items_ + 8 > Timeline::kMaxItems) {
    truncated_at_ = ts;
    ++timeline_.dropped;
    process().marks.push_back(TimelineMark{track(cpu_unit(0)), ts, "timeline truncated", "note",
                                           {fmt::format("the timeline keeps {} items; later events are left out",
                                                        Timeline::kMaxItems),
                                            {}}});
    return;
  }
  const std::optional<unsigned> cpu = unit_number(e.unit, "cpu");
  if (e.kind == EventKind::Note && cpu && has(e, "phase")) return phase(e, *cpu, ts);
  switch (e.kind) {
    case EventKind::RegWrite:
      if (is_msi_write(e)) break;  // a CPU's own MSI (is_msi_write): drawn like a device's
      [[fallthrough]];
    case EventKind::GuestInsn:
    case EventKind::RegRead:
    case EventKind::Note:
      return;  // too many to draw; --trace prints them
    default:
      break;
  }
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
    if (has(e, "eoi")) return close(handlers_[*cpu], *cpu, "handler", ts);
  }
  if (const auto apic = unit_number(e.unit, "lapic"); apic && e.kind == EventKind::Delivery && has(e, "eoi"))
    close(handlers_[*apic], *apic, "handler", ts);  // APIC ID = CPU number on the x86 machine

  mark(e, ts);
  follow(e, ts);
}

}  // namespace irqremap::cli
