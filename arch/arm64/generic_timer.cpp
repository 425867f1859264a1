#include "arch/arm64/generic_timer.h"

#include <fmt/format.h>

namespace irqremap::arm64 {

namespace {
constexpr uint32_t kPpi[2] = {cnt::kVirtualPpi, cnt::kPhysicalPpi};
constexpr const char* kName[2] = {"CNTV", "CNTP"};
}  // namespace

GenericTimer::GenericTimer(unsigned cpu, const arch::VirtualTime& time, IrqLine line, Trace& trace)
    : cpu_(cpu), time_(time), line_(std::move(line)), trace_(trace), unit_(fmt::format("timer{}", cpu)) {}

bool GenericTimer::handles(uint32_t e) {
  switch (e) {
    case cnt::FRQ_EL0:
    case cnt::PCT_EL0:
    case cnt::VCT_EL0:
    case cnt::P_TVAL_EL0:
    case cnt::P_CTL_EL0:
    case cnt::P_CVAL_EL0:
    case cnt::V_TVAL_EL0:
    case cnt::V_CTL_EL0:
    case cnt::V_CVAL_EL0: return true;
  }
  return false;
}

std::string GenericTimer::name(uint32_t e) {
  switch (e) {
    case cnt::FRQ_EL0: return "CNTFRQ_EL0";
    case cnt::PCT_EL0: return "CNTPCT_EL0";
    case cnt::VCT_EL0: return "CNTVCT_EL0";
    case cnt::P_TVAL_EL0: return "CNTP_TVAL_EL0";
    case cnt::P_CTL_EL0: return "CNTP_CTL_EL0";
    case cnt::P_CVAL_EL0: return "CNTP_CVAL_EL0";
    case cnt::V_TVAL_EL0: return "CNTV_TVAL_EL0";
    case cnt::V_CTL_EL0: return "CNTV_CTL_EL0";
    case cnt::V_CVAL_EL0: return "CNTV_CVAL_EL0";
  }
  return fmt::format("S3_{}_C{}_C{}_{}", (e >> 11) & 7, (e >> 7) & 0xF, (e >> 3) & 0xF, e & 7);
}

bool GenericTimer::condition(const Timer& t) const {
  // D11.2.4: the timer condition is met when the counter has reached CVAL; ISTATUS shows
  // it only while the timer is enabled.
  return fields::get(t.ctl, cnt::CTL_ENABLE) != 0 && count() >= t.cval;
}

uint64_t GenericTimer::ctl_value(const Timer& t) const {
  return fields::set(t.ctl, cnt::CTL_ISTATUS, condition(t) ? 1 : 0);
}

bool GenericTimer::output(Kind k) const {
  const Timer& t = timers_[unsigned(k)];
  return condition(t) && fields::get(t.ctl, cnt::CTL_IMASK) == 0;
}

void GenericTimer::drive(Kind k) {
  Timer& t = timers_[unsigned(k)];
  const bool level = output(k);
  if (level == t.line) return;
  t.line = level;
  trace_.emit_lazy([&] {
    return Event{EventKind::Device, unit_,
                 fmt::format("{} timer {} PPI {} (count {:#x}, CVAL {:#x})", kName[unsigned(k)],
                             level ? "asserts" : "deasserts", kPpi[unsigned(k)], count(), t.cval),
                 {{"cpu", cpu_}, {"intid", kPpi[unsigned(k)]}, {"level", uint64_t(level)}}};
  });
  if (line_) line_(kPpi[unsigned(k)], level);
}

void GenericTimer::update() {
  drive(Kind::Virtual);
  drive(Kind::Physical);
}

std::optional<uint64_t> GenericTimer::next_deadline() const {
  std::optional<uint64_t> best;
  const uint64_t now = count();
  for (const Timer& t : timers_) {
    if (fields::get(t.ctl, cnt::CTL_ENABLE) == 0 || fields::get(t.ctl, cnt::CTL_IMASK) != 0) continue;
    if (t.cval <= now) continue;  // already met: its line is up, nothing to wait for
    if (!best || t.cval < *best) best = t.cval;
  }
  return best;
}

std::optional<uint64_t> GenericTimer::read(uint32_t e) {
  const Timer& v = timers_[unsigned(Kind::Virtual)];
  const Timer& p = timers_[unsigned(Kind::Physical)];
  switch (e) {
    case cnt::FRQ_EL0: return frq_;
    case cnt::PCT_EL0:
    case cnt::VCT_EL0: return count();
    case cnt::V_CTL_EL0: return ctl_value(v);
    case cnt::P_CTL_EL0: return ctl_value(p);
    case cnt::V_CVAL_EL0: return v.cval;
    case cnt::P_CVAL_EL0: return p.cval;
    // TVAL: the low 32 bits of CVAL - count, a signed distance to the deadline.
    case cnt::V_TVAL_EL0: return uint32_t(v.cval - count());
    case cnt::P_TVAL_EL0: return uint32_t(p.cval - count());
  }
  return std::nullopt;
}

bool GenericTimer::write(uint32_t e, uint64_t value) {
  const auto tval = [&](uint64_t x) {
    return count() + uint64_t(int64_t(int32_t(uint32_t(x))));  // SignExtend(TVAL[31:0])
  };
  const uint64_t ctl_mask = cnt::CTL_ENABLE.word_mask() | cnt::CTL_IMASK.word_mask();
  Timer& v = timers_[unsigned(Kind::Virtual)];
  Timer& p = timers_[unsigned(Kind::Physical)];
  switch (e) {
    case cnt::FRQ_EL0: frq_ = uint32_t(value); break;  // CNTFRQ_EL0 is 32 bits wide
    case cnt::PCT_EL0:
    case cnt::VCT_EL0: return false;
    case cnt::V_CTL_EL0: v.ctl = value & ctl_mask; break;
    case cnt::P_CTL_EL0: p.ctl = value & ctl_mask; break;
    case cnt::V_CVAL_EL0: v.cval = value; break;
    case cnt::P_CVAL_EL0: p.cval = value; break;
    case cnt::V_TVAL_EL0: v.cval = tval(value); break;
    case cnt::P_TVAL_EL0: p.cval = tval(value); break;
    default: return false;
  }
  update();
  return true;
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void GenericTimer::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "timer");
  io.field("CNTFRQ_EL0", frq_);
  static constexpr const char* kNames[2][3] = {{"CNTV_CTL_EL0", "CNTV_CVAL_EL0", "CNTV_line"},
                                               {"CNTP_CTL_EL0", "CNTP_CVAL_EL0", "CNTP_line"}};
  for (unsigned k = 0; k < 2; ++k) {
    io.field(kNames[k][0], timers_[k].ctl);
    io.field(kNames[k][1], timers_[k].cval);
    io.field(kNames[k][2], timers_[k].line);  // the level last driven (the PPI input is the GICR's)
  }
}

}  // namespace irqremap::arm64
