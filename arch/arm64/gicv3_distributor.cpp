#include "arch/arm64/gicv3_distributor.h"

#include <fmt/format.h>

#include <algorithm>

namespace irqremap::arm64 {

using namespace gicd;

Gicv3Distributor::Gicv3Distributor(unsigned cpus, unsigned intids, unsigned idbits)
    : cpus_(cpus), intids_(std::clamp(intids / 32 * 32, 64u, 1024u)), idbits_(idbits) {
  ctlr_ = uint32_t(fields::set(0, CTLR_DS, 1));
}

uint32_t Gicv3Distributor::bitmap_reg(const std::array<uint32_t, 32>& m, uint64_t off,
                                      uint64_t base) const {
  const uint64_t idx = (off - base) / 4;
  // Word 0 covers SGIs/PPIs, which live in the redistributors once ARE=1 (RAZ/WI here);
  // words past the implemented SPIs are RAZ/WI too.
  return spi(idx * 32) ? m[idx] : 0;
}

void Gicv3Distributor::note(EventKind kind, uint64_t offset, unsigned size, uint64_t value) const {
  trace_.emit_lazy([&] {
    return Event{kind, "gicd",
                 fmt::format("{} GICD+{:#06x} size {} = {:#x}",
                             kind == EventKind::RegWrite ? "write" : "read", offset, size, value),
                 {{"offset", offset}, {"value", value}}};
  });
}

uint64_t Gicv3Distributor::mmio_read(uint64_t offset, unsigned size) {
  uint64_t v = 0;
  const uint64_t reg4 = offset & ~uint64_t{3};
  if (offset == CTLR) {
    v = ctlr_;
  } else if (offset == TYPER) {
    // ITLinesNumber = N: INTIDs up to 32 * (N + 1) - 1 (§12.9.38).
    uint64_t t = fields::set(0, TYPER_ITLinesNumber, intids_ / 32 - 1);
    t = fields::set(t, TYPER_CPUNumber, (cpus_ > 8 ? 8 : cpus_) - 1);
    t = fields::set(t, TYPER_LPIS, 1);
    t = fields::set(t, TYPER_IDbits, idbits_ - 1);
    v = t;
  } else if (offset == IIDR) {
    v = 0x0100'143B;  // ProductID 1, implementer 0x43B (Arm), as a GIC-600-like part
  } else if (offset == TYPER2 || offset == STATUSR) {
    v = 0;
  } else if (reg4 >= IGROUPR && reg4 < IGROUPR + 0x80) {
    v = bitmap_reg(group_, reg4, IGROUPR);
  } else if (reg4 >= ISENABLER && reg4 < ICENABLER + 0x80) {
    v = bitmap_reg(enabled_, reg4, reg4 < ICENABLER ? ISENABLER : ICENABLER);
  } else if (reg4 >= ISPENDR && reg4 < ICPENDR + 0x80) {
    const uint64_t idx = (reg4 - (reg4 < ICPENDR ? ISPENDR : ICPENDR)) / 4;
    v = spi(idx * 32) ? pending_word(unsigned(idx)) : 0;
  } else if (reg4 >= ISACTIVER && reg4 < ICACTIVER + 0x80) {
    v = bitmap_reg(active_, reg4, reg4 < ICACTIVER ? ISACTIVER : ICACTIVER);
  } else if (offset >= IPRIORITYR + 32 && offset + size <= IPRIORITYR + 1024) {
    for (unsigned i = 0; i < size; ++i)
      if (spi(offset - IPRIORITYR + i)) v |= uint64_t(priority_[offset - IPRIORITYR + i]) << (8 * i);
  } else if (reg4 >= ICFGR + 8 && reg4 < ICFGR + 0x100) {
    if (spi((reg4 - ICFGR) / 4 * 16)) v = cfg_[(reg4 - ICFGR) / 4];
  } else if (reg4 >= IGRPMODR && reg4 < IGRPMODR + 0x80) {
    v = bitmap_reg(grpmod_, reg4, IGRPMODR);
  } else if (offset >= IROUTER + 8 * 32 && offset < IROUTER + 8 * 1020) {
    if (spi((offset - IROUTER) / 8)) v = extract_read(router_[(offset - IROUTER) / 8], unsigned(offset % 8), size);
  } else if (offset == PIDR2) {
    v = 0x3B;  // ArchRev [7:4] = 3: GICv3
  }
  if (size < 8 && offset < IPRIORITYR) v &= bits::mask(8 * size - 1, 0);
  note(EventKind::RegRead, offset, size, v);
  return v;
}

void Gicv3Distributor::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  note(EventKind::RegWrite, offset, size, value);
  const uint64_t reg4 = offset & ~uint64_t{3};
  const uint32_t v32 = uint32_t(value);
  auto set_bits = [&](std::array<uint32_t, 32>& m, uint64_t base, bool set) {
    const uint64_t idx = (reg4 - base) / 4;
    if (!spi(idx * 32)) return;
    m[idx] = set ? (m[idx] | v32) : (m[idx] & ~v32);
  };
  if (offset == CTLR) {
    // DS is RAO/WI; RWP is read-only and always zero (writes take effect at once).
    uint64_t c = v32 & (CTLR_EnableGrp0.word_mask() | CTLR_EnableGrp1.word_mask() |
                        CTLR_ARE.word_mask() | CTLR_E1NWF.word_mask());
    ctlr_ = uint32_t(fields::set(c, CTLR_DS, 1));
  } else if (reg4 >= IGROUPR && reg4 < IGROUPR + 0x80) {
    const uint64_t idx = (reg4 - IGROUPR) / 4;
    if (spi(idx * 32)) group_[idx] = v32;
  } else if (reg4 >= ISENABLER && reg4 < ISENABLER + 0x80) {
    set_bits(enabled_, ISENABLER, true);
  } else if (reg4 >= ICENABLER && reg4 < ICENABLER + 0x80) {
    set_bits(enabled_, ICENABLER, false);
  } else if (reg4 >= ISPENDR && reg4 < ISPENDR + 0x80) {
    set_bits(pending_, ISPENDR, true);
  } else if (reg4 >= ICPENDR && reg4 < ICPENDR + 0x80) {
    set_bits(pending_, ICPENDR, false);
  } else if (reg4 >= ISACTIVER && reg4 < ISACTIVER + 0x80) {
    set_bits(active_, ISACTIVER, true);
  } else if (reg4 >= ICACTIVER && reg4 < ICACTIVER + 0x80) {
    set_bits(active_, ICACTIVER, false);
  } else if (offset >= IPRIORITYR + 32 && offset + size <= IPRIORITYR + 1024) {
    for (unsigned i = 0; i < size; ++i)
      if (spi(offset - IPRIORITYR + i)) priority_[offset - IPRIORITYR + i] = uint8_t(value >> (8 * i));
  } else if (reg4 >= ICFGR + 8 && reg4 < ICFGR + 0x100) {
    if (spi((reg4 - ICFGR) / 4 * 16)) cfg_[(reg4 - ICFGR) / 4] = v32;
  } else if (reg4 >= IGRPMODR && reg4 < IGRPMODR + 0x80) {
    const uint64_t idx = (reg4 - IGRPMODR) / 4;
    if (spi(idx * 32)) grpmod_[idx] = v32;
  } else if (offset >= IROUTER + 8 * 32 && offset < IROUTER + 8 * 1020) {
    if (spi((offset - IROUTER) / 8)) {
      uint64_t& r = router_[(offset - IROUTER) / 8];
      r = merge_write(r, unsigned(offset % 8), size, value);
    }
  } else {
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, "gicd",
                   fmt::format("write to GICD+{:#06x} ignored (RAZ/WI)", offset),
                   {{"offset", offset}}};
    });
    return;
  }
  // Enables, pending and active state, priorities, groups, routing: what a CPU interface
  // is offered may have changed.
  changed();
}

