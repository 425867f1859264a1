#pragma once
// PSCI over HVC #0 (Arm DEN0022, SMC Calling Convention), the calls QEMU virt firmware
// uses: PSCI_VERSION, CPU_ON, CPU_OFF, AFFINITY_INFO, SYSTEM_OFF, SYSTEM_RESET,
// PSCI_FEATURES, MIGRATE_INFO_TYPE. Plain logic: the machine executes the returned effect.
#include <cstdint>
#include <vector>
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

namespace psci {
inline constexpr uint32_t PSCI_VERSION = 0x8400'0000;
inline constexpr uint32_t CPU_OFF = 0x8400'0002;
inline constexpr uint32_t CPU_ON_32 = 0x8400'0003;
inline constexpr uint32_t CPU_ON_64 = 0xC400'0003;
inline constexpr uint32_t AFFINITY_INFO_32 = 0x8400'0004;
inline constexpr uint32_t AFFINITY_INFO_64 = 0xC400'0004;
inline constexpr uint32_t MIGRATE_INFO_TYPE = 0x8400'0006;
inline constexpr uint32_t SYSTEM_OFF = 0x8400'0008;
inline constexpr uint32_t SYSTEM_RESET = 0x8400'0009;
inline constexpr uint32_t PSCI_FEATURES = 0x8400'000A;

// Return codes (DEN0022 §5.2.2).
inline constexpr int64_t SUCCESS = 0, NOT_SUPPORTED = -1, INVALID_PARAMETERS = -2, DENIED = -3,
                         ALREADY_ON = -4, ON_PENDING = -5, INTERNAL_FAILURE = -6;
// AFFINITY_INFO results.
inline constexpr int64_t AFF_ON = 0, AFF_OFF = 1, AFF_ON_PENDING = 2;
// PSCI 1.1, as QEMU 7.2 virt reports.
inline constexpr uint32_t kVersion = 0x0001'0001;
}  // namespace psci

enum class PowerState : uint8_t { Off, OnPending, On };

struct PsciEffect {
  enum class Kind : uint8_t { None, CpuOn, CpuOff, SystemOff, SystemReset };
  Kind kind = Kind::None;
  unsigned target = 0;      // CpuOn: the CPU to start
  uint64_t entry = 0;       // CpuOn: entry point address
  uint64_t context_id = 0;  // CpuOn: x0 at entry
};

struct PsciResult {
  uint64_t x0 = 0;  // the value returned to the caller (unused for CPU_OFF, SYSTEM_*)
  PsciEffect effect;
};

class Psci {
 public:
  explicit Psci(unsigned cpus);  // CPU 0 starts On, the others Off

  // One HVC #0 from `caller` with x0..x3. Unknown function IDs return NOT_SUPPORTED.
  PsciResult call(unsigned caller, uint64_t x0, uint64_t x1, uint64_t x2, uint64_t x3);

  PowerState state(unsigned cpu) const { return states_.at(cpu); }
  // The machine confirms a started CPU is running (OnPending -> On).
  void started(unsigned cpu) { states_.at(cpu) = PowerState::On; }
  unsigned cpus() const { return unsigned(states_.size()); }

  // Its part of a snapshot: each CPU's PSCI power state.
  void state(snapshot::Io& io);
 private:
  // The CPU whose MPIDR affinity is `mpidr`, or -1.
  int cpu_for_mpidr(uint64_t mpidr) const;
  std::vector<PowerState> states_;
};

}  // namespace irqremap::arm64
