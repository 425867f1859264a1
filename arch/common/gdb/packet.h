#pragma once
// GDB remote serial protocol framing (GDB manual, Appendix E.1 "Overview"): a packet is
// `$payload#cc` with cc the modulo-256 sum of the payload's bytes in two hex digits;
// `}` escapes `#`, `$`, `}` and `*` (XOR 0x20) in binary data; the receiver answers `+`
// (or `-` for a bad checksum) until QStartNoAckMode turns acknowledgements off; a lone
// 0x03 byte outside a packet is an interrupt request (Ctrl-C, E.9 "Interrupts").
// No Unicorn and no sockets: the stub (stub.h) feeds bytes in and takes frames out.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace irqremap::gdb {

// `$payload#cc`, with the payload's `#`, `$`, `}` and `*` escaped.
std::string frame(std::string_view payload);

// Lower-case hex of bytes, and back (nullopt on an odd length or a non-hex digit).
std::string to_hex(const std::vector<std::byte>& bytes);
std::string to_hex(std::string_view text);
std::optional<std::vector<std::byte>> from_hex(std::string_view hex);
// A hex number of at most 16 digits (nullopt if empty, too long or not hex).
std::optional<uint64_t> parse_hex(std::string_view hex);
// Undoes `}` escaping in X packet data (nullopt if it ends with a lone `}`).
std::optional<std::vector<std::byte>> unescape_binary(std::string_view data);

// What arrived on the connection, one item at a time.
struct Incoming {
  enum class Kind : uint8_t { Packet, BadChecksum, Overflow, Interrupt, Ack, Nack };
  Kind kind;
  std::string payload;  // Packet only
};

// Splits a byte stream into Incoming items. A packet longer than `max_payload` is read to
// its end and reported as Overflow (never buffered without bound); bytes outside a
// packet other than `+`, `-` and 0x03 are ignored, as gdbserver does.
class PacketReader {
 public:
  explicit PacketReader(std::size_t max_payload) : max_(max_payload) {}
  std::optional<Incoming> feed(char c);

 private:
  enum class State : uint8_t { Idle, Payload, Check1, Check2 };
  std::size_t max_;
  State state_ = State::Idle;
  std::string buf_;
  bool overflow_ = false;
  uint8_t sum_ = 0;
  int check_ = 0;
};

}  // namespace irqremap::gdb