uint32_t Gicv3Distributor::pending_word(unsigned w) const {
  uint32_t level_sensitive = 0;
  for (unsigned i = 0; i < 32; ++i)
    if (!edge(w * 32 + i)) level_sensitive |= 1u << i;
  return pending_[w] | (level_[w] & level_sensitive);
}

bool Gicv3Distributor::spi_pending(uint32_t intid) const {
  return spi(intid) && ((pending_word(intid / 32) >> (intid % 32)) & 1);
}

void Gicv3Distributor::set_spi_level(uint32_t intid, bool level) {
  if (!spi(intid)) return;
  uint32_t& line = level_[intid / 32];
  const uint32_t m = 1u << (intid % 32);
  const bool was = (line & m) != 0;
  if (was == level) return;
  line = level ? (line | m) : (line & ~m);
  if (level && edge(intid)) pending_[intid / 32] |= m;  // a rising edge latches
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, "gicd",
                 fmt::format("SPI {} input {} ({})", intid, level ? "asserted" : "deasserted",
                             edge(intid) ? "edge-triggered" : "level-sensitive"),
                 {{"intid", intid}, {"level", level ? 1u : 0u}}};
  });
  changed();
}

std::optional<std::pair<uint32_t, uint8_t>> Gicv3Distributor::highest_spi(uint64_t affinity) const {
  if (!group1_enabled() || !affinity_routing()) return std::nullopt;
  std::optional<std::pair<uint32_t, uint8_t>> best;
  for (unsigned w = 1; w < intids_ / 32; ++w) {
    if ((pending_[w] | level_[w]) == 0) continue;  // nothing latched, no line high: the usual case
    uint32_t cand = pending_word(w) & enabled_[w] & ~active_[w] & group_[w];
    for (; cand != 0; cand &= cand - 1) {
      const uint32_t intid = w * 32 + unsigned(__builtin_ctz(cand));
      const uint64_t r = router_[intid];
      const bool one_of_n = (r >> 31) & 1;  // GICD_IROUTER<n>.Interrupt_Routing_Mode
      // Aff3 (bits 39:32) and Aff2.Aff1.Aff0 (bits 23:0), as MPIDR_EL1 holds them.
      if (!one_of_n && (r & 0xFF'00FF'FFFFull) != (affinity & 0xFF'00FF'FFFFull)) continue;
      const uint8_t prio = priority_[intid];
      if (!best || prio < best->second) best = std::pair{intid, prio};
    }
  }
  return best;
}

