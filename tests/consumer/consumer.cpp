// A program outside the irqremap tree, built against an installed irqremap (by CMake's
// find_package in CMakeLists.txt and by pkg-config in check.sh). It uses each library
// the package exports: remap (an IRTE decoded from its field table), device (the common
// device's message store) and arch (the AArch64 machine booting an embedded stub).
#include <cstdio>
#include <string>

#include "arch/arm64/arm64_machine.h"
#include "device/msg_device.h"
#include "guest-fw/firmware.h"
#include "remap/fields.h"
#include "remap/vtd/irte_format.h"

int main() {
  using namespace irqremap;
  const uint64_t irte[2] = {0x0000030000410001, 0x0000000000040018};
  const fields::Decoded d = fields::decode(vtd::irte::kIrte, irte);
  std::printf("irte vector %#llx\n", static_cast<unsigned long long>(d.get("V").value_or(0)));

  std::string uart;
  arm64::Arm64MachineConfig cfg;
  cfg.uart_out = [&uart](char c) { uart += c; };
  auto m = arm64::Arm64Machine::create(cfg);
  const guestfw::Firmware* fw = guestfw::find("arm64/uart-hello");
  if (!m || fw == nullptr) return 2;
  auto entry = (*m)->load(fw->elf);
  if (!entry) return 2;
  const arch::RunResult r = (*m)->run(*entry, 1'000'000);
  const device::MsgDevice* dev = (*m)->device();
  std::printf("uart: %sslots: %u\nstop: %s\n", uart.c_str(), dev ? dev->config().slots : 0,
              r.stop == arch::StopKind::SystemOff ? "system off" : r.message.c_str());
  return r.stop == arch::StopKind::SystemOff ? 0 : 1;
}
