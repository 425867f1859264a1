#pragma once
// An x86 guest-fw stub run on a default machine to its end, with its COM1 output kept
// (the machine tests that check what a stub did).
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"

namespace x86test {

struct StubRun {
  std::string uart;
  std::unique_ptr<irqremap::x86::X86Machine> m;
  irqremap::arch::RunResult r;
};

inline StubRun run_stub(const char* name, uint64_t budget = 20'000'000) {
  StubRun s;
  irqremap::x86::X86MachineConfig cfg;
  cfg.uart_out = [&s](char c) { s.uart += c; };
  auto m = irqremap::x86::X86Machine::create(cfg);
  REQUIRE(m);
  s.m = std::move(*m);
  const irqremap::guestfw::Firmware* f = irqremap::guestfw::find(name);
  REQUIRE(f != nullptr);
  auto entry = s.m->load(f->elf);
  REQUIRE(entry);
  s.r = s.m->run(*entry, budget);
  return s;
}

}  // namespace x86test
