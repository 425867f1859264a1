#pragma once
// Reading a state stream without knowing the machine (docs/SNAPSHOT.md "Records"): every
// record with its path and value, as `irqremap snapshot show` prints them. The stream is
// self-describing, so a file can be explained field by field, and two files compared line
// by line, by anyone with irqremap — including one from a machine this build cannot
// restore.
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include "snapshot/state_io.h"

namespace irqremap::snapshot {

struct Record {
  std::string path;   // group/group/name ("cpu1/sysregs/TTBR0_EL1")
  Kind kind = Kind::U8;
  std::string value;  // decimal and hex for integers, "true"/"false", quoted text,
                      // "<N bytes>" and their first bytes in hex for byte strings
  uint64_t size = 0;  // byte strings: their length
};

// Every record but the group markers. Fails (saying where) on a stream that is not
// well-formed: an unknown record type, a truncated record, an end with no group open.
std::expected<std::vector<Record>, std::string> records(std::span<const uint8_t> stream);

}  // namespace irqremap::snapshot
