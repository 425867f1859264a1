#include "snapshot/state_io.h"

#include <fmt/format.h>

#include <bit>
#include <cstring>

namespace irqremap::snapshot {

std::string_view to_string(Kind k) {
  switch (k) {
    case Kind::U8: return "u8";
    case Kind::U16: return "u16";
    case Kind::U32: return "u32";
    case Kind::U64: return "u64";
    case Kind::U128: return "u128";
    case Kind::Bool: return "bool";
    case Kind::Bytes: return "bytes";
    case Kind::Text: return "text";
    case Kind::Begin: return "group";
    case Kind::End: return "end of group";
  }
  return "unknown record type";
}

namespace {

// Record names are at most this long (one length byte in the stream).
constexpr size_t kMaxName = 255;

}  // namespace

std::string Io::path(std::string_view leaf) const {
  std::string p;
  for (const std::string& g : groups_) p += g + "/";
  p += leaf;
  return p;
}

void Io::fail(std::string_view why) {
  if (error_.empty()) error_ = std::string(why);
}

bool Io::check(bool good, std::string_view what) {
  if (!good && loading_) fail(fmt::format("{}: {}", path(""), what));
  return good;
}

bool Io::take_bytes(void* out, size_t n) {
  if (!ok()) return false;
  if (in_.size() - pos_ < n) {
    fail(fmt::format("{}: the file ends in the middle of the state", path("")));
    return false;
  }
  std::memcpy(out, in_.data() + pos_, n);
  pos_ += n;
  return true;
}

bool Io::header(Kind kind, std::string_view name) {
  if (name.size() > kMaxName) name = name.substr(0, kMaxName);
  if (!loading_) {
    out_.push_back(uint8_t(kind));
    out_.push_back(uint8_t(name.size()));
    out_.insert(out_.end(), name.begin(), name.end());
    return true;
  }
  uint8_t k = 0, len = 0;
  if (!take_bytes(&k, 1) || !take_bytes(&len, 1)) return false;
  std::string file_name(len, '\0');
  if (!take_bytes(file_name.data(), len)) return false;
  if (k != uint8_t(kind) || file_name != name) {
    const std::string_view file_kind = to_string(Kind(k));
    fail(fmt::format("{}: expected a {} record here, the file has {} {}", path(name), to_string(kind),
                     file_kind == "unknown record type" ? fmt::format("record type {}", k) : std::string(file_kind),
                     file_name.empty() ? std::string() : fmt::format("\"{}\"", path(file_name))));
    return false;
  }
  return true;
}

void Io::scalar(std::string_view name, Kind kind, void* v, size_t size) {
  if (!header(kind, name)) {
    if (loading_) std::memset(v, 0, size);
    return;
  }
  // Little-endian in the file; the hosts irqremap builds on are little-endian.
  static_assert(std::endian::native == std::endian::little);
  if (!loading_) {
    const auto* p = static_cast<const uint8_t*>(v);
    out_.insert(out_.end(), p, p + size);
  } else if (!take_bytes(v, size)) {
    std::memset(v, 0, size);
  }
}

void Io::field(std::string_view name, bool& v) {
  uint8_t b = v ? 1 : 0;
  scalar(name, Kind::Bool, &b, 1);
  if (loading_) {
    check(b <= 1, fmt::format("{}: a boolean of value {}", name, b));
    v = b == 1;
  }
}

void Io::begin(std::string_view name) {
  header(Kind::Begin, name);
  groups_.emplace_back(name);
}

void Io::end() {
  header(Kind::End, "");
  if (!groups_.empty()) groups_.pop_back();
}

void Io::bytes(std::string_view name, std::span<std::byte> v) {
  uint64_t n = v.size();
  if (!header(Kind::Bytes, name)) {
    if (loading_) std::memset(v.data(), 0, v.size());
    return;
  }
  if (!loading_) {
    const auto* p = reinterpret_cast<const uint8_t*>(&n);
    out_.insert(out_.end(), p, p + 8);
    const auto* d = reinterpret_cast<const uint8_t*>(v.data());
    out_.insert(out_.end(), d, d + v.size());
    return;
  }
  if (!take_bytes(&n, 8) || !check(n == v.size(), fmt::format("{}: {} bytes in the file, {} expected", name, n,
                                                                 v.size())) ||
      !take_bytes(v.data(), v.size()))
    std::memset(v.data(), 0, v.size());
}

void Io::blob(std::string_view name, std::vector<uint8_t>& v, size_t max) {
  uint64_t n = v.size();
  if (!header(Kind::Bytes, name)) {
    if (loading_) v.clear();
    return;
  }
  if (!loading_) {
    const auto* p = reinterpret_cast<const uint8_t*>(&n);
    out_.insert(out_.end(), p, p + 8);
    out_.insert(out_.end(), v.begin(), v.end());
    return;
  }
  v.clear();
  if (!take_bytes(&n, 8) || !check(n <= max, fmt::format("{}: {} bytes, more than the {} it holds", name, n, max)))
    return;
  if (in_.size() - pos_ < n) {
    fail(fmt::format("{}: the file ends in the middle of the state", path(name)));
    return;
  }
  v.assign(in_.data() + pos_, in_.data() + pos_ + n);
  pos_ += n;
}

void Io::text(std::string_view name, std::string& v, size_t max) {
  uint32_t n = uint32_t(v.size());
  if (!header(Kind::Text, name)) {
    if (loading_) v.clear();
    return;
  }
  if (!loading_) {
    const auto* p = reinterpret_cast<const uint8_t*>(&n);
    out_.insert(out_.end(), p, p + 4);
    out_.insert(out_.end(), v.begin(), v.end());
    return;
  }
  v.clear();
  if (!take_bytes(&n, 4) || !check(n <= max, fmt::format("{}: text of {} bytes, more than the {} it holds", name, n,
                                                           max)))
    return;
  v.resize(n);
  if (!take_bytes(v.data(), n)) v.clear();
}

size_t Io::count(std::string_view name, size_t n, size_t max) {
  uint64_t c = n;
  field(name, c);
  if (!loading_) return n;
  if (!check(c <= max, fmt::format("{}: {} elements, more than the {} this machine has", name, c, max))) return 0;
  return size_t(c);
}

}  // namespace irqremap::snapshot
