// The common device's part of a machine snapshot (MsgDevice::state): a device restored from
// a snapshot sends what the saved one would have sent, from the same store, queue and
// context, and a file whose queue or context does not fit the device is refused.
#include <doctest/doctest.h>

#include <algorithm>

#include "snapshot/state_io.h"
#include "tests/device/device_rig.h"

using namespace irqremap;
using namespace irqremap::device;
using namespace irqremap::device::test;

namespace {

std::vector<uint8_t> saved(MsgDevice& d) {
  snapshot::Io io = snapshot::Io::saver();
  d.state(io);
  REQUIRE(io.ok());
  return io.take();
}

}  // namespace

TEST_CASE("device snapshot: a restored device sends the saved one's messages, pending events and counters included") {
  DeviceRig a({.slots = 4, .source = 0x18});
  a.dev.write_slot(1, kMsiAddr, 0x21, /*masked=*/true);
  a.dev.fire(1);  // pending while masked
  a.dev.write_slot(3, kMsiAddr, 0x23, false);
  a.dev.fire(3);
  a.command(CmdOp::SwapIn);
  // Half a piecewise update: the IDXD layout's address_lo is written, data not yet.
  a.dev.mmio_write(a.slot_off(3, 0), 4, 0xFEE0'1004);
  const std::vector<uint8_t> bytes = saved(a.dev);

  DeviceRig b({.slots = 4, .source = 0x18});
  snapshot::Io io = snapshot::Io::loader(bytes);
  b.dev.state(io);
  REQUIRE(io.ok());
  CHECK(io.at_end());
  CHECK(saved(b.dev) == bytes);
  CHECK(b.dev.pending(1));
  CHECK(b.dev.swapped_in());
  CHECK(b.dev.cq_head() == a.dev.cq_head());
  CHECK(b.dev.counters(3).messages == 1);
  // Both go on alike: the unmask replays slot 1's event, slot 3 sends its torn message.
  for (DeviceRig* r : {&a, &b}) {
    r->dev.set_mask(1, false);
    r->dev.fire(3);
  }
  const std::vector<MsiWrite> tail_a(a.bus.sent.begin() + 1, a.bus.sent.end());
  CHECK(tail_a == b.bus.sent);
  CHECK(b.bus.sent.size() == 2);
  CHECK(b.bus.sent[0] == MsiWrite{kMsiAddr, 0x21, 0x18});
}

TEST_CASE("device snapshot: a file of another slot count, or a queue head past CQ_SIZE, is refused") {
  DeviceRig a({.slots = 4});
  const std::vector<uint8_t> bytes = saved(a.dev);
  DeviceRig eight({.slots = 8});
  snapshot::Io io = snapshot::Io::loader(bytes);
  eight.dev.state(io);
  CHECK(io.error() == "dev0/: 4 slots in the file, the device has 8");
  DeviceRig b({.slots = 4});
  std::vector<uint8_t> bad = bytes;
  const std::string key = "\x07" "CQ_HEAD";
  auto it = std::search(bad.begin(), bad.end(), key.begin(), key.end());
  REQUIRE(it != bad.end());
  *(it + 8) = 16;  // CQ_SIZE is 16
  snapshot::Io in = snapshot::Io::loader(bad);
  b.dev.state(in);
  CHECK(in.error() == "dev0/: CQ_SIZE, CQ_HEAD or CQ_TAIL out of range");
}
