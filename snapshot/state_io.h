#pragma once
// Machine snapshots (issue 35 item 5; docs/DESIGN.md "Snapshots"): one visitor per part
// of a machine, `void state(snapshot::Io& io)`, both writes the part's state and reads it
// back, so what is saved and what is restored can never drift apart. Each value is a
// named, typed record in the stream (the format is docs/SNAPSHOT.md), so a file that does
// not hold what this build expects at a place is refused with the record's path and both
// names ("cpu1/sysregs/TTBR0_EL1: the file has cpu1/sysregs/TCR_EL1 here"), never read
// as something else.
//
// Loading never trusts the file: a count above its bound, a record of the wrong type or
// name, a truncated stream, or a value a part cannot take (io.check) makes the stream
// fail with one message. After the first failure every read yields zero, so a visitor
// may go on to its end without special cases, and the caller throws the half-loaded
// machine away (it restores into a fresh one, so the machine that was running is never
// touched). A visitor must therefore never use a loaded value as an index or a size
// before checking it, and apply loaded state to Unicorn only in its `ok()` path.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace irqremap::snapshot {

// The record types of the stream (docs/SNAPSHOT.md "Records").
enum class Kind : uint8_t {
  U8 = 1, U16 = 2, U32 = 3, U64 = 4, U128 = 5, Bool = 6,
  Bytes = 7,   // u64 length, then the bytes
  Text = 8,    // u32 length, then UTF-8
  Begin = 9,   // a named group opens (a device, a CPU, a list element)
  End = 10,    // the innermost group closes
};
std::string_view to_string(Kind k);

class Io {
 public:
  // A stream being written.
  static Io saver() { return Io(); }
  // A stream being read from `payload` (which must outlive the Io).
  static Io loader(std::span<const uint8_t> payload) { return Io(payload); }

  bool saving() const { return !loading_; }
  bool loading() const { return loading_; }
  bool ok() const { return error_.empty(); }
  // The first failure, with the path of the record where it happened.
  const std::string& error() const { return error_; }
  // Loading: refuse the file with this message (the first failure is kept). Saving: a part
  // that cannot be saved in its present state says why, and nothing is written.
  void fail(std::string_view why);
  // Loading: a loaded value the part cannot take. Returns `good`; when false the stream
  // fails with "<path>: <what>". Saving: returns `good` and does nothing.
  bool check(bool good, std::string_view what);

  // A named group around a part's records (RAII: Group g(io, "gicd");).
  void begin(std::string_view name);
  void end();
  class Group {
   public:
    Group(Io& io, std::string_view name) : io_(io) { io_.begin(name); }
    ~Group() { io_.end(); }
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

   private:
    Io& io_;
  };

  // One value. Enumerations go through their underlying type: check the loaded value's range.
  void field(std::string_view name, bool& v);
  void field(std::string_view name, uint8_t& v) { scalar(name, Kind::U8, &v, 1); }
  void field(std::string_view name, uint16_t& v) { scalar(name, Kind::U16, &v, 2); }
  void field(std::string_view name, uint32_t& v) { scalar(name, Kind::U32, &v, 4); }
  void field(std::string_view name, uint64_t& v) { scalar(name, Kind::U64, &v, 8); }
  void field(std::string_view name, int32_t& v) { scalar(name, Kind::U32, &v, 4); }
  void field(std::string_view name, int64_t& v) { scalar(name, Kind::U64, &v, 8); }
  void field(std::string_view name, unsigned __int128& v) { scalar(name, Kind::U128, &v, 16); }
  template <typename E>
    requires std::is_enum_v<E>
  void field(std::string_view name, E& v) {
    auto u = static_cast<std::underlying_type_t<E>>(v);
    field(name, u);
    v = static_cast<E>(u);
  }
  // Fixed-size bytes: loading requires the file's record to be exactly this long.
  void bytes(std::string_view name, std::span<std::byte> v);
  void bytes(std::string_view name, std::span<uint8_t> v) { bytes(name, std::as_writable_bytes(v)); }
  // Variable-size bytes and text, at most `max` long when loaded.
  void blob(std::string_view name, std::vector<uint8_t>& v, size_t max);
  void text(std::string_view name, std::string& v, size_t max);
  // A list of integers (or enums) of at most `max` elements when loaded.
  template <typename T>
    requires std::is_integral_v<T> || std::is_enum_v<T>
  void values(std::string_view name, std::vector<T>& v, size_t max) {
    Group g(*this, name);
    const size_t n = count("count", v.size(), max);
    if (loading_) v.assign(n, T{});
    for (T& x : v) field("v", x);
  }
  // The length of a list whose elements the caller visits itself: saving writes `n` and
  // returns it; loading returns the file's count, or 0 (and fails) when it exceeds `max`.
  size_t count(std::string_view name, size_t n, size_t max);

  // Saving: the stream written so far (call once, at the end).
  std::vector<uint8_t> take() { return std::move(out_); }
  // Loading: whether every record was read (a stream with records left over is refused
  // by the caller: the file holds more than this build restores).
  bool at_end() const { return pos_ == in_.size(); }

 private:
  Io() = default;
  explicit Io(std::span<const uint8_t> in) : loading_(true), in_(in) {}
  void scalar(std::string_view name, Kind kind, void* v, size_t size);
  // Writes or checks a record's header (kind, name); false when loading failed.
  bool header(Kind kind, std::string_view name);
  bool take_bytes(void* out, size_t n);
  std::string path(std::string_view leaf) const;

  bool loading_ = false;
  std::vector<uint8_t> out_;
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::vector<std::string> groups_;
  std::string error_;
};

}  // namespace irqremap::snapshot
