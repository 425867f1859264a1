#include "arch/common/pci/pci_testdev.h"

#include <fmt/format.h>

namespace irqremap::pci {

namespace {
constexpr uint8_t kDataMatch = 0xFA, kNoMatch = 0xCE;
constexpr unsigned kHeaderSize = 16;  // test, width, pad, offset, data, pad, count
constexpr const char* kTestNames[] = {"no-eventfd", "wildcard-eventfd", "datamatch-eventfd"};
}  // namespace

PciTestdev::PciTestdev() : config_(kVendor, kDevice, 0x00FF00, 0x00) {
  config_.set16(cfg::SUBSYSTEM_VENDOR_ID, 0x1AF4);
  config_.set16(cfg::SUBSYSTEM_ID, 0x1100);
  config_.add_bar(0, BarKind::Mem32, kMemSize);
  config_.add_bar(1, BarKind::Io, kIoSize);
  for (unsigned i = 0; i < tests_.size(); ++i) {
    const bool io = i >= kTestsPerBar;
    Test& t = tests_[i];
    t.name = fmt::format("{}-{}", io ? "portio" : "mmio", kTestNames[i % kTestsPerBar]);
    // The test areas start half-way into each BAR; test i writes at byte i there.
    t.offset = uint32_t((io ? kIoSize : kMemSize) / 2 + i);
    t.match_data = i % kTestsPerBar != 1;  // all but the wildcard test match the data
    t.data = t.match_data ? kDataMatch : kNoMatch;
  }
}

uint8_t PciTestdev::read_byte(uint64_t offset) const {
  if (current_ < 0) return 0;
  const Test& t = tests_[unsigned(current_)];
  const uint64_t used = kHeaderSize + t.name.size() + 1;
  if (offset + 1 >= used) return 0;
  auto le = [&](uint32_t v, uint64_t at) { return uint8_t(v >> (8 * (offset - at))); };
  if (offset == 0) return uint8_t(current_);
  if (offset == 1) return 1;  // width
  if (offset >= 4 && offset < 8) return le(t.offset, 4);
  if (offset == 8) return t.data;
  if (offset >= 12 && offset < 16) return le(t.count, 12);
  if (offset >= kHeaderSize) return uint8_t(t.name[offset - kHeaderSize]);
  return 0;  // padding
}

void PciTestdev::write_byte(unsigned bar, uint64_t offset, uint8_t value) {
  if (offset == 0) {
    current_ = -1;
    if (value >= kTestsPerBar) return;
    current_ = int(bar * kTestsPerBar + value);
    tests_[unsigned(current_)].count = 0;
    return;
  }
  if (current_ < 0) return;
  Test& t = tests_[unsigned(current_)];
  if (offset != t.offset) return;
  if (t.match_data && value != t.data) return;
  ++t.count;
}

uint64_t PciTestdev::bar_read(unsigned bar, uint64_t offset, unsigned size) {
  if (bar > 1) return 0;
  uint64_t v = 0;
  for (unsigned i = 0; i < size && i < 8; ++i) v |= uint64_t(read_byte(offset + i)) << (8 * i);
  return v;
}

void PciTestdev::bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
  if (bar > 1) return;
  for (unsigned i = 0; i < size && i < 8; ++i) write_byte(bar, offset + i, uint8_t(value >> (8 * i)));
}

}  // namespace irqremap::pci

namespace irqremap::pci {

void PciTestdev::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pci-testdev");
  PciFunction::state(io);
  for (Test& t : tests_) io.field(fmt::format("{}_count", t.name), t.count);
  int32_t current = current_;
  io.field("current", current);
  if (io.check(current >= -1 && current < int32_t(tests_.size()), "no such pci-testdev test")) current_ = current;
}

}  // namespace irqremap::pci
