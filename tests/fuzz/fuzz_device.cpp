// Fuzz target: the common device (device/msg_device.h) through its MMIO window, its host
// API, its command queue and its context in RAM, with a configuration drawn from the
// input (slot count and layout, context split, including the RO sizes 0..7 of issue 14).
#include <cstdint>

#include "device/msg_device.h"
#include "remap/guest_memory.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

using namespace device;
constexpr uint64_t kRam = 0x1000'0000, kRamSize = 0x2'0000;

struct Bus final : MsiSink {
  void msi_write(const MsiWrite&) override { ++sent; }
  uint64_t sent = 0;
};

constexpr uint64_t kRegs[] = {reg::ERROR, reg::TRIGGER, reg::CONTROL, reg::CTX_BASE,
                              reg::CQ_BASE, reg::CQ_SIZE, reg::CQ_TAIL};
}  // namespace

void run(OpStream& in) {
  GuestMemory mem;
  if (!mem.add_ram(kRam, kRamSize, "ram")) __builtin_trap();
  DeviceConfig cfg;
  cfg.slots = 1 + in.below(reg::kMaxSlots);
  cfg.layout = in.flag() ? SlotLayout::Reordered : SlotLayout::Idxd;
  const uint8_t knobs = in.u8();
  cfg.eager_mask = knobs & 1;
  cfg.unsplit_context = knobs & 2;
  cfg.one_shot = knobs & 4;
  cfg.ctx_ro_bytes = in.u8();
  cfg.ctx_rw_bytes = in.u8();
  Bus bus;
  MsgDevice dev(mem, bus, cfg);
  const unsigned slots = dev.config().slots;
  uint64_t fired = 0;

  for (unsigned steps = 0; !in.done() && steps < 512; ++steps) {
    switch (in.below(16)) {
      case 0: {
        const uint64_t off = in.u16() % reg::kWindowSize;
        const unsigned size = in.size();
        dev.mmio_write(off, size, truncate(in.u64(), size));
        break;
      }
      case 1: {
        const uint64_t off = kRegs[in.below(std::size(kRegs))];
        dev.mmio_write(off, 4, in.u32());
        break;
      }
      case 2: {  // a queue or context pointer into RAM
        const uint64_t reg = in.flag() ? reg::CQ_BASE : reg::CTX_BASE;
        dev.mmio_write(reg, 8, kRam + (uint64_t(in.u16()) * 8) % kRamSize);
        break;
      }
      case 3: {  // a command entry in RAM, then the doorbell
        const uint64_t at = kRam + (uint64_t(in.u16()) * 16) % kRamSize;
        const uint64_t op = in.below(10), slot = in.below(slots + 2);
        (void)mem.write64(at, op | slot << 16 | (in.flag() ? in.u64() << 24 : 0));
        (void)mem.write64(at + 8, in.flag() ? in.u64() : 0);
        dev.mmio_write(reg::CQ_TAIL, 4, in.u16() % 4096);
        break;
      }
      case 4: {  // a slot store of any piece, as firmware writes it
        const uint64_t slot = in.below(slots + 1);
        const uint64_t off = reg::SLOT_BASE + 16 * slot + in.below(16);
        const unsigned size = in.size();
        dev.mmio_write(off, size, truncate(in.u64(), size));
        break;
      }
      case 5: {
        const unsigned slot = in.below(slots);
        const uint64_t address = in.u64();
        const uint32_t data = in.u32();
        dev.write_slot(slot, address, data, in.flag());
        break;
      }
      case 6: {
        const unsigned slot = in.below(slots);
        dev.set_mask(slot, in.flag());
        break;
      }
      case 7: dev.fire(in.below(slots)); ++fired; break;
      case 8: dev.disable(in.below(slots)); break;
      case 9: dev.enable(in.below(slots)); break;
      case 10: dev.rearm(in.below(slots)); break;
      case 11: (void)dev.swap_in(); break;
      case 12: (void)dev.swap_out(); break;
      case 13: dev.request_ro_reload(); break;
      case 14: dev.process_queue(); break;
      case 15: {
        const uint64_t off = in.u16() % reg::kWindowSize;
        (void)dev.mmio_read(off, in.size());
        break;
      }
    }
  }
  // Every MSI the device counts reached the bus, and the register view agrees.
  if (dev.messages() != bus.sent) __builtin_trap();
  if (dev.mmio_read(reg::MESSAGES, 8) != dev.messages()) __builtin_trap();
  if (dev.events() < fired) __builtin_trap();
}

}  // namespace irqremap::fuzz
