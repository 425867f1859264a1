#pragma once
// The fuzz input read as a stream of operations: each target takes an opcode byte, then the
// operands it needs, and runs them against the model. A short input simply ends the
// stream (every read past the end yields 0), so any byte string is a valid program and
// libFuzzer's mutations stay meaningful: flipping one byte changes one operand.
//
// Read each operand in its own statement (or in the arms of ?:). Two reads in one
// expression or one call's arguments are unsequenced in C++, so the compiler picks their
// order, and one input would mean different programs in the -O0 test build and the -O1
// fuzzing build (GCC read `a | in.u16() << 4 | in.u8()` right to left).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace irqremap::fuzz {

class OpStream {
 public:
  OpStream(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool done() const { return pos_ >= size_; }
  std::size_t left() const { return size_ - pos_; }

  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  // Little-endian, low part read first (in its own statement, as above).
  uint16_t u16() {
    const unsigned lo = u8();
    return uint16_t(lo | unsigned(u8()) << 8);
  }
  uint32_t u32() {
    const uint32_t lo = u16();
    return lo | uint32_t(u16()) << 16;
  }
  uint64_t u64() {
    const uint64_t lo = u32();
    return lo | uint64_t(u32()) << 32;
  }
  bool flag() { return u8() & 1; }
  // A value in [0, n) (n > 0).
  unsigned below(unsigned n) { return u8() % n; }
  // An access size the buses deliver: 1, 2, 4 or 8 bytes.
  unsigned size() { return 1u << (u8() & 3); }
  // Up to `max` bytes as a string (for names, numbers, command lines).
  std::string text(std::size_t max) {
    std::size_t n = u8() % (max + 1);
    std::string s;
    while (n-- > 0 && !done()) s.push_back(char(u8()));
    return s;
  }
  // The rest of the input.
  std::span<const uint8_t> rest() {
    auto s = std::span(data_ + pos_, size_ - pos_);
    pos_ = size_;
    return s;
  }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Keeps only the value's low `bytes` bytes, as a bus access of that size carries.
inline uint64_t truncate(uint64_t v, unsigned bytes) {
  return bytes >= 8 ? v : v & ((uint64_t{1} << (8 * bytes)) - 1);
}

// What each target defines: one input, run against the model (entry.cpp calls it).
void run(OpStream& in);

}  // namespace irqremap::fuzz
