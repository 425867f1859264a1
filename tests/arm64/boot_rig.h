#pragma once
// Boots an embedded arm64 stub on a fresh machine through the library API and keeps the
// UART output and the stop, for the machine tests. A trace sink, if given, listens from
// before the first instruction to the stop.
#include <doctest/doctest.h>

#include <algorithm>
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

// A guest program of A64 words on a fresh machine: `code` at the image's start (which sets
// VBAR_EL1 = image + 0x800 itself), `handler` at VBAR + 0x200 (synchronous exceptions from
// the current EL with SP_EL1), NOPs between; run in fast mode or with an instruction trace
// (precise mode) until it stops.
struct GuestRun {
  std::unique_ptr<irqremap::arm64::Arm64Machine> m;
  uint64_t entry = 0;
  irqremap::arch::RunResult r;
};
inline GuestRun run_guest(std::span<const uint32_t> code, std::span<const uint32_t> handler, bool precise,
                          uint64_t budget = 10'000) {
  constexpr uint32_t kNop = 0xD503'201F;
  constexpr std::size_t kHandler = 0xA00 / 4;
  GuestRun g;
  auto m = irqremap::arm64::Arm64Machine::create(irqremap::arm64::Arm64MachineConfig{});
  REQUIRE(m);
  g.m = std::move(*m);
  g.m->set_trace_instructions(precise);
  std::vector<uint32_t> words(std::max<std::size_t>(kHandler + handler.size(), code.size()), kNop);
  REQUIRE(code.size() <= kHandler - 0x200 / 4);  // the vectors start at +0x800
  std::copy(code.begin(), code.end(), words.begin());
  std::copy(handler.begin(), handler.end(), words.begin() + kHandler);
  auto entry = g.m->load(image_of(words));
  REQUIRE(entry);
  g.entry = *entry;
  g.r = g.m->run(*entry, budget);
  return g;
}

}  // namespace arm64test
