// Fuzz target: the VT-d unit as a guest drives it (remap/vtd/unit.h). Registers (GCMD,
// IRTA, the invalidation queue, fault and event registers, RTADDR, CCMD, IOTLB), the
// tables the guest builds in RAM (IRTEs, posted descriptors, invalidation descriptors,
// root/context/second-level entries), device MSIs and DMA requests. Pointer-shaped ops
// aim at guest RAM so the unit reaches IR/QI/TE-enabled states instead of faulting early.
//
// Half the inputs run twice, with the interrupt entry cache and without it, and
// every MSI's translation, every DMA answer, the registers, the fault records and guest
// RAM must agree: a hit equals a fresh walk (issue 13), across SIRTP epochs, EIM, posted
// IRTEs, FPD and fault-record overflow. The IEC may keep an IRTE whose memory changed
// until software invalidates it (VT-d §6.5.2.7), so in those runs a global IEC
// invalidation follows, in both runs alike, whatever may have written RAM: a direct
// write, the invalidation queue (a wait descriptor's status write can land anywhere), and
// a posted interrupt (the unit writes the descriptor, which may overlap the table).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/trace.h"
#include "remap/vtd/unit.h"
#include "tests/fuzz/differential.h"
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

void play(OpStream& in, uint8_t knobs, uint8_t nfr, std::optional<bool> iec, Observed* observed);
}  // namespace

void run(OpStream& in) {
  const uint8_t knobs = in.u8(), nfr = in.u8();
  if (!(nfr & 8)) {
    play(in, knobs, nfr, std::nullopt, nullptr);
    return;
  }
  OpStream again = in;
  Observed on, off;
  play(in, knobs, nfr, true, &on);
  play(again, knobs, nfr, false, &off);
  compare("fuzz_vtd", on, off, kRam, kRamSize);
}

namespace {
// `iec` overrides the knob's IEC choice (the differential runs); everything else follows
// the knobs, so both runs have the same context cache and IOTLB and answer DMA alike.
void play(OpStream& in, uint8_t knobs, uint8_t nfr, std::optional<bool> iec, Observed* observed) {
  auto owned = std::make_unique<GuestMemory>();
  GuestMemory& mem = *owned;
  if (!mem.add_ram(kRam, kRamSize, "ram")) __builtin_trap();
  vtd::Config cfg;
  cfg.iec_entries = iec.value_or(knobs & 1) ? 64 : 0;
  cfg.smts = knobs & 2;
  cfg.eim = !(knobs & 4);
  cfg.esirtps = knobs & 8;
  cfg.posted = !(knobs & 16);
  cfg.aw_bits = (knobs & 32) ? 48 : 39;
  cfg.context_cache_entries = (knobs & 64) ? 16 : 0;
  cfg.iotlb_entries = (knobs & 128) ? 32 : 0;
  cfg.nfr = 1 + nfr % 8;
  Trace trace;
  Apics apics;
  vtd::Unit unit(mem, apics, trace, cfg);
  uint32_t gcmd = 0;  // the persistent bits the "driver" has set, as Linux keeps them
  // A register write. With ECAP.ESIRTPS=0 a SIRTP leaves the IEC as it was (§6.5.2.7) and
  // a driver follows it with a global IEC invalidation, as Linux does; the differential
  // runs do the same after any write that reaches GCMD (SIRTP; QIE, which starts the
  // queue), or IQT (which runs it).
  auto write = [&](uint64_t off, unsigned size, uint64_t value) {
    unit.mmio_write(off, size, value);
    if (observed != nullptr && (reaches(off, size, vtd::reg::GCMD, 4) || reaches(off, size, vtd::reg::IQT, 8)))
      unit.invalidate_all();
  };
  unsigned listings = 0;

  for (unsigned steps = 0; !in.done() && steps < 512; ++steps) {
    switch (in.below(12)) {
      case 0: {  // a register write of any size at any offset
        const uint64_t off = in.u16() % vtd::reg::kWindow;
        const unsigned size = in.size();
        write(off, size, truncate(in.u64(), size));
        break;
      }
      case 1: {  // a known register, written whole
        const uint64_t off = kRegs[in.below(std::size(kRegs))];
        write(off, off % 8 ? 4 : 8, in.u64());
        break;
      }
      case 2: {  // a known 64-bit register given a pointer into RAM plus low control bits
        const uint64_t off = kRegs[in.below(std::size(kRegs))] & ~7ull;
        const uint64_t pointer = kRam + (uint64_t(in.u16()) << 4) % kRamSize;
        write(off, 8, pointer + in.u8() % 16);
        break;
      }
      case 3: {  // GCMD: one command bit set or cleared on top of the persistent ones
        const uint32_t bit = kGcmd[in.below(std::size(kGcmd))];
        gcmd = in.flag() ? gcmd | bit : gcmd & ~bit;
        write(vtd::reg::GCMD, 4, gcmd | (in.flag() ? bit : 0));
        break;
      }
      case 4: {  // a table entry in RAM (IRTE, descriptor, root/context/PTE): two words
        const uint64_t at = kRam + (uint64_t(in.u16()) * 16) % kRamSize;
        (void)mem.write64(at, in.u64());
        (void)mem.write64(at + 8, in.u64());
        if (observed != nullptr) unit.invalidate_all();
        break;
      }
      case 5: {  // an entry that points at RAM (context entry, PTE, posted descriptor)
        const uint64_t at = kRam + (uint64_t(in.u16()) * 8) % kRamSize;
        const uint64_t page = kRam + (uint64_t(in.u16()) << 12) % kRamSize;
        (void)mem.write64(at, page | in.u16() % 0x1000);
        if (observed != nullptr) unit.invalidate_all();
        break;
      }
      case 6: {  // the queue tail moves by n descriptors
        write(vtd::reg::IQT, 8, uint64_t(in.u8()) << 4);
        break;
      }
      case 7: {  // a device MSI, remappable or compatibility format
        const uint64_t bits = uint64_t(in.u16()) << 4;  // format, handle[14:0]
        const uint64_t addr = 0xFEE0'0000 | bits | in.u8() % 16;  // SHV, handle[15]
        const uint32_t data = in.u32();
        Translation t = unit.translate(MsiWrite{addr, data, in.u16()});
        if (observed == nullptr) break;
        if (std::holds_alternative<PostedDelivery>(t)) unit.invalidate_all();
        observed->msis.push_back(std::move(t));
        break;
      }
      case 8: {  // a DMA request
        const uint16_t sid = in.u16();
        const uint64_t iova = in.flag() ? in.u64() : uint64_t(in.u32());
        const uint64_t size = 1 + in.u16() % 0x2000;
        const auto r = unit.translate_dma(sid, iova, size, in.flag());
        if (observed != nullptr)
          observed->values.insert(observed->values.end(), {r ? r->pa : r.error().reason, r ? r->length : ~uint64_t{0}});
        break;
      }
      case 9: {
        const uint64_t off = in.u16() % vtd::reg::kWindow;
        (void)unit.mmio_read(off, in.size());
        break;
      }
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
  if (observed == nullptr) return;
  // Every register as a driver reads it (fault records included), and what reached the
  // local APICs; the IEC's own statistics are the only thing allowed to differ.
  for (uint64_t off = 0; off + 8 <= vtd::reg::kWindow; off += 8) observed->values.push_back(unit.mmio_read(off, 8));
  observed->values.insert(observed->values.end(), {apics.delivered, unit.stats().translations, unit.stats().faults});
  observed->mem = std::move(owned);  // outlives the unit, which only held a reference
}
}  // namespace

}  // namespace irqremap::fuzz
