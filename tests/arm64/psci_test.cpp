// PSCI over HVC (Arm DEN0022) as the AArch64 machine answers it.
#include <doctest/doctest.h>

#include "arch/arm64/psci.h"

using namespace irqremap::arm64;

TEST_CASE("psci: PSCI_VERSION reports 1.1 and unknown calls NOT_SUPPORTED (DEN0022 §5.1)") {
  Psci p(4);
  CHECK(p.call(0, psci::PSCI_VERSION, 0, 0, 0).x0 == 0x10001);
  CHECK(int64_t(p.call(0, 0x8400'00FF, 0, 0, 0).x0) == psci::NOT_SUPPORTED);
  CHECK(int64_t(p.call(0, psci::PSCI_FEATURES, psci::CPU_ON_64, 0, 0).x0) == psci::SUCCESS);
  CHECK(int64_t(p.call(0, psci::PSCI_FEATURES, 0xC400'0012, 0, 0).x0) == psci::NOT_SUPPORTED);
}

TEST_CASE("psci: CPU_ON starts an off CPU once; ALREADY_ON / ON_PENDING / INVALID_PARAMETERS") {
  Psci p(4);
  auto r = p.call(0, psci::CPU_ON_64, 2, 0x4008'1000, 0x55);
  CHECK(r.x0 == 0);
  CHECK(r.effect.kind == PsciEffect::Kind::CpuOn);
  CHECK(r.effect.target == 2);
  CHECK(r.effect.entry == 0x4008'1000);
  CHECK(r.effect.context_id == 0x55);
  CHECK(p.state(2) == PowerState::OnPending);
  CHECK(int64_t(p.call(0, psci::CPU_ON_64, 2, 0x4008'1000, 0).x0) == psci::ON_PENDING);
  CHECK(int64_t(p.call(0, psci::AFFINITY_INFO_64, 2, 0, 0).x0) == psci::AFF_ON_PENDING);
  p.started(2);
  CHECK(int64_t(p.call(0, psci::CPU_ON_64, 2, 0x4008'1000, 0).x0) == psci::ALREADY_ON);
  CHECK(int64_t(p.call(0, psci::CPU_ON_64, 0, 0x4008'1000, 0).x0) == psci::ALREADY_ON);
  CHECK(int64_t(p.call(0, psci::CPU_ON_64, 9, 0x4008'1000, 0).x0) == psci::INVALID_PARAMETERS);
  CHECK(int64_t(p.call(0, psci::AFFINITY_INFO_64, 2, 1, 0).x0) == psci::INVALID_PARAMETERS);
}

TEST_CASE("psci: CPU_OFF powers the caller down; AFFINITY_INFO then says OFF") {
  Psci p(2);
  p.call(0, psci::CPU_ON_64, 1, 0x4008'0000, 0);
  p.started(1);
  CHECK(int64_t(p.call(0, psci::AFFINITY_INFO_64, 1, 0, 0).x0) == psci::AFF_ON);
  auto r = p.call(1, psci::CPU_OFF, 0, 0, 0);
  CHECK(r.effect.kind == PsciEffect::Kind::CpuOff);
  CHECK(r.effect.target == 1);
  CHECK(int64_t(p.call(0, psci::AFFINITY_INFO_64, 1, 0, 0).x0) == psci::AFF_OFF);
  CHECK(p.call(0, psci::SYSTEM_OFF, 0, 0, 0).effect.kind == PsciEffect::Kind::SystemOff);
  CHECK(p.call(0, psci::SYSTEM_RESET, 0, 0, 0).effect.kind == PsciEffect::Kind::SystemReset);
}
