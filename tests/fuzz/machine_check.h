#pragma once
// What every whole-machine fuzz run must end with, whatever the guest did: one clean
// stop line (a kind, a one-line message) and no more instructions than the budget.
#include <cstdint>

#include "arch/common/scheduler.h"

namespace irqremap::fuzz {

inline void check_stop(const arch::RunResult& r, uint64_t budget) {
  if (r.message.empty() || r.message.find('\n') != r.message.npos) __builtin_trap();
  if (r.instructions > budget) __builtin_trap();
  if (r.stop == arch::StopKind::SystemOff && r.exit_status != 0) __builtin_trap();
}

}  // namespace irqremap::fuzz
