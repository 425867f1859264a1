// Fuzz target: the VT-d unit as a guest drives it (remap/vtd/unit.h). Registers (GCMD,
// IRTA, the invalidation queue, fault and event registers, RTADDR, CCMD, IOTLB), the
// tables the guest builds in RAM (IRTEs, posted descriptors, invalidation descriptors,
// root/context/second-level entries), device MSIs and DMA requests. Pointer-shaped ops
// aim at guest RAM so the unit reaches IR/QI/TE-enabled states instead of faulting early.
#include <cstdint>

#include "remap/guest_memory.h"
#include "remap/trace.h"
#include "remap/vtd/unit.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

constexpr uint64_t kRam = 0x10'0000, kRamSize = 0x4'0000;

struct Apics final : vtd::ApicBus {
  void deliver(const ApicDelivery&) override { ++delivered; }
  uint64_t delivered = 0;
};

// The registers a driver writes, so most ops land on one rather than on reserved space.
constexpr uint64_t kRegs[] = {vtd::reg::GCMD,   vtd::reg::RTADDR, vtd::reg::CCMD,   vtd::reg::FSTS,
                              vtd::reg::FECTL,  vtd::reg::FEDATA, vtd::reg::FEADDR, vtd::reg::IQT,
                              vtd::reg::IQA,    vtd::reg::ICS,    vtd::reg::IECTL,  vtd::reg::IEDATA,
                              vtd::reg::IEADDR, vtd::reg::IRTA,   vtd::reg::IVA,    vtd::reg::IOTLB,
                              vtd::reg::FRCD,   vtd::reg::FRCD + 8, vtd::reg::FRCD + 16};
// GCMD's command bits (VT-d §11.4.4.1): TE, SRTP, WBF, QIE, IRE, SIRTP, CFI.
constexpr uint32_t kGcmd[] = {1u << 31, 1u << 30, 1u << 27, 1u << 26, 1u << 25, 1u << 24, 1u << 23};
}  // namespace

void run(OpStream& in) {
  GuestMemory mem;
  if (!mem.add_ram(kRam, kRamSize, "ram")) __builtin_trap();
  const uint8_t knobs = in.u8();
  vtd::Config cfg;
  cfg.iec_entries = (knobs & 1) ? 64 : 0;
  cfg.smts = knobs & 2;
  cfg.eim = !(knobs & 4);
  cfg.esirtps = knobs & 8;
  cfg.posted = !(knobs & 16);
  cfg.aw_bits = (knobs & 32) ? 48 : 39;
  cfg.context_cache_entries = (knobs & 64) ? 16 : 0;
  cfg.iotlb_entries = (knobs & 128) ? 32 : 0;
  cfg.nfr = 1 + in.below(8);
  Trace trace;
  Apics apics;
  vtd::Unit unit(mem, apics, trace, cfg);
  uint32_t gcmd = 0;  // the persistent bits the "driver" has set, as Linux keeps them
  unsigned listings = 0;

  for (unsigned steps = 0; !in.done() && steps < 512; ++steps) {
    switch (in.below(12)) {
      case 0: {  // a register write of any size at any offset
        const uint64_t off = in.u16() % vtd::reg::kWindow;
        const unsigned size = in.size();
        unit.mmio_write(off, size, truncate(in.u64(), size));
        break;
      }
      case 1: {  // a known register, written whole
        const uint64_t off = kRegs[in.below(std::size(kRegs))];
        unit.mmio_write(off, off % 8 ? 4 : 8, in.u64());
        break;
      }
      case 2: {  // a known 64-bit register given a pointer into RAM plus low control bits
        const uint64_t off = kRegs[in.below(std::size(kRegs))] & ~7ull;
        unit.mmio_write(off, 8, kRam + (uint64_t(in.u16()) << 4) % kRamSize + in.u8() % 16);
        break;
      }
      case 3: {  // GCMD: one command bit set or cleared on top of the persistent ones
        const uint32_t bit = kGcmd[in.below(std::size(kGcmd))];
        gcmd = in.flag() ? gcmd | bit : gcmd & ~bit;
        unit.mmio_write(vtd::reg::GCMD, 4, gcmd | (in.flag() ? bit : 0));
        break;
      }
      case 4: {  // a table entry in RAM (IRTE, descriptor, root/context/PTE): two words
        const uint64_t at = kRam + (uint64_t(in.u16()) * 16) % kRamSize;
        (void)mem.write64(at, in.u64());
        (void)mem.write64(at + 8, in.u64());
        break;
      }
      case 5: {  // an entry that points at RAM (context entry, PTE, posted descriptor)
        const uint64_t at = kRam + (uint64_t(in.u16()) * 8) % kRamSize;
        (void)mem.write64(at, (kRam + (uint64_t(in.u16()) << 12) % kRamSize) | in.u16() % 0x1000);
        break;
      }
      case 6: {  // the queue tail moves by n descriptors
        unit.mmio_write(vtd::reg::IQT, 8, uint64_t(in.u8()) << 4);
        break;
      }
      case 7: {  // a device MSI, remappable or compatibility format
        const uint64_t addr = 0xFEE0'0000 | (uint64_t(in.u16()) << 4) | in.u8() % 16;
        const uint32_t data = in.u32();
        (void)unit.translate(MsiWrite{addr, data, in.u16()});
        break;
      }
      case 8: {  // a DMA request
        const uint16_t sid = in.u16();
        const uint64_t iova = in.flag() ? in.u64() : uint64_t(in.u32());
        (void)unit.translate_dma(sid, iova, 1 + in.u16() % 0x2000, in.flag());
        break;
      }
      case 9:
        (void)unit.mmio_read(in.u16() % vtd::reg::kWindow, in.size());
        break;
      case 10:
        unit.invalidate_all();
        break;
      case 11:
        // A listing reads every IRTE of the table that RAM backs (here up to 16,384),
        // which is what a dump costs; one per run keeps the fuzzer's time on the rest.
        if (listings++ == 0) (void)unit.mappings();
        break;
    }
  }
  // The register view and the host view agree.
  if (unit.mmio_read(vtd::reg::GSTS, 4) != unit.gsts()) __builtin_trap();
  if (unit.mmio_read(vtd::reg::FSTS, 4) != unit.fsts()) __builtin_trap();
}

}  // namespace irqremap::fuzz
