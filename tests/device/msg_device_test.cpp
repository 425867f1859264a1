// The common message-store device (issue 5; device/README.md: the IDXD IMS slot layout
// and the hazards it demonstrates).
#include <doctest/doctest.h>

#include "tests/device/device_rig.h"

using namespace irqremap;
using namespace irqremap::device;
using namespace irqremap::device::test;

TEST_CASE("device: a slot written once at startup sends its message unchanged on every event") {
  DeviceRig r({.source = 0x0018});
  r.dev.write_slot(2, kMsiAddr, 0x0, /*masked=*/true);
  r.dev.set_mask(2, false);
  for (int i = 0; i < 3; ++i) r.dev.fire(2);
  REQUIRE(r.bus.sent.size() == 3);
  for (const MsiWrite& m : r.bus.sent) CHECK(m == MsiWrite{kMsiAddr, 0x0, 0x0018});
  CHECK(r.dev.counters(2).commits == 1);
  CHECK(r.dev.counters(2).rewrites_enabled == 0);
  CHECK(r.dev.counters(2).messages == 3);
}

TEST_CASE("device: every rewrite of an enabled slot is counted and traced") {
  DeviceRig r;
  r.dev.write_slot(0, kMsiAddr, 0x10, true);
  r.dev.set_mask(0, false);
  r.dev.write_slot(0, kMsiAddr, 0x11, false);
  CHECK(r.dev.counters(0).rewrites_enabled == 1);
  CHECK(r.dev.counters(0).commits == 2);
  CHECK(r.events.contains(EventKind::Device, "message rewritten while enabled"));
}

