#include "arch/common/gdb/packet.h"

#include <fmt/format.h>

namespace irqremap::gdb {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string frame(std::string_view payload) {
  std::string out = "$";
  uint8_t sum = 0;
  for (char c : payload) {
    if (c == '#' || c == '$' || c == '}' || c == '*') {
      out += '}';
      sum = uint8_t(sum + '}');
      c = char(c ^ 0x20);
    }
    out += c;
    sum = uint8_t(sum + uint8_t(c));
  }
  return out + fmt::format("#{:02x}", sum);
}

std::string to_hex(const std::vector<std::byte>& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::byte b : bytes) out += fmt::format("{:02x}", unsigned(b));
  return out;
}

std::string to_hex(std::string_view text) {
  std::string out;
  for (char c : text) out += fmt::format("{:02x}", unsigned(uint8_t(c)));
  return out;
}

std::optional<std::vector<std::byte>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::byte> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = std::byte(hi << 4 | lo);
  }
  return out;
}

std::optional<uint64_t> parse_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

std::optional<std::vector<std::byte>> unescape_binary(std::string_view data) {
  std::vector<std::byte> out;
  out.reserve(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '}') {
      out.push_back(std::byte(data[i]));
      continue;
    }
    if (++i == data.size()) return std::nullopt;
    out.push_back(std::byte(data[i] ^ 0x20));
  }
  return out;
}

std::optional<Incoming> PacketReader::feed(char c) {
  switch (state_) {
    case State::Idle:
      if (c == '$') {
        state_ = State::Payload;
        buf_.clear();
        overflow_ = false;
        sum_ = 0;
      } else if (c == '\x03') {
        return Incoming{Incoming::Kind::Interrupt, {}};
      } else if (c == '+') {
        return Incoming{Incoming::Kind::Ack, {}};
      } else if (c == '-') {
        return Incoming{Incoming::Kind::Nack, {}};
      }
      return std::nullopt;
    case State::Payload:
      if (c == '#') {
        state_ = State::Check1;
        return std::nullopt;
      }
      sum_ = uint8_t(sum_ + uint8_t(c));
      if (buf_.size() < max_) buf_ += c;
      else overflow_ = true;
      return std::nullopt;
    case State::Check1:
      check_ = hex_digit(c);
      state_ = State::Check2;
      return std::nullopt;
    case State::Check2: {
      state_ = State::Idle;
      const int lo = hex_digit(c);
      if (overflow_) return Incoming{Incoming::Kind::Overflow, {}};
      if (check_ < 0 || lo < 0 || uint8_t(check_ << 4 | lo) != sum_) return Incoming{Incoming::Kind::BadChecksum, {}};
      return Incoming{Incoming::Kind::Packet, std::move(buf_)};
    }
  }
  return std::nullopt;
}

}  // namespace irqremap::gdb
