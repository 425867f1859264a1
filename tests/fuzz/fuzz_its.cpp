// Fuzz target: the GICv3 ITS (remap/its/its.h) with the redistributors it hands LPIs to and
// the distributor beside them (arch/arm64). Register writes (CTLR, CBASER, CWRITER,
// BASER0/1 flat and Indirect), commands queued in RAM with their operands drawn from the
// input, level-1/level-2 table entries, device MSIs and CPU TRANSLATER writes, and the
// CPU interface's acknowledge/EOI. The differential runs (below) end with Its::mappings(),
// the listing walk over whatever tables the guest left.
//
// Half the inputs run twice, once with the translation cache and once without, and every
// MSI's translation, every acknowledge and the final state (registers, command errors,
// redistributors, guest RAM) must agree: issue 13's "a hit always equals a fresh walk"
// under any command stream, erroneous ones included. The cache may legitimately hold a
// translation whose memory changed under it without a command (IHI0069 §5.3.1: software
// changes tables only through commands; overlapping tables are UNPREDICTABLE), so those
// runs keep the structures apart (Layout below) and follow each direct table write with a
// global invalidation, in both runs alike.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "remap/guest_memory.h"
#include "remap/its/its.h"
#include "remap/its/register_format.h"
#include "tests/fuzz/differential.h"
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

// Where the differential runs put each structure, so that no write the ITS, the
// redistributors or the queue make lands in a table another translation reads: the
// device table (flat DTEs or level-1 entries), the collection table, the queue, LPI
// configuration, one pending table per CPU, level-2 device pages, and one 16 KiB ITT slot
// per DeviceID below 16 (a DeviceID beyond gets an ITT outside RAM, so its MAPTIs write
// nothing). DTEs, CTEs and level-2 pages may alias each other: MAPD and MAPC flush the
// whole cache. Elsewhere (the memory-safety runs) anything goes anywhere.
namespace layout {
constexpr uint64_t kDevices = kRam, kCollections = kRam + 0x1'0000, kQueue = kRam + 0x2'0000,
                   kLpiConfig = kRam + 0x3'0000, kPending = kRam + 0x5'0000, kLevel2 = kRam + 0x7'0000,
                   kItts = kRam + 0x9'0000, kTableBytes = 0x1'0000, kIttBytes = 0x4000;
constexpr unsigned kMaxItsSize = 9;  // 2^10 ITEs of 12 bytes fit a slot
constexpr uint64_t itt(uint64_t devid) { return devid < 16 ? kItts + devid * kIttBytes : 0xF000'0000; }
// Pages of `page_size` (GITS_BASER encoding) that fit one 64 KiB region.
constexpr uint64_t pages_field(uint64_t pages, uint64_t page_size) {
  return pages % (16 >> (page_size == 0 ? 0 : page_size == 1 ? 2 : 4));
}
}  // namespace layout

void play(OpStream& in, uint8_t knobs, bool cache, Observed* observed);
}  // namespace

void run(OpStream& in) {
  const uint8_t knobs = in.u8();
  if (!(knobs & 16)) {
    play(in, knobs, knobs & 1, nullptr);
    return;
  }
  OpStream again = in;
  Observed on, off;
  play(in, knobs, true, &on);
  play(again, knobs, false, &off);
  compare("fuzz_its", on, off, kRam, kRamSize);
}

