#pragma once
// Trace: structured events sent to zero or more sinks (docs/DESIGN.md, "Shared vocabulary").
// With no sink attached, emitting costs one branch: build events inside `if (trace.on())`
// or pass a callable to emit_lazy().
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace irqremap {

enum class EventKind : uint8_t {
  GuestInsn,        // a guest instruction executed (disassembled text)
  RegRead,          // an MMIO or system register read
  RegWrite,         // an MMIO or system register write (decoded)
  TableRead,        // a remapping unit read a table entry from guest memory
  Command,          // a command or descriptor decoded (ITS command, VT-d descriptor)
  CommandError,     // a command or descriptor rejected (E_ITS_*, IQE)
  CacheHit,
  CacheMiss,
  CacheInvalidate,
  Translation,      // an MSI translated
  Fault,            // an architected fault (VT-d fault reason) or a dropped MSI
  Delivery,         // an interrupt reached its target (APIC, redistributor, PI descriptor)
  Device,           // a device event (slot write, fire, mask, pending, replay, swap, ...)
  Hazard,           // a hazard the trace catches (torn message, stale cache, ...)
  Note,             // anything else worth a line
};

std::string_view to_string(EventKind k);

struct Event {
  EventKind kind = EventKind::Note;
  std::string unit;  // who: "vtd", "its", "dev0", "cpu1", "gicr2", ...
  std::string text;  // one human-readable line, spec names for fields
  // Machine-readable numbers tests can assert on (e.g. {"index", 5}, {"reason", 0x22}).
  std::vector<std::pair<std::string, uint64_t>> values;

  // The value named `key`, or `fallback` when absent.
  uint64_t value(std::string_view key, uint64_t fallback = ~uint64_t{0}) const;
  std::string format() const;  // "[vtd] fault: ..." one line
};

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void on_event(const Event& e) = 0;
};

class Trace {
 public:
  bool on() const { return !sinks_.empty(); }
  void attach(TraceSink* sink);
  void detach(TraceSink* sink);

  void emit(const Event& e) const {
    for (TraceSink* s : sinks_) s->on_event(e);
  }
  // Builds the event only when a sink listens.
  template <typename MakeEvent>
  void emit_lazy(MakeEvent&& make) const {
    if (on()) emit(make());
  }

 private:
  std::vector<TraceSink*> sinks_;
};

// Keeps every event; tests assert on it.
class RecordingSink final : public TraceSink {
 public:
  void on_event(const Event& e) override { events.push_back(e); }
  std::vector<Event> of_kind(EventKind k) const;
  std::size_t count(EventKind k) const;
  bool contains(EventKind k, std::string_view text_fragment) const;
  void clear() { events.clear(); }
  std::vector<Event> events;
};

// Prints each event as one line to a FILE* (stdout by default).
class PrintSink final : public TraceSink {
 public:
  explicit PrintSink(std::FILE* out = stdout) : out_(out) {}
  void on_event(const Event& e) override;

 private:
  std::FILE* out_;
};

}  // namespace irqremap