void Gicv3Distributor::acknowledge_spi(uint32_t intid) {
  if (!spi(intid)) return;
  const uint32_t m = 1u << (intid % 32);
  active_[intid / 32] |= m;
  pending_[intid / 32] &= ~m;  // a level-sensitive SPI stays pending while its line is high
  changed();
}

void Gicv3Distributor::deactivate_spi(uint32_t intid) {
  if (!spi(intid)) return;
  active_[intid / 32] &= ~(1u << (intid % 32));
  changed();
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void Gicv3Distributor::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "gicd");
  io.field("GICD_CTLR", ctlr_);
  io.bytes("GICD_IGROUPR", std::as_writable_bytes(std::span(group_)));
  io.bytes("GICD_ISENABLER", std::as_writable_bytes(std::span(enabled_)));
  io.bytes("GICD_ISPENDR", std::as_writable_bytes(std::span(pending_)));  // the pending latches
  io.bytes("GICD_ISACTIVER", std::as_writable_bytes(std::span(active_)));
  io.bytes("GICD_IGRPMODR", std::as_writable_bytes(std::span(grpmod_)));
  io.bytes("spi_lines", std::as_writable_bytes(std::span(level_)));  // the SPI inputs
  io.bytes("GICD_IPRIORITYR", std::span(priority_));
  io.bytes("GICD_ICFGR", std::as_writable_bytes(std::span(cfg_)));
  io.bytes("GICD_IROUTER", std::as_writable_bytes(std::span(router_)));
}

}  // namespace irqremap::arm64
