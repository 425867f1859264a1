#pragma once
// Shared test rig for the message-store device: guest RAM, a recording MSI bus, a trace
// recorder, and a driver that talks to the device through its registers.
#include <doctest/doctest.h>

#include <vector>

#include "device/msg_device.h"

namespace irqremap::device::test {

struct RecordingBus final : MsiSink {
  void msi_write(const MsiWrite& m) override { sent.push_back(m); }
  std::vector<MsiWrite> sent;
};

inline constexpr uint64_t kRam = 0x1000'0000;
inline constexpr uint64_t kQueue = kRam + 0x1000;
inline constexpr uint64_t kCtx = kRam + 0x2000;
inline constexpr uint64_t kMsiAddr = 0xFEE0'0018;  // remappable, handle 0, SHV

struct DeviceRig {
  GuestMemory mem;
  RecordingBus bus;
  RecordingSink events;
  MsgDevice dev;
  uint32_t tail = 0;

  explicit DeviceRig(DeviceConfig cfg = {}) : dev(init(mem), bus, std::move(cfg)) {
    dev.trace().attach(&events);
    dev.mmio_write(reg::CQ_BASE, 8, kQueue);
    dev.mmio_write(reg::CQ_SIZE, 4, 16);
    dev.mmio_write(reg::CTX_BASE, 8, kCtx);
  }
  static GuestMemory& init(GuestMemory& m) {
    REQUIRE(m.add_ram(kRam, 0x10000, "ram"));
    return m;
  }
  uint64_t slot_off(unsigned n, unsigned byte = 0) const { return reg::SLOT_BASE + 16 * n + byte; }
  // Queue one command and ring the doorbell.
  void command(CmdOp op, unsigned slot = 0, uint64_t extra_w0 = 0, uint64_t w1 = 0) {
    const uint64_t at = kQueue + uint64_t{tail} * 16;
    REQUIRE(mem.write64(at, uint64_t(op) | (uint64_t{slot} << 16) | extra_w0));
    REQUIRE(mem.write64(at + 8, w1));
    tail = (tail + 1) % 16;
    dev.mmio_write(reg::CQ_TAIL, 4, tail);
  }
};

}  // namespace irqremap::device::test
