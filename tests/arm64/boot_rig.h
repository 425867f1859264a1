#pragma once
// Boots an embedded arm64 stub on a fresh machine through the library API and keeps the
// UART output and the stop, for the machine tests. A trace sink, if given, listens from
// before the first instruction to the stop.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "guest-fw/firmware.h"

namespace arm64test {

struct Booted {
  std::unique_ptr<irqremap::arm64::Arm64Machine> m;
  std::string uart;
  irqremap::arch::RunResult r;
};

inline Booted boot(const char* firmware, unsigned cpus, uint64_t budget = 50'000'000,
                   irqremap::TraceSink* sink = nullptr) {
  Booted b;
  irqremap::arm64::Arm64MachineConfig cfg;
  cfg.cpus = cpus;
  cfg.uart_out = [&b](char c) { b.uart += c; };
  auto m = irqremap::arm64::Arm64Machine::create(cfg);
  REQUIRE(m);
  b.m = std::move(*m);
  const irqremap::guestfw::Firmware* fw = irqremap::guestfw::find(firmware);
  REQUIRE(fw != nullptr);
  auto entry = b.m->load(fw->elf);
  REQUIRE(entry);
  if (sink != nullptr) b.m->attach(sink);
  b.r = b.m->run(*entry, budget);
  if (sink != nullptr) b.m->detach(sink);
  return b;
}

// A raw image of A64 instruction words (little-endian), for Arm64Machine::load.
inline std::vector<std::byte> image_of(std::span<const uint32_t> words) {
  std::vector<std::byte> img;
  for (uint32_t w : words)
    for (int i = 0; i < 4; ++i) img.push_back(std::byte((w >> (8 * i)) & 0xFF));
  return img;
}

}  // namespace arm64test
