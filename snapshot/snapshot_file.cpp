#include "snapshot/snapshot_file.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace irqremap::snapshot {

namespace {

constexpr char kMagic[8] = {'I', 'R', 'Q', 'R', 'S', 'N', 'A', 'P'};
// The configuration line is short ("arm64 cpus=4 ram=128MiB ..."): a longer one is damage.
constexpr uint32_t kMaxConfiguration = 4096;

// zlib's crc32 takes at most 4 GiB per call (uInt lengths).
uint32_t crc_of(std::span<const uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), size_t{1} << 30);
    crc = crc32(crc, bytes.data(), uInt(n));
    bytes = bytes.subspan(n);
  }
  return uint32_t(crc);
}

// Appends raw bytes (resize and copy: GCC 12 warns falsely on vector::insert of a few
// bytes into a reserved vector).
void append(std::vector<uint8_t>& out, const void* p, size_t n) {
  const size_t at = out.size();
  out.resize(at + n);
  if (n != 0) std::memcpy(out.data() + at, p, n);
}

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  append(out, &v, sizeof v);
}

}  // namespace

std::vector<uint8_t> encode(std::string_view configuration, std::span<const uint8_t> stream) {
  std::vector<uint8_t> out;
  out.reserve(sizeof kMagic + 16 + configuration.size() + stream.size() + 4);
  append(out, kMagic, sizeof kMagic);
  put<uint32_t>(out, kFormatVersion);
  put<uint32_t>(out, uint32_t(configuration.size()));
  append(out, configuration.data(), configuration.size());
  put<uint64_t>(out, stream.size());
  append(out, stream.data(), stream.size());
  put<uint32_t>(out, crc_of(out));
  return out;
}

std::expected<Decoded, std::string> decode(std::span<const uint8_t> file) {
  size_t pos = 0;
  auto take = [&](void* v, size_t n) {
    if (file.size() - pos < n) return false;
    std::memcpy(v, file.data() + pos, n);
    pos += n;
    return true;
  };
  char magic[sizeof kMagic];
  if (!take(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0)
    return std::unexpected("not an irqremap snapshot (it does not start with IRQRSNAP)");
  Decoded d;
  if (!take(&d.version, 4)) return std::unexpected("the snapshot is truncated in its header");
  if (d.version != kFormatVersion)
    return std::unexpected(fmt::format("the snapshot is of format version {}; this irqremap reads version {}",
                                       d.version, kFormatVersion));
  uint32_t len = 0;
  if (!take(&len, 4) || len > kMaxConfiguration || file.size() - pos < len)
    return std::unexpected("the snapshot is truncated or damaged in its header (configuration line)");
  d.configuration.assign(reinterpret_cast<const char*>(file.data() + pos), len);
  pos += len;
  uint64_t n = 0;
  if (!take(&n, 8) || file.size() - pos < 4 || file.size() - pos - 4 < n)
    return std::unexpected(fmt::format("the snapshot is truncated: its state should be {} bytes, the file has {}", n,
                                       file.size() >= pos + 4 ? file.size() - pos - 4 : 0));
  if (file.size() - pos - 4 != n)
    return std::unexpected(fmt::format("the snapshot has {} bytes after its state", file.size() - pos - 4 - n));
  d.stream = file.subspan(pos, n);
  pos += n;
  const uint32_t computed = crc_of(file.first(pos));
  uint32_t crc = 0;
  take(&crc, 4);
  if (crc != computed)
    return std::unexpected("the snapshot is damaged: its CRC-32 does not match its contents");
  return d;
}

std::expected<std::vector<uint8_t>, std::string> read_file(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return std::unexpected(fmt::format("{}: cannot open (no such file)", path));
  if (!std::filesystem::is_regular_file(st)) return std::unexpected(fmt::format("{}: not a regular file", path));
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::unexpected(fmt::format("{}: cannot read its size: {}", path, ec.message()));
  if (size > kMaxFileBytes)
    return std::unexpected(fmt::format("{}: {} bytes, larger than any snapshot irqremap writes", path, size));
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::unexpected(fmt::format("{}: cannot open", path));
  std::vector<uint8_t> out(size);
  f.read(reinterpret_cast<char*>(out.data()), std::streamsize(size));
  if (uint64_t(f.gcount()) != size) return std::unexpected(fmt::format("{}: read failed", path));
  return out;
}

std::expected<void, std::string> write_file(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return std::unexpected(fmt::format("{}: cannot create", path));
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  f.close();
  if (!f) return std::unexpected(fmt::format("{}: write failed", path));
  return {};
}

}  // namespace irqremap::snapshot
