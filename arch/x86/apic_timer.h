#pragma once
// The local APIC timer (Intel SDM vol. 3A §11.5.4 "APIC Timer") on the machine's clock: the
// timer's input is the clock of the time-stamp counter (time_stamp_counter.h, one tick per
// nanosecond, the 1 GHz bus clock QEMU's APIC timer counts too), divided by the Divide
// Configuration Register. Pure logic: the local APIC (local_apic.h) feeds it register
// writes and the time, and raises the LVT Timer interrupt when `expire` says so.
//  - One-shot (LVT Timer bits 18:17 = 00): a write of the Initial Count starts the count
//    from it; at zero the timer interrupts once and the Current Count stays 0.
//  - Periodic (01): the count reloads from the Initial Count at zero, one interrupt each
//    time (missed ones coalesce, as an edge-triggered interrupt pending in IRR does).
//  - TSC-deadline (10, §11.5.4.1): IA32_TSC_DEADLINE arms it; when the time-stamp counter
//    reaches the deadline the timer interrupts once and the MSR reads 0 again; writing 0
//    disarms. The Initial Count is ignored and the Current Count reads 0 in this mode.
//  - A write of 0 to the Initial Count stops the count. A change into or out of
//    TSC-deadline mode disarms the timer (§11.5.4.1: the transition "disarms the local
//    APIC timer"); between one-shot and periodic the count goes on from where it is
//    (kvm-unit-tests' apic "change mode" checks, as KVM and QEMU do): periodic to one-shot
//    counts the current period down to 0 and stops, one-shot to periodic reloads at 0
//    unless the one-shot count had already ended.
// A Divide Configuration change takes effect on the count at once, from the count's start
// (as QEMU's apic_timer_update).
#include <cstdint>
#include <optional>

#include "snapshot/state_io.h"

namespace irqremap::x86 {

enum class ApicTimerMode : uint8_t { OneShot = 0, Periodic = 1, TscDeadline = 2 };

class ApicTimer {
 public:
  // The divisor the Divide Configuration Register (bits 3, 1:0) selects: 2, 4, ..., 128, 1.
  static unsigned divisor(uint32_t tdcr);

  ApicTimerMode mode() const { return mode_; }
  // The LVT Timer's mode field was written at `now` (the value 3 is reserved: taken as
  // one-shot).
  void set_mode(ApicTimerMode m, uint64_t now);
  void write_initial_count(uint32_t count, uint64_t now);
  void write_divide(uint32_t tdcr) { tdcr_ = tdcr & 0xB; }
  uint32_t initial_count() const { return initial_; }
  uint32_t divide() const { return tdcr_; }
  uint32_t current_count(uint64_t now) const;
  // IA32_TSC_DEADLINE, both as software sees it (`tsc`, in the CPU's TSC) and on the clock
  // (`clock`): the caller converts. Ignored outside TSC-deadline mode; 0 disarms.
  void write_deadline(uint64_t tsc, uint64_t clock);
  uint64_t deadline() const { return mode_ == ApicTimerMode::TscDeadline ? deadline_tsc_ : 0; }

  // When the timer next expires, on the clock, if it is armed.
  std::optional<uint64_t> next_expiry() const;
  // Moves the timer to `now`; true when it expired since the last call (one interrupt).
  bool expire(uint64_t now);

  // Its part of a machine snapshot (the local APIC's group).
  void state(snapshot::Io& io);

 private:
  uint64_t period() const { return uint64_t(initial_) * divisor(tdcr_); }

  ApicTimerMode mode_ = ApicTimerMode::OneShot;
  uint32_t initial_ = 0, tdcr_ = 0;
  uint64_t start_ = 0;         // clock time of the Initial Count write
  bool counting_ = false;      // one-shot or periodic count running
  uint64_t periods_ = 0;       // periodic: expirations already given
  uint64_t deadline_tsc_ = 0;  // IA32_TSC_DEADLINE as written (0: disarmed)
  uint64_t deadline_clock_ = 0;
};

}  // namespace irqremap::x86
