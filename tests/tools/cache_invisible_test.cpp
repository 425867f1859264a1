// The translation caches are invisible to firmware that follows the invalidation rules
// (issue 13: a hit equals a walk; DESIGN: cache == walk). Every teaching stub that moves
// interrupts the way Linux does prints the same bytes and retires the same instructions
// with the ITS translation cache or the VT-d interrupt entry cache off, and its MSIs did
// hit the cache when it was on. QEMU has neither cache, so this is also QEMU's behaviour.
// The x86 stubs invalidate the IEC before each MSI, as Linux does after an IRTE edit, so
// there every MSI fills it; kvm-unit-tests' intel-iommu (firmware nobody here wrote, run
// as QEMU ran it) is checked the same way. Left out: x86/irq-stale-iec and
// x86/irq-clear-p, which show what a stale IEC entry does when software skips the
// invalidation (VT-d §6.5.2.7), and stubs that send no MSI.
#include <doctest/doctest.h>

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "arch/arm64/arm64_machine.h"
#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"
#include "tests/common/kvm_unit_tests.h"

namespace {

using namespace irqremap;

struct CacheRun {
  std::string uart;
  arch::RunResult result;
  RemapStats unit;  // the ITS's or the VT-d unit's
};

template <typename Machine, typename Config>
CacheRun run_image(std::span<const std::byte> image, unsigned cpus, bool cache) {
  Config cfg;
  cfg.cpus = cpus;
  if constexpr (requires { cfg.its; })
    cfg.its.cache = cache;
  else
    cfg.vtd_config.iec_entries = cache ? 64 : 0;
  CacheRun out;
  cfg.uart_out = [&out](char c) { out.uart.push_back(c); };
  auto m = Machine::create(cfg);
  REQUIRE(m);
  auto entry = (*m)->load(image);
  REQUIRE(entry);
  out.result = (*m)->run(*entry, 50'000'000);
  if constexpr (requires { cfg.its; })
    out.unit = (*m)->its().stats();
  else
    out.unit = (*m)->vtd()->stats();
  return out;
}

// `hits`: the cache answered some MSI (the ITS stubs send the same MSI again); else every
// MSI filled it.
template <typename Machine, typename Config>
void check_invisible(std::string_view name, std::span<const std::byte> image, unsigned cpus, bool hits) {
  CAPTURE(std::string(name));
  const CacheRun on = run_image<Machine, Config>(image, cpus, true);
  const CacheRun off = run_image<Machine, Config>(image, cpus, false);
  CHECK(on.result.stop == off.result.stop);
  CHECK(on.result.exit_status == off.result.exit_status);
  CHECK(on.result.instructions == off.result.instructions);
  CHECK(on.uart == off.uart);
  CHECK(!on.uart.empty());
  CHECK(on.unit.translations == off.unit.translations);
  CHECK(on.unit.translations > 0);
  CHECK((hits ? on.unit.cache_hits : on.unit.cache_misses) > 0);
  CHECK(off.unit.cache_hits == 0);
}

std::span<const std::byte> stub(std::string_view name) {
  const guestfw::Firmware* fw = guestfw::find(name);
  REQUIRE(fw != nullptr);
  return fw->elf;
}

}  // namespace

TEST_CASE("arm64 its-migrate, device-migrate and lpi-self: the same UART output and instruction count with the ITS cache off") {
  using M = arm64::Arm64Machine;
  using C = arm64::Arm64MachineConfig;
  for (const char* name : {"arm64/its-migrate", "arm64/device-migrate"}) check_invisible<M, C>(name, stub(name), 4, true);
  check_invisible<M, C>("arm64/lpi-self", stub("arm64/lpi-self"), 1, true);
}

TEST_CASE("x86 irq-migrate, irq-unplug, ioapic-migrate and kvm-unit-tests intel-iommu: the same UART output and instruction count with the IEC off") {
  using M = x86::X86Machine;
  using C = x86::X86MachineConfig;
  for (const char* name : {"x86/irq-migrate", "x86/irq-unplug"}) check_invisible<M, C>(name, stub(name), 4, false);
  check_invisible<M, C>("x86/ioapic-migrate", stub("x86/ioapic-migrate"), 2, false);
  const auto kut = kuttest::find_image("cache-invisible kvm-unit-tests intel-iommu", "x86/intel-iommu.flat");
  if (!kut) return;
  const std::string image = kuttest::slurp(*kut);
  check_invisible<M, C>("kvm-unit-tests x86/intel-iommu.flat", std::as_bytes(std::span(image)), 4, false);
}
