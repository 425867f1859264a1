#include "arch/arm64/pmu.h"

#include <fmt/format.h>

#include <algorithm>

namespace irqremap::arm64 {

namespace {

struct Enc {
  unsigned op0, op1, crn, crm, op2;
};
constexpr Enc decode(uint32_t enc) {
  return Enc{(enc >> 14) & 3, (enc >> 11) & 7, (enc >> 7) & 0xF, (enc >> 3) & 0xF, enc & 7};
}
// PMEVCNTR<n>_EL0 (0..30) for `enc`, if it is one.
std::optional<unsigned> evcntr_index(uint32_t enc) {
  const Enc e = decode(enc);
  if (e.op0 != 3 || e.op1 != 3 || e.crn != 14 || e.crm < 8 || e.crm > 11) return std::nullopt;
  return ((e.crm - 8) << 3) | e.op2;
}
// PMEVTYPER<n>_EL0 (0..30; 31 is PMCCFILTR_EL0) for `enc`, if it is one.
std::optional<unsigned> evtyper_index(uint32_t enc) {
  const Enc e = decode(enc);
  if (e.op0 != 3 || e.op1 != 3 || e.crn != 14 || e.crm < 12) return std::nullopt;
  return ((e.crm - 12) << 3) | e.op2;
}

constexpr uint64_t k32 = uint64_t{1} << 32;

}  // namespace

bool Pmu::is_pmu_register(uint32_t enc) {
  const Enc e = decode(enc);
  if (e.op0 != 3) return false;
  if (e.crn == 9) return (e.op1 == 3 && e.crm >= 12 && e.crm <= 14) || (e.op1 == 0 && e.crm == 14);
  return e.crn == 14 && e.op1 == 3 && e.crm >= 8;  // CRm 0-3 there are the generic timer's
}

std::string Pmu::name(uint32_t enc) {
  using namespace pmu;
  switch (enc) {
    case PMCR_EL0: return "PMCR_EL0";
    case PMCNTENSET_EL0: return "PMCNTENSET_EL0";
    case PMCNTENCLR_EL0: return "PMCNTENCLR_EL0";
    case PMOVSCLR_EL0: return "PMOVSCLR_EL0";
    case PMSWINC_EL0: return "PMSWINC_EL0";
    case PMSELR_EL0: return "PMSELR_EL0";
    case PMCEID0_EL0: return "PMCEID0_EL0";
    case PMCEID1_EL0: return "PMCEID1_EL0";
    case PMCCNTR_EL0: return "PMCCNTR_EL0";
    case PMXEVTYPER_EL0: return "PMXEVTYPER_EL0";
    case PMXEVCNTR_EL0: return "PMXEVCNTR_EL0";
    case PMUSERENR_EL0: return "PMUSERENR_EL0";
    case PMOVSSET_EL0: return "PMOVSSET_EL0";
    case PMINTENSET_EL1: return "PMINTENSET_EL1";
    case PMINTENCLR_EL1: return "PMINTENCLR_EL1";
    case PMCCFILTR_EL0: return "PMCCFILTR_EL0";
    default: break;
  }
  if (auto n = evcntr_index(enc)) return fmt::format("PMEVCNTR{}_EL0", *n);
  if (auto n = evtyper_index(enc)) return fmt::format("PMEVTYPER{}_EL0", *n);
  const Enc e = decode(enc);
  return fmt::format("S{}_{}_C{}_C{}_{}", e.op0, e.op1, e.crn, e.crm, e.op2);
}

Pmu::Check Pmu::check(uint32_t enc, bool is_read, unsigned el) const {
  using namespace pmu;
  const bool known = (enc >= PMCR_EL0 && enc <= PMCEID1_EL0) || enc == PMCCNTR_EL0 || enc == PMXEVTYPER_EL0 ||
                     enc == PMXEVCNTR_EL0 || enc == PMUSERENR_EL0 || enc == PMOVSSET_EL0 ||
                     enc == PMINTENSET_EL1 || enc == PMINTENCLR_EL1 || evcntr_index(enc) || evtyper_index(enc);
  if (!known) return Check::Undefined;  // PMMIR_EL1 (FEAT_PMUv3p4) and unallocated encodings
  // Read-only and write-only registers (an MSR to PMCEID*, an MRS of PMSWINC_EL0) are
  // UNDEFINED at every EL.
  if (!is_read && (enc == PMCEID0_EL0 || enc == PMCEID1_EL0)) return Check::Undefined;
  if (is_read && enc == PMSWINC_EL0) return Check::Undefined;
  if (el != 0) return Check::Ok;
  if (enc == PMINTENSET_EL1 || enc == PMINTENCLR_EL1) return Check::Undefined;  // EL1 registers
  if (enc == PMUSERENR_EL0) return is_read ? Check::Ok : Check::Undefined;
  uint64_t allow = kUserEn;
  if (enc == PMSWINC_EL0) allow |= kUserSw;
  else if (enc == PMCCNTR_EL0 && is_read) allow |= kUserCr;
  else if (enc == PMSELR_EL0 || ((enc == PMXEVCNTR_EL0 || evcntr_index(enc)) && is_read)) allow |= kUserEr;
  return (userenr_ & allow) != 0 ? Check::Ok : Check::TrapToEl1;
}

bool Pmu::counts(unsigned index, unsigned el) const {
  if (!fields::get(pmcr_, pmu::PMCR_E) || ((cntens_ >> index) & 1) == 0) return false;
  const uint64_t f = filter(index);
  // Non-secure state without EL3, as QEMU evaluates it: a level is filtered out when its
  // exclude bit differs from its Non-secure counterpart.
  if (el == 0) return ((f & pmu::kFilterU) != 0) == ((f & pmu::kFilterNsu) != 0);
  return ((f & pmu::kFilterP) != 0) == ((f & pmu::kFilterNsk) != 0);
}

void Pmu::add_event(unsigned i, uint64_t n) {
  const uint64_t sum = (evcnt_[i] & 0xFFFF'FFFF) + n;
  if (sum >= k32) ovs_ |= uint64_t{1} << i;
  evcnt_[i] = sum & 0xFFFF'FFFF;
}

void Pmu::add_cycles(uint64_t n) {
  if (fields::get(pmcr_, pmu::PMCR_D)) {
    ccnt_div_ += n;
    n = ccnt_div_ / 64;
    ccnt_div_ %= 64;
  }
  if (n == 0) return;
  const uint64_t old = ccnt_;
  ccnt_ += n;
  const bool overflow = fields::get(pmcr_, pmu::PMCR_LC) ? ccnt_ < old : (old & 0xFFFF'FFFF) + n >= k32;
  if (overflow) ovs_ |= uint64_t{1} << pmu::kCycleIndex;
}

void Pmu::sync(uint64_t now, unsigned el) {
  const uint64_t n = now > last_now_ ? now - last_now_ : 0;
  last_now_ = now;
  if (n != 0 && fields::get(pmcr_, pmu::PMCR_E)) {
    if (counts(pmu::kCycleIndex, el_)) add_cycles(n);
    for (unsigned i = 0; i < pmu::kCounters; ++i) {
      const uint64_t event = evtyper_[i] & 0xFFFF;
      if ((event == pmu::kInstRetired || event == pmu::kCpuCycles) && counts(i, el_)) add_event(i, n);
    }
  }
  el_ = el;
  drive();
}

bool Pmu::irq() const { return fields::get(pmcr_, pmu::PMCR_E) && (intens_ & ovs_) != 0; }

void Pmu::drive() {
  const bool level = irq();
  if (level == level_) return;
  level_ = level;
  if (line_) line_(level);
}

std::optional<uint64_t> Pmu::insns_to_overflow() const {
  std::optional<uint64_t> best;
  auto consider = [&](uint64_t n) { best = best ? std::min(*best, n) : n; };
  if (counts(pmu::kCycleIndex, el_) && ((intens_ >> pmu::kCycleIndex) & 1)) {
    const uint64_t left = fields::get(pmcr_, pmu::PMCR_LC) ? ~ccnt_ + 1 : k32 - (ccnt_ & 0xFFFF'FFFF);
    if (left != 0) {  // 0: 2^64 cycles away
      const bool d = fields::get(pmcr_, pmu::PMCR_D) != 0;
      consider(d ? (left > UINT64_MAX / 64 ? UINT64_MAX : left * 64 - ccnt_div_) : left);
    }
  }
  for (unsigned i = 0; i < pmu::kCounters; ++i) {
    const uint64_t event = evtyper_[i] & 0xFFFF;
    if ((event == pmu::kInstRetired || event == pmu::kCpuCycles) && ((intens_ >> i) & 1) && counts(i, el_))
      consider(k32 - evcnt_[i]);
  }
  return best;
}

uint64_t Pmu::read(uint32_t enc, uint64_t now, unsigned el) {
  using namespace pmu;
  sync(now, el);
  switch (enc) {
    case PMCR_EL0: return kPmcrReadOnly | pmcr_;
    case PMCNTENSET_EL0:
    case PMCNTENCLR_EL0: return cntens_;
    case PMOVSCLR_EL0:
    case PMOVSSET_EL0: return ovs_;
    case PMINTENSET_EL1:
    case PMINTENCLR_EL1: return intens_;
    case PMSELR_EL0: return selr_;
    case PMCEID0_EL0: return kPmceid0;
    case PMCEID1_EL0: return 0;
    case PMCCNTR_EL0: return ccnt_;
    case PMUSERENR_EL0: return userenr_;
    case PMCCFILTR_EL0: return ccfiltr_;
    case PMXEVTYPER_EL0: return selr_ == kCycleIndex ? ccfiltr_ : (selr_ < kCounters ? evtyper_[selr_] : 0);
    case PMXEVCNTR_EL0: return selr_ < kCounters ? evcnt_[selr_] : 0;
    default: break;
  }
  if (auto n = evcntr_index(enc)) return *n < kCounters ? evcnt_[*n] : 0;
  if (auto n = evtyper_index(enc)) return *n < kCounters ? evtyper_[*n] : 0;
  return 0;
}

void Pmu::write(uint32_t enc, uint64_t v, uint64_t now, unsigned el) {
  using namespace pmu;
  sync(now, el);  // what ran before this write counted under the old settings
  auto set_typer = [&](unsigned n, uint64_t value) {
    if (n == kCycleIndex) ccfiltr_ = value & kCcfiltrMask;
    else if (n < kCounters) evtyper_[n] = value & kEvtyperMask;
  };
  switch (enc) {
    case PMCR_EL0:
      if (fields::get(v, PMCR_C)) {
        ccnt_ = 0;
        ccnt_div_ = 0;
      }
      if (fields::get(v, PMCR_P)) evcnt_.fill(0);
      pmcr_ = v & kPmcrWritable;
      break;
    case PMCNTENSET_EL0: cntens_ |= v & kCounterMask; break;
    case PMCNTENCLR_EL0: cntens_ &= ~v; break;
    case PMOVSSET_EL0: ovs_ |= v & kCounterMask; break;
    case PMOVSCLR_EL0: ovs_ &= ~v; break;
    case PMINTENSET_EL1: intens_ |= v & kCounterMask; break;
    case PMINTENCLR_EL1: intens_ &= ~v; break;
    case PMSELR_EL0: selr_ = v & 0x1F; break;
    case PMCCNTR_EL0: ccnt_ = v; break;
    case PMUSERENR_EL0: userenr_ = v & 0xF; break;
    case PMCCFILTR_EL0: ccfiltr_ = v & kCcfiltrMask; break;
    case PMXEVTYPER_EL0: set_typer(unsigned(selr_), v); break;
    case PMXEVCNTR_EL0:
      if (selr_ < kCounters) evcnt_[selr_] = v & 0xFFFF'FFFF;
      break;
    case PMSWINC_EL0:
      // SW_INCR counts one for each bit written as 1 whose counter is enabled, counts at
      // this EL and has event 0x00 (Arm ARM D11.11, SW_INCR).
      for (unsigned i = 0; i < kCounters; ++i)
        if (((v >> i) & 1) && (evtyper_[i] & 0xFFFF) == kSwIncr && counts(i, el_)) add_event(i, 1);
      break;
    default:
      if (auto n = evcntr_index(enc); n && *n < kCounters) evcnt_[*n] = v & 0xFFFF'FFFF;
      else if (auto t = evtyper_index(enc)) set_typer(*t, v);
      break;
  }
  drive();
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void Pmu::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pmu");
  io.field("PMCR_EL0", pmcr_);
  io.field("PMCNTENSET_EL0", cntens_);
  io.field("PMINTENSET_EL1", intens_);
  io.field("PMOVSSET_EL0", ovs_);
  io.field("PMSELR_EL0", selr_);
  io.field("PMUSERENR_EL0", userenr_);
  io.field("PMCCFILTR_EL0", ccfiltr_);
  io.field("PMCCNTR_EL0", ccnt_);
  io.field("cycle_divider", ccnt_div_);  // cycles toward the next count with PMCR_EL0.D = 1
  for (unsigned i = 0; i < pmu::kCounters; ++i) {
    io.field(fmt::format("PMEVCNTR{}_EL0", i), evcnt_[i]);
    io.field(fmt::format("PMEVTYPER{}_EL0", i), evtyper_[i]);
  }
  // Where counting got to: the CPU's retired instructions and the EL they ran at.
  io.field("synced_instructions", last_now_);
  uint8_t el = uint8_t(el_);
  io.field("synced_el", el);
  io.check(el <= 1, "the PMU counts at EL0 or EL1 only");
  el_ = el;
  io.field("interrupt_level", level_);  // the PPI 23 line (the redistributor keeps its input)
}

}  // namespace irqremap::arm64
