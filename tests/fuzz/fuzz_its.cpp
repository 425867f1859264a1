// Fuzz target: the GICv3 ITS (remap/its/its.h) with the redistributors it hands LPIs to and
// the distributor beside them (arch/arm64). Register writes (CTLR, CBASER, CWRITER,
// BASER0/1 flat and Indirect), commands queued in RAM with their operands drawn from the
// input, level-1/level-2 table entries, device MSIs and CPU TRANSLATER writes, and the
// CPU interface's acknowledge/EOI. Its::mappings() is left out: issue 13 makes it fast.
#include <cstdint>

#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "remap/guest_memory.h"
#include "remap/its/its.h"
#include "remap/its/register_format.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

constexpr uint64_t kRam = 0x4000'0000, kRamSize = 0x10'0000;
constexpr unsigned kCpus = 2;

// The physical commands (IHI0069 §5.3): MOVI, INT, CLEAR, SYNC, MAPD, MAPC, MAPTI, MAPI,
// INV, INVALL, MOVALL, DISCARD.
constexpr uint8_t kCommands[] = {0x01, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};

uint64_t ram_pointer(OpStream& in, uint64_t align) {
  return kRam + ((uint64_t(in.u16()) * align) % kRamSize);
}
}  // namespace

void run(OpStream& in) {
  GuestMemory mem;
  if (!mem.add_ram(kRam, kRamSize, "ram")) __builtin_trap();
  const uint8_t knobs = in.u8();
  its::ItsConfig cfg;
  cfg.cache = knobs & 1;
  cfg.policy = (knobs & 2) ? its::ErrorPolicy::Stall : its::ErrorPolicy::Skip;
  cfg.pta = knobs & 4;
  // One 3-way bucket or sixteen: a small cache evicts often (the path that must stay
  // exact), and a run does not spend its time zeroing the 256 KiB default.
  cfg.cache_entries = (knobs & 8) ? 3 : 48;
  cfg.devbits = 1 + in.below(32);
  cfg.idbits = 1 + in.below(32);
  cfg.cidbits = 1 + in.below(16);
  arm64::Redistributors rds(mem, kCpus);
  arm64::Gicv3Distributor gicd(kCpus);
  its::Its its(mem, rds, cfg);
  rds.set_on_enable_change([&](uint32_t, bool on) {
    if (!on) its.invalidate_all();
  });
  uint64_t cwriter = 0;

  for (unsigned steps = 0; !in.done() && steps < 512; ++steps) {
    switch (in.below(14)) {
      case 0: {  // any ITS register access
        const uint64_t off = in.u32() % its::reg::kWindowSize;
        const unsigned size = in.size();
        its.mmio_write(off, size, truncate(in.u64(), size));
        break;
      }
      case 1:  // CTLR.Enabled on or off
        its.mmio_write(its::reg::GITS_CTLR, 4, in.u8() & 1);
        break;
      case 2: {  // CBASER: Valid, a RAM queue, 1..16 pages
        its.mmio_write(its::reg::GITS_CBASER, 8,
                       (uint64_t{1} << 63) | ram_pointer(in, 0x1000) | in.below(16) | (uint64_t(in.u8()) << 56 & 0x3800'0000'0000'0000));
        cwriter = 0;
        break;
      }
      case 3: {  // BASER0 (devices) or BASER1 (collections): Valid, maybe Indirect, a RAM table
        const uint64_t v = (uint64_t{1} << 63) | (uint64_t(in.flag()) << 62) | ram_pointer(in, 0x1000) |
                           (uint64_t(in.below(4)) << 8) | in.below(16);
        its.mmio_write(its::reg::GITS_BASER + 8 * in.below(2), 8, v);
        break;
      }
      case 4: {  // one command at CWRITER, then CWRITER moves past it (maybe with Retry)
        const uint64_t cbaser = its.mmio_read(its::reg::GITS_CBASER, 8);
        const uint64_t queue = cbaser & 0x000F'FFFF'FFFF'F000ull;
        const uint64_t at = queue + cwriter;
        const uint64_t devid = in.flag() ? in.u8() : in.u32();
        (void)mem.write64(at, kCommands[in.below(std::size(kCommands))] | (devid << 32));
        (void)mem.write64(at + 8, uint64_t(in.flag() ? in.u8() : in.u32()) |
                                      (uint64_t(in.flag() ? 8192 + in.u16() : in.u32()) << 32) | in.below(32));
        (void)mem.write64(at + 16, (uint64_t(in.flag()) << 63) | (ram_pointer(in, 0x100) & ~0xFFull) |
                                       (in.flag() ? in.u16() % 4 : in.u16()));
        (void)mem.write64(at + 24, in.flag() ? in.below(kCpus) << 16 : in.u64());
        cwriter = (cwriter + 32) % (0x1000 * ((cbaser & 0xFF) + 1));
        its.mmio_write(its::reg::GITS_CWRITER, 8, cwriter | (in.u8() == 0xFF ? 1 : 0));
        break;
      }
      case 5: {  // a table entry (level-1 pointer, DTE, ITE, CTE, LPI config) in RAM
        const uint64_t at = ram_pointer(in, 8);
        (void)mem.write64(at, in.flag() ? (uint64_t{1} << 63) | ram_pointer(in, 0x1000) : in.u64());
        break;
      }
      case 6: {  // a device MSI
        const uint32_t event = in.flag() ? in.u8() : in.u32();
        const uint32_t devid = in.flag() ? in.u8() : in.u32();
        (void)its.translate(MsiWrite{cfg.base + its::reg::GITS_TRANSLATER, event, devid});
        break;
      }
      case 7: {  // a CPU store to GITS_TRANSLATER
        its.mmio_write(its::reg::GITS_TRANSLATER, 1u << (1 + in.below(2)), in.u16());
        break;
      }
      case 8: {  // a redistributor register, LPI setup (PROPBASER/PENDBASER with RAM pointers)
        const uint64_t frame = arm64::gicr::kFrameSize * in.below(kCpus);
        switch (in.below(4)) {
          case 0: rds.mmio_write(frame + arm64::gicr::PROPBASER, 8, ram_pointer(in, 0x1000) | in.below(32)); break;
          case 1: rds.mmio_write(frame + arm64::gicr::PENDBASER, 8, ram_pointer(in, 0x10000) | (uint64_t(in.flag()) << 62)); break;
          case 2: rds.mmio_write(frame + arm64::gicr::CTLR, 4, in.u8() & 1); break;
          default: {
            const uint64_t off = in.u32() % arm64::gicr::kFrameSize;
            const unsigned size = in.size();
            rds.mmio_write(frame + off, size, truncate(in.u64(), size));
          }
        }
        break;
      }
      case 9: {  // a distributor register
        const uint64_t off = in.u16();
        const unsigned size = in.size();
        gicd.mmio_write(off, size, truncate(in.u64(), size));
        break;
      }
      case 10: {  // the CPU interface: acknowledge the highest pending interrupt, EOI it
        const unsigned cpu = in.below(kCpus);
        const auto seen = rds.highest_pending(cpu);
        const auto acked = rds.acknowledge(cpu);
        if (seen.has_value() != acked.has_value()) __builtin_trap();
        if (acked) rds.eoi(cpu, acked->intid);
        break;
      }
      case 11:
        (void)its.mmio_read(in.u32() % its::reg::kWindowSize, in.size());
        (void)rds.mmio_read(in.u32() % (kCpus * arm64::gicr::kFrameSize), in.size());
        (void)gicd.mmio_read(in.u16(), in.size());
        break;
      case 12:
        its.invalidate_all();
        break;
      case 13:
        (void)its.resolve(in.flag() ? in.u8() : in.u32(), in.flag() ? in.u8() : in.u32());
        break;
    }
  }
  // CREADR never runs past the queue end, and a stalled queue is a disabled or erring one.
  const uint64_t cbaser = its.mmio_read(its::reg::GITS_CBASER, 8);
  if ((its.creadr() & 0xFFFE0) > 0x1000 * ((cbaser & 0xFF) + 1)) __builtin_trap();
  if (its.stalled() && its.error_count() == 0) __builtin_trap();
}

}  // namespace irqremap::fuzz
