#pragma once
// A snapshot file (docs/SNAPSHOT.md): magic "IRQRSNAP", the format version, the machine's
// configuration line, the state stream (state_io.h) and a CRC-32 of everything before it.
// A file is only ever restored into a machine of the same configuration line: the line
// names everything that shapes the machine (architecture, CPUs, RAM, devices, clock
// rates), so a file from another one is refused by saying both lines.
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/state_io.h"

namespace irqremap::snapshot {

// Bumped whenever a part's records change; a file of another version is refused.
inline constexpr uint32_t kFormatVersion = 2;  // 2: x86 alias runs as parts (`joined`), PAUSE stall
// The most a file may hold: the largest RAM either machine has, plus its devices.
inline constexpr uint64_t kMaxFileBytes = uint64_t{256} << 30;

std::vector<uint8_t> encode(std::string_view configuration, std::span<const uint8_t> stream);

struct Decoded {
  uint32_t version = 0;
  std::string configuration;
  std::span<const uint8_t> stream;  // into the decoded file's bytes
};
// Checks the magic, the version, the lengths and the CRC; never reads past `file`.
std::expected<Decoded, std::string> decode(std::span<const uint8_t> file);

// A machine's whole state as a file: `m.state(io)` visits every part;
// `m.snapshot_configuration()` is its configuration line.
template <typename Machine>
std::expected<std::vector<uint8_t>, std::string> save(Machine& m) {
  Io io = Io::saver();
  m.state(io);
  if (!io.ok()) return std::unexpected(io.error());
  return encode(m.snapshot_configuration(), io.take());
}

// Restores `file` into `m`, a machine just created with the same configuration (nothing
// loaded, never run). On failure `m` is in no useful state: throw it away.
template <typename Machine>
std::expected<void, std::string> restore(Machine& m, std::span<const uint8_t> file) {
  auto d = decode(file);
  if (!d) return std::unexpected(d.error());
  const std::string mine = m.snapshot_configuration();
  if (d->configuration != mine)
    return std::unexpected("the snapshot is of another machine: it was saved on \"" + d->configuration +
                           "\", this machine is \"" + mine + "\"");
  Io io = Io::loader(d->stream);
  m.state(io);
  if (!io.ok()) return std::unexpected("the snapshot cannot be restored: " + io.error());
  if (!io.at_end()) return std::unexpected("the snapshot holds more than this machine restores (records left over)");
  return {};
}

// Whole files, with the reason in the message when it fails.
std::expected<std::vector<uint8_t>, std::string> read_file(const std::string& path);
std::expected<void, std::string> write_file(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace irqremap::snapshot
