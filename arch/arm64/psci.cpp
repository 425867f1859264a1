#include "arch/arm64/psci.h"

#include <fmt/format.h>

#include "arch/arm64/virt_map.h"

namespace irqremap::arm64 {

Psci::Psci(unsigned cpus) : states_(cpus, PowerState::Off) {
  if (!states_.empty()) states_[0] = PowerState::On;
}

int Psci::cpu_for_mpidr(uint64_t mpidr) const {
  // Aff3 (bits 39:32), Aff2 (23:16), Aff1 (15:8), Aff0 (7:0) identify a PE.
  const uint64_t aff = mpidr & 0xFF'00FF'FFFFull;
  for (unsigned c = 0; c < states_.size(); ++c)
    if (virt::mpidr_affinity(c) == aff) return int(c);
  return -1;
}

PsciResult Psci::call(unsigned caller, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3) {
  using namespace psci;
  auto ret = [](int64_t v) { return PsciResult{uint64_t(v), {}}; };
  const uint32_t fn = uint32_t(x0);
  switch (fn) {
    case PSCI_VERSION: return ret(kVersion);
    case MIGRATE_INFO_TYPE: return ret(2);  // no Trusted OS: migration not required
    case PSCI_FEATURES: {
      const uint32_t q = uint32_t(x1);
      const bool known = q == PSCI_VERSION || q == CPU_OFF || q == CPU_ON_32 || q == CPU_ON_64 ||
                         q == AFFINITY_INFO_32 || q == AFFINITY_INFO_64 ||
                         q == MIGRATE_INFO_TYPE || q == SYSTEM_OFF || q == SYSTEM_RESET ||
                         q == PSCI_FEATURES;
      return ret(known ? SUCCESS : NOT_SUPPORTED);
    }
    case CPU_ON_32:
    case CPU_ON_64: {
      const int target = cpu_for_mpidr(fn == CPU_ON_32 ? uint32_t(x1) : x1);
      if (target < 0) return ret(INVALID_PARAMETERS);
      if (states_[target] == PowerState::On) return ret(ALREADY_ON);
      if (states_[target] == PowerState::OnPending) return ret(ON_PENDING);
      states_[target] = PowerState::OnPending;
      PsciResult r{uint64_t(SUCCESS), {PsciEffect::Kind::CpuOn, unsigned(target),
                                       fn == CPU_ON_32 ? uint32_t(x2) : x2,
                                       fn == CPU_ON_32 ? uint32_t(x3) : x3}};
      return r;
    }
    case CPU_OFF:
      states_.at(caller) = PowerState::Off;
      return PsciResult{0, {PsciEffect::Kind::CpuOff, caller, 0, 0}};
    case AFFINITY_INFO_32:
    case AFFINITY_INFO_64: {
      if (x2 != 0) return ret(INVALID_PARAMETERS);  // only level 0 (a single PE) here
      const int target = cpu_for_mpidr(fn == AFFINITY_INFO_32 ? uint32_t(x1) : x1);
      if (target < 0) return ret(INVALID_PARAMETERS);
      switch (states_[target]) {
        case PowerState::On: return ret(AFF_ON);
        case PowerState::OnPending: return ret(AFF_ON_PENDING);
        case PowerState::Off: return ret(AFF_OFF);
      }
      return ret(INTERNAL_FAILURE);
    }
    case SYSTEM_OFF: return PsciResult{0, {PsciEffect::Kind::SystemOff, caller, 0, 0}};
    case SYSTEM_RESET: return PsciResult{0, {PsciEffect::Kind::SystemReset, caller, 0, 0}};
    default: return ret(NOT_SUPPORTED);
  }
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void Psci::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "psci");
  for (unsigned c = 0; c < states_.size(); ++c) {
    PowerState s = states_[c];
    io.field(fmt::format("cpu{}", c), s);
    if (io.check(s <= PowerState::On, "a PSCI power state is Off (0), OnPending (1) or On (2)")) states_[c] = s;
  }
}

}  // namespace irqremap::arm64
