#include "snapshot/records.h"

#include <fmt/format.h>

#include <cstring>

namespace irqremap::snapshot {

std::expected<std::vector<Record>, std::string> records(std::span<const uint8_t> s) {
  std::vector<Record> out;
  std::vector<std::string> groups;
  size_t pos = 0;
  auto path = [&](const std::string& leaf) {
    std::string p;
    for (const std::string& g : groups) p += g + "/";
    return p + leaf;
  };
  auto take = [&](void* v, size_t n) {
    if (s.size() - pos < n) return false;
    std::memcpy(v, s.data() + pos, n);
    pos += n;
    return true;
  };
  while (pos < s.size()) {
    const size_t at = pos;
    uint8_t k = 0, len = 0;
    std::string name;
    if (!take(&k, 1) || !take(&len, 1) || s.size() - pos < len)
      return std::unexpected(fmt::format("offset {}: the stream ends inside a record header", at));
    name.assign(reinterpret_cast<const char*>(s.data() + pos), len);
    pos += len;
    const Kind kind = Kind(k);
    Record r{path(name), kind, {}, 0};
    auto integer = [&](size_t n) -> bool {
      uint64_t lo = 0, hi = 0;
      if (n == 16) {
        if (!take(&lo, 8) || !take(&hi, 8)) return false;
        r.value = hi == 0 ? fmt::format("{} ({:#x})", lo, lo) : fmt::format("{:#x}{:016x}", hi, lo);
        return true;
      }
      if (!take(&lo, n)) return false;
      r.value = fmt::format("{} ({:#x})", lo, lo);
      return true;
    };
    bool ok = true;
    switch (kind) {
      case Kind::U8: ok = integer(1); break;
      case Kind::U16: ok = integer(2); break;
      case Kind::U32: ok = integer(4); break;
      case Kind::U64: ok = integer(8); break;
      case Kind::U128: ok = integer(16); break;
      case Kind::Bool: {
        uint8_t b = 0;
        ok = take(&b, 1);
        r.value = b == 0 ? "false" : b == 1 ? "true" : fmt::format("invalid boolean {}", b);
        break;
      }
      case Kind::Bytes: {
        uint64_t n = 0;
        ok = take(&n, 8) && s.size() - pos >= n;
        if (ok) {
          r.size = n;
          r.value = fmt::format("<{} bytes>", n);
          for (uint64_t i = 0; i < n && i < 16; ++i) r.value += fmt::format(" {:02x}", s[pos + i]);
          if (n > 16) r.value += " ...";
          pos += n;
        }
        break;
      }
      case Kind::Text: {
        uint32_t n = 0;
        ok = take(&n, 4) && s.size() - pos >= n;
        if (ok) {
          r.value = fmt::format("\"{}\"", std::string(reinterpret_cast<const char*>(s.data() + pos), n));
          pos += n;
        }
        break;
      }
      case Kind::Begin: groups.push_back(name); continue;
      case Kind::End:
        if (groups.empty()) return std::unexpected(fmt::format("offset {}: a group ends that never began", at));
        groups.pop_back();
        continue;
      default: return std::unexpected(fmt::format("offset {}: record type {} is none this format has", at, k));
    }
    if (!ok) return std::unexpected(fmt::format("offset {}: the stream ends inside {}", at, r.path));
    out.push_back(std::move(r));
  }
  if (!groups.empty()) return std::unexpected(fmt::format("the stream ends inside group {}", path("")));
  return out;
}

}  // namespace irqremap::snapshot