namespace {
void play(OpStream& in, uint8_t knobs, bool cache, Observed* observed) {
  auto owned = std::make_unique<GuestMemory>();
  GuestMemory& mem = *owned;
  if (!mem.add_ram(kRam, kRamSize, "ram")) __builtin_trap();
  its::ItsConfig cfg;
  cfg.cache = cache;
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
  const bool apart = observed != nullptr;  // the differential runs keep structures apart

  for (unsigned steps = 0; !in.done() && steps < 512; ++steps) {
    switch (in.below(14)) {
      case 0: {  // any ITS register access (but where tables go, in the differential runs)
        const uint64_t off = in.u32() % its::reg::kWindowSize;
        const unsigned size = in.size();
        const uint64_t value = truncate(in.u64(), size);
        const bool moves_table = reaches(off, size, its::reg::GITS_CBASER, 8) ||
                                 reaches(off, size, its::reg::GITS_BASER, 0x40);
        if (!(apart && moves_table)) its.mmio_write(off, size, value);
        break;
      }
      case 1:  // CTLR.Enabled on or off
        its.mmio_write(its::reg::GITS_CTLR, 4, in.u8() & 1);
        break;
      case 2: {  // CBASER: Valid, a RAM queue, 1..16 pages
        const uint64_t anywhere = ram_pointer(in, 0x1000), pages = in.below(16);
        const uint64_t queue = apart ? layout::kQueue : anywhere;
        const uint64_t cacheability = uint64_t(in.u8()) << 56 & 0x3800'0000'0000'0000;
        its.mmio_write(its::reg::GITS_CBASER, 8, uint64_t{1} << 63 | queue | pages | cacheability);
        cwriter = 0;
        break;
      }
      case 3: {  // BASER0 (devices) or BASER1 (collections): Valid, maybe Indirect, a RAM table
        const uint64_t indirect = in.flag(), anywhere = ram_pointer(in, 0x1000), page_size = in.below(4);
        const uint64_t pages = in.below(16);
        const unsigned n = in.below(2);
        const uint64_t table = apart ? (n == 0 ? layout::kDevices : layout::kCollections) : anywhere;
        const uint64_t v = uint64_t{1} << 63 | indirect << 62 | table | page_size << 8 |
                           (apart ? layout::pages_field(pages, page_size) : pages);
        its.mmio_write(its::reg::GITS_BASER + 8 * n, 8, v);
        break;
      }
      case 4: {  // one command at CWRITER, then CWRITER moves past it (maybe with Retry)
        const uint64_t cbaser = its.mmio_read(its::reg::GITS_CBASER, 8);
        const uint64_t queue = cbaser & 0x000F'FFFF'FFFF'F000ull;
        const uint64_t at = queue + cwriter;
        const uint64_t devid = in.flag() ? in.u8() : in.u32();
        const uint8_t opcode = kCommands[in.below(std::size(kCommands))];
        (void)mem.write64(at, opcode | (devid << 32));
        const uint64_t eventid = in.flag() ? in.u8() : in.u32();
        const uint64_t pintid = in.flag() ? 8192 + in.u16() : in.u32();
        const uint64_t size = in.below(32);
        // MAPD's Size shares the EventID field; apart, it is a Size whose ITT fits its slot.
        const bool mapd = opcode == 0x08;
        (void)mem.write64(at + 8, apart && mapd ? size % (layout::kMaxItsSize + 1) : eventid | pintid << 32 | size);
        // Word 2: V, then an ITT address (MAPD) or, with bit 1 of the same byte, a processor
        // number as RDbase (MAPC, MOVALL with GITS_TYPER.PTA=0), then the ICID.
        const uint8_t w2 = in.u8();
        const uint16_t where = in.u16();
        const uint64_t target = (w2 & 2) && !cfg.pta ? uint64_t(where % kCpus) << 16
                                : apart && mapd        ? layout::itt(devid)
                                                       : (kRam + (uint64_t(where) * 0x100) % kRamSize) & ~0xFFull;
        const uint64_t icid = in.flag() || apart ? in.u16() % 4 : in.u16();
        (void)mem.write64(at + 16, (uint64_t(w2 & 1) << 63) | target | icid);
        (void)mem.write64(at + 24, in.flag() ? in.below(kCpus) << 16 : in.u64());
        cwriter = (cwriter + 32) % (0x1000 * ((cbaser & 0xFF) + 1));
        its.mmio_write(its::reg::GITS_CWRITER, 8, cwriter | (in.u8() == 0xFF ? 1 : 0));
        break;
      }
      case 5: {  // a table entry (level-1 pointer, DTE, ITE, CTE, LPI config) in RAM
        const uint16_t slot = in.u16();
        const bool pointer = in.flag();
        const uint64_t value = pointer ? (uint64_t{1} << 63) | ram_pointer(in, 0x1000) : in.u64();
        if (!apart) {
          (void)mem.write64(kRam + (uint64_t(slot) * 8) % kRamSize, value);
          break;
        }
        // Apart: a level-1 entry (Valid, pointing at one of two level-2 pages) or an
        // invalid one, or eight LPI configuration bytes.
        if (slot & 1) {
          const uint64_t l2 = layout::kLevel2 + (value >> 12 & 1) * layout::kTableBytes;
          (void)mem.write64(layout::kDevices + 8 * ((slot >> 1) % (layout::kTableBytes / 8)),
                            pointer ? (uint64_t{1} << 63) | l2 : 0);
        } else {
          (void)mem.write64(layout::kLpiConfig + 8 * ((slot >> 1) % (2 * layout::kTableBytes / 8)), value);
        }
        its.invalidate_all();
        break;
      }
      case 6: {  // a device MSI
        const uint32_t event = in.flag() ? in.u8() : in.u32();
        const uint32_t devid = in.flag() ? in.u8() : in.u32();
        Translation t = its.translate(MsiWrite{cfg.base + its::reg::GITS_TRANSLATER, event, devid});
        if (observed != nullptr) observed->msis.push_back(std::move(t));
        break;
      }
      case 7: {  // a CPU store to GITS_TRANSLATER
        const unsigned size = 1u << (1 + in.below(2));
        its.mmio_write(its::reg::GITS_TRANSLATER, size, in.u16());
        break;
      }
      case 8: {  // a redistributor register, LPI setup (PROPBASER/PENDBASER with RAM pointers)
        const uint64_t frame = arm64::gicr::kFrameSize * in.below(kCpus);
        switch (in.below(4)) {
          case 0: {
            const uint64_t anywhere = ram_pointer(in, 0x1000);
            const uint64_t table = apart ? layout::kLpiConfig : anywhere;
            rds.mmio_write(frame + arm64::gicr::PROPBASER, 8, table | in.below(32));
            break;
          }
          case 1: {
            const uint64_t anywhere = ram_pointer(in, 0x10000);
            const uint64_t table = apart ? layout::kPending + frame / arm64::gicr::kFrameSize * layout::kTableBytes : anywhere;
            rds.mmio_write(frame + arm64::gicr::PENDBASER, 8, table | uint64_t(in.flag()) << 62);
            break;
          }
          case 2: rds.mmio_write(frame + arm64::gicr::CTLR, 4, in.u8() & 1); break;
          default: {
            const uint64_t off = in.u32() % arm64::gicr::kFrameSize;
            const unsigned size = in.size();
            const uint64_t value = truncate(in.u64(), size);
            const bool moves_table = reaches(off, size, arm64::gicr::PROPBASER, 16);  // and PENDBASER
            if (!(apart && moves_table)) rds.mmio_write(frame + off, size, value);
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
        if (observed != nullptr) observed->values.push_back(acked ? acked->intid : ~uint64_t{0});
        break;
      }
      case 11:
        for (MmioDevice* d : {static_cast<MmioDevice*>(&its), static_cast<MmioDevice*>(&rds),
                              static_cast<MmioDevice*>(&gicd)}) {
          const uint64_t off = in.u32() % d->mmio_size();
          (void)d->mmio_read(off, in.size());
        }
        break;
      case 12:
        its.invalidate_all();
        break;
      case 13: {
        const uint32_t devid = in.flag() ? in.u8() : in.u32();
        (void)its.resolve(devid, in.flag() ? in.u8() : in.u32());
        break;
      }
    }
  }
  // CREADR never runs past the queue end, and a stalled queue is a disabled or erring one.
  const uint64_t cbaser = its.mmio_read(its::reg::GITS_CBASER, 8);
  if ((its.creadr() & 0xFFFE0) > 0x1000 * ((cbaser & 0xFF) + 1)) __builtin_trap();
  if (its.stalled() && its.error_count() == 0) __builtin_trap();
  if (observed == nullptr) return;
  // The final state a guest or a tool can see, apart from the cache's own statistics.
  auto& v = observed->values;
  for (uint64_t off = 0; off < 0x100; off += 8) v.push_back(its.mmio_read(off, 8));
  for (uint64_t off = 0x10000; off < 0x10100; off += 8) v.push_back(its.mmio_read(off, 8));
  v.insert(v.end(), {its.creadr(), its.cwriter(), uint64_t(its.stalled()), uint64_t(its.enabled()),
                     its.error_count(), its.commands_processed(), its.stats().translations,
                     its.stats().faults});
  for (const its::CommandErrorRecord& e : its.errors()) {
    v.insert(v.end(), {uint64_t(e.code), e.offset});
    v.insert(v.end(), e.command.begin(), e.command.end());
  }
  for (unsigned cpu = 0; cpu < kCpus; ++cpu) {
    const auto p = rds.highest_pending(cpu);
    v.push_back(p ? uint64_t(p->intid) << 8 | p->priority : ~uint64_t{0});
    for (uint64_t off = 0; off < 0x100; off += 8) v.push_back(rds.mmio_read(arm64::gicr::kFrameSize * cpu + off, 8));
  }
  // The listing reads the tables, not the cache: both runs list the same (`cached` aside).
  for (const Mapping& m : its.mappings()) {
    v.push_back(std::hash<std::string>{}(m.source));
    v.push_back(std::hash<std::string>{}(m.target));
  }
  observed->mem = std::move(owned);  // outlives the ITS, which only held a reference
}
}  // namespace

}  // namespace irqremap::fuzz
