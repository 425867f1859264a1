#include "arch/x86/apic_timer.h"

namespace irqremap::x86 {

unsigned ApicTimer::divisor(uint32_t tdcr) {
  // Bits 3, 1:0 (§11.5.4, Figure 11-10): 000 = 2, 001 = 4, ..., 110 = 128, 111 = 1.
  const unsigned v = ((tdcr >> 1) & 4) | (tdcr & 3);
  return v == 7 ? 1 : 2u << v;
}

void ApicTimer::set_mode(ApicTimerMode m, uint64_t now) {
  if (m == mode_) return;
  if (m == ApicTimerMode::TscDeadline || mode_ == ApicTimerMode::TscDeadline) {
    counting_ = false;
    deadline_tsc_ = deadline_clock_ = 0;
  } else if (m == ApicTimerMode::OneShot && counting_ && initial_ != 0) {
    // The period under way becomes the one-shot count.
    const uint64_t done = (now - start_) / period();
    start_ += done * period();
  }
  periods_ = 0;
  mode_ = m;
}

void ApicTimer::write_initial_count(uint32_t count, uint64_t now) {
  if (mode_ == ApicTimerMode::TscDeadline) return;  // ignored in TSC-deadline mode
  initial_ = count;
  start_ = now;
  periods_ = 0;
  counting_ = count != 0;
}

uint32_t ApicTimer::current_count(uint64_t now) const {
  if (mode_ == ApicTimerMode::TscDeadline || !counting_ || initial_ == 0) return 0;
  const uint64_t ticks = (now - start_) / divisor(tdcr_);
  if (mode_ == ApicTimerMode::Periodic) return uint32_t(initial_ - ticks % initial_);
  return ticks >= initial_ ? 0 : uint32_t(initial_ - ticks);
}

void ApicTimer::write_deadline(uint64_t tsc, uint64_t clock) {
  if (mode_ != ApicTimerMode::TscDeadline) return;  // "writes are ignored" in other modes
  deadline_tsc_ = tsc;
  deadline_clock_ = tsc == 0 ? 0 : clock;
}

std::optional<uint64_t> ApicTimer::next_expiry() const {
  switch (mode_) {
    case ApicTimerMode::TscDeadline:
      if (deadline_tsc_ == 0) return std::nullopt;
      return deadline_clock_;
    case ApicTimerMode::Periodic:
      if (!counting_) return std::nullopt;
      return start_ + (periods_ + 1) * period();
    default:
      if (!counting_) return std::nullopt;
      return start_ + period();
  }
}

bool ApicTimer::expire(uint64_t now) {
  const std::optional<uint64_t> at = next_expiry();
  if (!at || now < *at) return false;
  switch (mode_) {
    case ApicTimerMode::TscDeadline: deadline_tsc_ = deadline_clock_ = 0; break;  // the MSR reads 0 again
    case ApicTimerMode::Periodic: periods_ = (now - start_) / period(); break;     // missed periods coalesce
    default: counting_ = false; break;
  }
  return true;
}

void ApicTimer::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "timer");
  io.field("mode", mode_);
  io.check(uint8_t(mode_) <= uint8_t(ApicTimerMode::TscDeadline), "a timer mode that is none of the three");
  io.field("TMICT", initial_);
  io.field("TDCR", tdcr_);
  io.check((tdcr_ & ~0xBu) == 0, "TDCR with reserved bits set");
  io.field("start", start_);
  io.field("counting", counting_);
  io.field("periods", periods_);
  io.field("IA32_TSC_DEADLINE", deadline_tsc_);
  io.field("deadline_clock", deadline_clock_);
}

}  // namespace irqremap::x86