TEST_CASE("device H1: IDXD layout written lo, hi, data sends a torn message between the pieces") {
  DeviceRig r;
  r.dev.write_slot(0, 0xFEE0'0018, 0x0, true);
  r.dev.set_mask(0, false);
  // The driver moves the message (as non-remapped Linux would): address_lo first.
  r.dev.mmio_write(r.slot_off(0, 0), 4, 0xFEE0'1004);
  r.dev.fire(0);
  REQUIRE(r.bus.sent.size() == 1);
  CHECK(r.bus.sent[0].address == 0xFEE0'1004);  // new address ...
  CHECK(r.bus.sent[0].data == 0x0);              // ... old data
  CHECK(r.dev.counters(0).torn == 1);
  CHECK(r.events.count(EventKind::Hazard) == 1);
  CHECK(r.events.contains(EventKind::Hazard, "torn message (H1)"));
  r.dev.mmio_write(r.slot_off(0, 4), 4, 0);
  r.dev.mmio_write(r.slot_off(0, 8), 4, 0x4041);  // data: the commit point
  r.dev.fire(0);
  CHECK(r.bus.sent.back() == MsiWrite{0xFEE0'1004, 0x4041, 0});
  CHECK(r.dev.counters(0).torn == 1);
}

TEST_CASE("device H1: the reordered slot commits {address_lo, data} atomically even as two 32-bit halves") {
  DeviceRig r({.layout = SlotLayout::Reordered});
  r.dev.write_slot(0, 0xFEE0'0018, 0x0, true);
  r.dev.set_mask(0, false);
  r.dev.mmio_write(r.slot_off(0, 0), 4, 0xFEE0'1004);  // low half of the 8-byte store
  r.dev.fire(0);                                         // Unicorn may run the device here
  r.dev.mmio_write(r.slot_off(0, 4), 4, 0x4041);        // high half: data commits both
  r.dev.fire(0);
  REQUIRE(r.bus.sent.size() == 2);
  CHECK(r.bus.sent[0] == MsiWrite{0xFEE0'0018, 0x0, 0});  // the old message, whole
  CHECK(r.bus.sent[1] == MsiWrite{0xFEE0'1004, 0x4041, 0});
  CHECK(r.dev.counters(0).torn == 0);
  CHECK(r.events.count(EventKind::Hazard) == 0);
  // One 8-byte store is the same commit.
  r.dev.mmio_write(r.slot_off(0, 0), 8, (uint64_t{0x4042} << 32) | 0xFEE0'2004);
  r.dev.fire(0);
  CHECK(r.bus.sent.back() == MsiWrite{0xFEE0'2004, 0x4042, 0});
}

TEST_CASE("device H1: a piecewise write to a masked slot never tears") {
  DeviceRig r;
  r.dev.write_slot(0, 0xFEE0'0018, 0x0, true);
  r.dev.mmio_write(r.slot_off(0, 0), 4, 0xFEE0'1004);
  r.dev.fire(0);  // masked: pending, nothing sent
  CHECK(r.bus.sent.empty());
  CHECK(r.dev.pending(0));
  r.dev.mmio_write(r.slot_off(0, 8), 4, 0x4041);
  r.dev.mmio_write(r.slot_off(0, 12), 4, 0);  // ctrl: unmask -> the pending event goes out
  REQUIRE(r.bus.sent.size() == 1);
  CHECK(r.bus.sent[0] == MsiWrite{0xFEE0'1004, 0x4041, 0});
  CHECK(r.dev.counters(0).torn == 0);
  CHECK(r.dev.counters(0).replays == 1);
}

TEST_CASE("device H3: lazy disable only marks; an event then masks the slot, stays pending, and enable replays it") {
  DeviceRig r;
  r.dev.write_slot(1, kMsiAddr, 7, false);
  r.dev.disable(1);
  CHECK_FALSE(r.dev.masked(1));  // lazy: the store is untouched
  r.dev.fire(1);
  CHECK(r.bus.sent.empty());
  CHECK(r.dev.masked(1));
  CHECK(r.dev.pending(1));
  CHECK(r.events.contains(EventKind::Device, "device masks the slot (lazy)"));
  r.dev.enable(1);
  REQUIRE(r.bus.sent.size() == 1);
  CHECK(r.bus.sent[0].data == 7);
  CHECK_FALSE(r.dev.masked(1));
  CHECK_FALSE(r.dev.pending(1));
  CHECK(r.dev.counters(1).replays == 1);
}

TEST_CASE("device H3: eager disable masks at once and loses nothing either") {
  DeviceRig r({.eager_mask = true});
  r.dev.write_slot(1, kMsiAddr, 7, false);
  r.dev.disable(1);
  CHECK(r.dev.masked(1));
  r.dev.fire(1);
  r.dev.fire(1);  // two events while masked coalesce into one pending bit (as MSI-X PBA)
  CHECK(r.bus.sent.empty());
  r.dev.enable(1);
  CHECK(r.bus.sent.size() == 1);
  CHECK(r.dev.counters(1).events == 2);
}

TEST_CASE("device: a driver mask survives enable; the pending event waits for unmask") {
  DeviceRig r;
  r.dev.write_slot(0, kMsiAddr, 1, true);  // masked by the driver
  r.dev.disable(0);
  r.dev.fire(0);
  r.dev.enable(0);
  CHECK(r.bus.sent.empty());
  CHECK(r.dev.masked(0));
  r.dev.set_mask(0, false);
  CHECK(r.bus.sent.size() == 1);
}

TEST_CASE("device: a one-shot slot fires once and stays quiet until REARM arrives through the queue") {
  DeviceRig r({.one_shot = true});
  r.dev.write_slot(0, kMsiAddr, 3, false);
  r.dev.fire(0);
  CHECK(r.bus.sent.size() == 1);
  CHECK_FALSE(r.dev.armed(0));
  r.dev.fire(0);
  CHECK(r.bus.sent.size() == 1);
  CHECK(r.dev.pending(0));
  r.command(CmdOp::Rearm, 0);
  CHECK(r.bus.sent.size() == 2);  // the event that arrived while unarmed
  CHECK(r.dev.cq_head() == 1);
  CHECK_FALSE(r.dev.armed(0));
  r.command(CmdOp::Rearm, 0);
  CHECK(r.dev.armed(0));
  CHECK(r.bus.sent.size() == 2);
}

TEST_CASE("device H2: unsplit swap-out writes the whole context back and clobbers a host RO change") {
  DeviceRig r({.unsplit_context = true});
  REQUIRE(r.mem.write64(kCtx, 0x1111));  // RO word the host owns
  REQUIRE(r.dev.swap_in());
  REQUIRE(r.mem.write64(kCtx, 0x2222));  // host changes it while the device holds it
  r.dev.write_slot(0, kMsiAddr, 0, false);
  r.dev.fire(0);
  REQUIRE(r.dev.swap_out());
  CHECK(*r.mem.read64(kCtx) == 0x1111);  // lost update
  CHECK(r.events.contains(EventKind::Hazard, "write-back clobber (H2)"));
  CHECK(*r.mem.read64(kCtx + 64) == 1);  // RW: MSIs sent
  CHECK(*r.mem.read64(kCtx + 72) == 1);  // RW: events seen
}

TEST_CASE("device H2: the split context writes back only RW, so the host RO change stays") {
  DeviceRig r;
  REQUIRE(r.mem.write64(kCtx, 0x1111));
  REQUIRE(r.dev.swap_in());
  REQUIRE(r.mem.write64(kCtx, 0x2222));
  r.dev.write_slot(0, kMsiAddr, 0, false);
  r.dev.fire(0);
  r.dev.fire(0);
  REQUIRE(r.dev.swap_out());
  CHECK(*r.mem.read64(kCtx) == 0x2222);
  CHECK(r.events.count(EventKind::Hazard) == 0);
  CHECK(*r.mem.read64(kCtx + 64) == 2);
}

TEST_CASE("device: RELOAD_RO brings the host's RO change in on the next queue operation") {
  DeviceRig r({.unsplit_context = true});
  REQUIRE(r.mem.write64(kCtx, 0x1111));
  r.command(CmdOp::SwapIn);
  CHECK(r.dev.swapped_in());
  REQUIRE(r.mem.write64(kCtx, 0x3333));
  r.command(CmdOp::ReloadRo);
  CHECK((r.dev.status() & status::RELOAD_RO) != 0);
  r.command(CmdOp::Nop);  // the next operation reloads first
  CHECK((r.dev.status() & status::RELOAD_RO) == 0);
  r.command(CmdOp::SwapOut);
  CHECK(*r.mem.read64(kCtx) == 0x3333);  // even unsplit write-back keeps it now
  CHECK(r.events.count(EventKind::Hazard) == 0);
}

TEST_CASE("device: a context outside guest RAM is an error, not a crash, and nothing is swapped") {
  DeviceRig r;
  r.dev.mmio_write(reg::CTX_BASE, 8, 0x7000'0000);
  CHECK_FALSE(r.dev.swap_in());
  CHECK(r.dev.error() == DeviceError::ContextMemory);
  CHECK_FALSE(r.dev.swapped_in());
  CHECK((r.dev.mmio_read(reg::STATUS, 4) & status::CQ_ERROR) != 0);
  CHECK(r.dev.mmio_read(reg::ERROR, 4) == uint32_t(DeviceError::ContextMemory));
  r.dev.mmio_write(reg::ERROR, 4, 0);
  CHECK(r.dev.error() == DeviceError::None);
}

TEST_CASE("device queue: bad commands are skipped with their error code; the queue goes on") {
  DeviceRig r;
  r.dev.write_slot(0, kMsiAddr, 0, false);
  SUBCASE("unknown opcode") {
    r.command(CmdOp(0x2A));
    CHECK(r.dev.error() == DeviceError::UnknownCommand);
  }
  SUBCASE("slot out of range") {
    r.command(CmdOp::Mask, 8);
    CHECK(r.dev.error() == DeviceError::SlotOutOfRange);
  }
  SUBCASE("reserved bits") {
    r.command(CmdOp::Mask, 0, uint64_t{1} << 40);
    CHECK(r.dev.error() == DeviceError::ReservedBits);
    CHECK_FALSE(r.dev.masked(0));
  }
  CHECK(r.dev.cq_head() == 1);
  CHECK(r.events.count(EventKind::CommandError) == 1);
  r.command(CmdOp::Mask, 0);
  CHECK(r.dev.masked(0));
  CHECK(r.dev.cq_head() == 2);
}

TEST_CASE("device queue: an entry outside guest RAM stops the queue at CQ_HEAD until it is reprogrammed") {
  DeviceRig r;
  r.dev.mmio_write(reg::CQ_BASE, 8, 0x7000'0000);
  r.dev.mmio_write(reg::CQ_TAIL, 4, 1);
  CHECK(r.dev.error() == DeviceError::QueueMemory);
  CHECK((r.dev.status() & status::CQ_STOPPED) != 0);
  CHECK(r.dev.cq_head() == 0);
  r.dev.mmio_write(reg::CQ_BASE, 4, uint32_t(kQueue));  // 32-bit halves, as Unicorn splits them
  r.dev.mmio_write(reg::CQ_BASE + 4, 4, 0);
  CHECK((r.dev.status() & status::CQ_STOPPED) == 0);
  r.tail = 0;
  r.command(CmdOp::Disable, 3);
  CHECK(r.dev.disabled(3));
}

TEST_CASE("device registers: bad CQ_SIZE, CQ_TAIL and TRIGGER values are refused with an error") {
  DeviceRig r;
  r.dev.mmio_write(reg::CQ_SIZE, 4, 12);
  CHECK(r.dev.error() == DeviceError::BadQueueSize);
  CHECK(r.dev.mmio_read(reg::CQ_SIZE, 4) == 16);
  r.dev.mmio_write(reg::CQ_TAIL, 4, 16);
  CHECK(r.dev.error() == DeviceError::TailOutOfRange);
  CHECK(r.dev.mmio_read(reg::CQ_TAIL, 4) == 0);
  r.dev.mmio_write(reg::TRIGGER, 4, 99);
  CHECK(r.dev.error() == DeviceError::TriggerOutOfRange);
  CHECK(r.dev.events() == 0);
}

TEST_CASE("device registers: ID, SLOTS, TRIGGER and the status bitmaps as firmware sees them") {
  DeviceRig r({.slots = 4, .layout = SlotLayout::Reordered, .one_shot = true});
  CHECK(r.dev.mmio_read(reg::ID, 4) == reg::kIdValue);
  CHECK(r.dev.mmio_read(reg::SLOTS, 4) == (4u | (1u << 16)));
  CHECK(r.dev.mmio_read(reg::CONTROL, 4) == control::ONE_SHOT);
  // Program slot 1 through MMIO: one 8-byte store {address_lo, data}, then ctrl unmasked.
  r.dev.mmio_write(r.slot_off(1, 0), 8, (uint64_t{0x55} << 32) | 0xFEE0'0018);
  r.dev.mmio_write(r.slot_off(1, 12), 4, 0);
  CHECK(r.dev.mmio_read(r.slot_off(1, 4), 4) == 0x55);
  r.dev.mmio_write(reg::TRIGGER, 4, 1);
  REQUIRE(r.bus.sent.size() == 1);
  CHECK(r.bus.sent[0] == MsiWrite{0xFEE0'0018, 0x55, 0});
  CHECK(r.dev.mmio_read(reg::MESSAGES, 8) == 1);
  CHECK(r.dev.mmio_read(reg::ARMED, 8) == 0b1101);
  r.dev.mmio_write(reg::TRIGGER, 4, 1);
  CHECK(r.dev.mmio_read(reg::PENDING, 8) == 0b10);
  CHECK(r.dev.mmio_read(reg::EVENTS, 4) == 2);
  CHECK(r.dev.mmio_read(reg::CQ_HEAD, 4) == 0);
}

TEST_CASE("device: a context with no RO part swaps in and out through the queue (issue 14)") {
  // ctx_ro_bytes 5 rounds down to 0: swap-out then compares and writes back an empty RO
  // part, which once ended in memcpy(nullptr, p, 0) under UBSan.
  DeviceRig r(DeviceConfig{.ctx_ro_bytes = 5, .ctx_rw_bytes = 16});
  CHECK(r.dev.config().ctx_ro_bytes == 0);
  r.command(CmdOp::SwapIn);
  CHECK(r.dev.swapped_in());
  r.dev.fire(0);
  r.command(CmdOp::SwapOut);
  CHECK_FALSE(r.dev.swapped_in());
  CHECK(r.dev.error() == DeviceError::None);
  // The RW part (events at RW+8) went back to host RAM at the context base.
  CHECK(*r.mem.read64(kCtx + 8) == r.dev.events());
  CHECK(r.dev.events() == 1);
}
