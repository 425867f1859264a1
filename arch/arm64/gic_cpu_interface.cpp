#include "arch/arm64/gic_cpu_interface.h"

#include <fmt/format.h>

#include <bit>

namespace irqremap::arm64 {

GicCpuInterface::GicCpuInterface(unsigned cpu, Redistributors& rds, Gicv3Distributor& gicd,
                                 Trace& trace)
    : cpu_(cpu), rds_(rds), gicd_(gicd), trace_(trace), unit_(fmt::format("cpu{}", cpu)) {}

bool GicCpuInterface::handles(uint32_t e) {
  // ICC_AP0R<n>_EL1 / ICC_AP1R<n>_EL1 for n = 1..3 exist only with 6 or 7 bits of
  // preemption (§12.2): with 5 they are UNDEFINED, which the CPU itself gives.
  for (unsigned n = 1; n < 4; ++n)
    if (e == icc::AP0R_EL1(n) || e == icc::AP1R_EL1(n)) return false;
  // ICC_PMR_EL1, and op0=3 op1=0 CRn=12 CRm=8..15 (every other ICC_*_EL1 register).
  return e == icc::PMR_EL1 || ((e >> 7) == (sysreg(3, 0, 12, 0, 0) >> 7) && ((e >> 3) & 0xF) >= 8);
}

uint8_t GicCpuInterface::running_priority() const {
  const uint64_t active = ap0r0_ | ap1r0_;
  if (active == 0) return 0xFF;
  return uint8_t(std::countr_zero(active) << (8 - icc::kPriorityBits));
}

std::string GicCpuInterface::name(uint32_t e) {
  switch (e) {
    case icc::PMR_EL1: return "ICC_PMR_EL1";
    case icc::AP0R0_EL1: return "ICC_AP0R0_EL1";
    case icc::AP1R0_EL1: return "ICC_AP1R0_EL1";
    case icc::IAR0_EL1: return "ICC_IAR0_EL1";
    case icc::EOIR0_EL1: return "ICC_EOIR0_EL1";
    case icc::HPPIR0_EL1: return "ICC_HPPIR0_EL1";
    case icc::BPR0_EL1: return "ICC_BPR0_EL1";
    case icc::DIR_EL1: return "ICC_DIR_EL1";
    case icc::RPR_EL1: return "ICC_RPR_EL1";
    case icc::SGI1R_EL1: return "ICC_SGI1R_EL1";
    case icc::IAR1_EL1: return "ICC_IAR1_EL1";
    case icc::EOIR1_EL1: return "ICC_EOIR1_EL1";
    case icc::HPPIR1_EL1: return "ICC_HPPIR1_EL1";
    case icc::BPR1_EL1: return "ICC_BPR1_EL1";
    case icc::CTLR_EL1: return "ICC_CTLR_EL1";
    case icc::SRE_EL1: return "ICC_SRE_EL1";
    case icc::IGRPEN0_EL1: return "ICC_IGRPEN0_EL1";
    case icc::IGRPEN1_EL1: return "ICC_IGRPEN1_EL1";
  }
  return fmt::format("S3_{}_C{}_C{}_{}", (e >> 11) & 7, (e >> 7) & 0xF, (e >> 3) & 0xF, e & 7);
}

std::optional<PendingIrq> GicCpuInterface::highest_pending() const {
  auto p = rds_.highest_pending(cpu_);
  // SPIs routed here compete on priority; a tie goes to the redistributor's interrupt
  // (the choice among equal priorities is IMPLEMENTATION DEFINED, §4.8).
  if (auto spi = gicd_.highest_spi(rds_[cpu_].affinity()); spi && (!p || spi->second < p->priority))
    p = PendingIrq{spi->first, spi->second};
  return p;
}

std::optional<PendingIrq> GicCpuInterface::signalled() const {
  if (!igrpen1_ || !gicd_.group1_enabled()) return std::nullopt;
  auto p = highest_pending();
  // Preemption compares group priorities: the five implemented bits (§4.8).
  if (!p || p->priority >= pmr_ || (p->priority & icc::kPriorityMask) >= running_priority()) return std::nullopt;
  return p;
}

std::optional<uint64_t> GicCpuInterface::read(uint32_t e) {
  switch (e) {
    case icc::PMR_EL1: return pmr_;
    case icc::AP0R0_EL1: return ap0r0_;
    case icc::AP1R0_EL1: return ap1r0_;
    case icc::BPR0_EL1: return bpr0_;
    case icc::BPR1_EL1: return bpr1_;
    case icc::IGRPEN0_EL1: return igrpen0_;
    case icc::IGRPEN1_EL1: return igrpen1_;
    // SRE=1 (system register interface, the only one modelled); DFB/DIB read as one.
    case icc::SRE_EL1: return 0x7;
    // CTLR_EL1: PRIbits=4 (bits 10:8 = 4: five priority bits, as QEMU), IDbits=0 (16
    // bits), EOImode as written (bit 1), CBPR (bit 0) as written.
    case icc::CTLR_EL1: return fields::set(ctlr_, icc::CTLR_PRIbits, 4);
    case icc::RPR_EL1: return running_priority();
    case icc::HPPIR0_EL1:
    case icc::IAR0_EL1: return icc::kSpurious;
    case icc::HPPIR1_EL1: {
      auto p = highest_pending();
      return p ? p->intid : icc::kSpurious;
    }
    case icc::IAR1_EL1: {
      auto s = signalled();
      if (!s) {
        trace_.emit_lazy([&] {
          return Event{EventKind::RegRead, unit_, "ICC_IAR1_EL1 -> 1023 (spurious: nothing signalled)",
                       {{"intid", icc::kSpurious}}};
        });
        return icc::kSpurious;
      }
      std::optional<PendingIrq> a;
      if (s->intid >= 32 && s->intid < its::lpi::kFirstLpi) {
        gicd_.acknowledge_spi(s->intid);
        a = s;
      } else {
        a = rds_.acknowledge(cpu_);  // traced by the redistributor
      }
      if (!a) return icc::kSpurious;
      ap1r0_ |= uint64_t{1} << (a->priority >> (8 - icc::kPriorityBits));  // active at its group priority
      ++acks_;
      if (on_ack_) on_ack_(a->intid);
      trace_.emit_lazy([&] {
        const char* kind = a->intid < 16 ? "SGI" : a->intid < 32 ? "PPI" : a->intid < its::lpi::kFirstLpi ? "SPI" : "LPI";
        return Event{EventKind::Delivery, unit_,
                     fmt::format("ICC_IAR1_EL1 -> {} {} acknowledged (priority {:#x})", kind, a->intid,
                                 a->priority),
                     {{"intid", a->intid}, {"cpu", cpu_}, {"ack", 1}}};
      });
      return a->intid;
    }
    default: return std::nullopt;  // EOIR*, DIR, SGI1R are write-only
  }
}

bool GicCpuInterface::write(uint32_t e, uint64_t v) {
  switch (e) {
    case icc::PMR_EL1: pmr_ = uint8_t(v & icc::kPriorityMask); return true;  // five priority bits
    case icc::AP0R0_EL1: ap0r0_ = v & icc::kAprMask; return true;
    case icc::AP1R0_EL1: ap1r0_ = v & icc::kAprMask; return true;
    case icc::BPR0_EL1: bpr0_ = uint8_t(v & 7); return true;
    case icc::BPR1_EL1: bpr1_ = uint8_t(v & 7); return true;
    case icc::IGRPEN0_EL1: igrpen0_ = (v & 1) != 0; return true;
    case icc::IGRPEN1_EL1: igrpen1_ = (v & 1) != 0; return true;
    case icc::SRE_EL1: return true;  // SRE is RAO/WI here
    case icc::CTLR_EL1:
      ctlr_ = v & (icc::CTLR_CBPR.word_mask() | icc::CTLR_EOImode.word_mask());
      return true;
    case icc::EOIR0_EL1: return true;  // no Group 0 interrupt is ever acknowledged here
    case icc::SGI1R_EL1: generate_sgi(v); return true;
    case icc::EOIR1_EL1: end_of_interrupt(uint32_t(v & 0xFF'FFFF)); return true;
    case icc::DIR_EL1: {
      // With EOImode=0 a write to ICC_DIR_EL1 is UNPREDICTABLE; this model ignores it.
      const uint32_t intid = uint32_t(v & 0xFF'FFFF);
      if (eoi_mode()) deactivate(intid);
      trace_.emit_lazy([&] {
        return Event{EventKind::Delivery, unit_,
                     fmt::format("ICC_DIR_EL1 <- {}{}", intid, eoi_mode() ? " (deactivate)" : " ignored: EOImode=0"),
                     {{"intid", intid}, {"cpu", cpu_}}};
      });
      return true;
    }
    default: return false;
  }
}

void GicCpuInterface::deactivate(uint32_t intid) {
  if (intid < 32) rds_.deactivate(cpu_, intid);
  else if (intid < 1020) gicd_.deactivate_spi(intid);
}

void GicCpuInterface::end_of_interrupt(uint32_t intid) {
  // Priority drop: the highest active Group 1 priority, the lowest set bit of
  // ICC_AP1R0_EL1, whatever the INTID (IHI0069 §4.8 expects EOIs in reverse order of
  // acknowledgement; out of order, the prioritization is UNPREDICTABLE).
  ap1r0_ &= ap1r0_ - 1;
  if (intid >= its::lpi::kFirstLpi) rds_.eoi(cpu_, intid);
  else if (!eoi_mode()) deactivate(intid);  // EOImode=0: priority drop and deactivation
  trace_.emit_lazy([&] {
    return Event{EventKind::Delivery, unit_,
                 fmt::format("ICC_EOIR1_EL1 <- {} (end of interrupt{})", intid,
                             intid < 1020 && eoi_mode() ? ", priority drop only: EOImode=1" : ""),
                 {{"intid", intid}, {"cpu", cpu_}, {"eoi", 1}}};
  });
}

void GicCpuInterface::generate_sgi(uint64_t v) {
  const uint32_t intid = uint32_t(fields::get(v, icc::SGI1R_INTID));
  const bool broadcast = fields::get(v, icc::SGI1R_IRM) != 0;
  // Targets named by affinity: Aff3.Aff2.Aff1 exact, Aff0 = RS * 16 + n for TargetList bit n.
  const uint64_t upper = (fields::get(v, icc::SGI1R_Aff3) << 32) | (fields::get(v, icc::SGI1R_Aff2) << 16) |
                         (fields::get(v, icc::SGI1R_Aff1) << 8);
  const uint64_t rs = fields::get(v, icc::SGI1R_RS);
  const uint64_t targets = fields::get(v, icc::SGI1R_TargetList);
  unsigned sent = 0;
  for (uint32_t n = 0; n < rds_.redistributor_count(); ++n) {
    bool hit;
    if (broadcast) {
      hit = n != cpu_;
    } else {
      const uint64_t aff = rds_[n].affinity();
      const uint64_t aff0 = aff & 0xFF;
      hit = (aff & 0xFF'00FF'FF00ull) == upper && aff0 / 16 == rs && ((targets >> (aff0 % 16)) & 1) != 0;
    }
    if (hit && rds_[n].send_sgi(intid)) ++sent;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, unit_,
                 broadcast ? fmt::format("ICC_SGI1R_EL1 <- {:#x}: SGI {} to every other PE ({} set pending)", v,
                                         intid, sent)
                           : fmt::format("ICC_SGI1R_EL1 <- {:#x}: SGI {} to Aff3.2.1 {}.{}.{} RS {} TargetList {:#06x} "
                                         "({} set pending)",
                                         v, intid, (upper >> 32) & 0xFF, (upper >> 16) & 0xFF, (upper >> 8) & 0xFF,
                                         rs, targets, sent),
                 {{"intid", intid}, {"cpu", cpu_}, {"targets", sent}}};
  });
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void GicCpuInterface::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "icc");
  io.field("ICC_PMR_EL1", pmr_);
  io.field("ICC_BPR0_EL1", bpr0_);
  io.field("ICC_BPR1_EL1", bpr1_);
  io.check(bpr0_ <= 7 && bpr1_ <= 7, "a binary point is 0..7");
  io.field("ICC_IGRPEN0_EL1", igrpen0_);
  io.field("ICC_IGRPEN1_EL1", igrpen1_);
  io.field("ICC_CTLR_EL1", ctlr_);
  // The active priorities: the running priority (ICC_RPR_EL1) is computed from them.
  io.field("ICC_AP0R0_EL1", ap0r0_);
  io.field("ICC_AP1R0_EL1", ap1r0_);
  io.field("acknowledged", acks_);
}

}  // namespace irqremap::arm64
