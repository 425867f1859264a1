// The x86 affinity scenarios end to end: firmware on the machine, VT-d remapping, and the
// common message-store device (device/MsgDevice at 0xFEB0_0000, requester ID 00:03.0).
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

struct Scenario {
  std::string uart;
  std::unique_ptr<X86Machine> m;
  RecordingSink rec;
  arch::RunResult result;
  explicit Scenario(const char* fw, unsigned cpus = 3) {
    X86MachineConfig cfg;
    cfg.cpus = cpus;
    cfg.uart_out = [this](char c) { uart += c; };
    auto mm = X86Machine::create(cfg);
    REQUIRE(mm);
    m = std::move(*mm);
    m->attach(&rec);
    const guestfw::Firmware* f = guestfw::find(fw);
    REQUIRE(f != nullptr);
    auto entry = m->load(f->elf);
    REQUIRE(entry);
    result = m->run(*entry, 20'000'000);
    m->detach(&rec);
    INFO(uart);
    INFO(result.message);
  }
  // Interrupts taken by `cpu` with `vector`, from the vCPU trace.
  unsigned taken(unsigned cpu, uint64_t vector) const { return unsigned(m->cpu(cpu).taken(uint8_t(vector))); }
  // The device's message store: each of the 4 slots committed exactly once and never
  // rewritten while live, whatever the migrations did.
  void check_written_once() const {
    for (unsigned k = 0; k < 4; ++k) {
      CAPTURE(k);
      CHECK(m->device()->counters(k).commits == 1);
      CHECK(m->device()->counters(k).rewrites_enabled == 0);
      CHECK(m->device()->counters(k).torn == 0);
    }
  }
};

}  // namespace

TEST_CASE("x86 scenario: handler on CPU 1, worker migration (cmpxchg16b IRTE + IEC flush + wait), next fire on CPU 2; message written once") {
  Scenario s("x86/irq-migrate");
  INFO(s.uart);
  CHECK(s.result.stop == arch::StopKind::SystemOff);
  CHECK(s.uart.find("before: slot 0 handled on cpu1") != std::string::npos);
  CHECK(s.uart.find("after migration (cmpxchg16b): slot 0 handled on cpu2") != std::string::npos);
  CHECK(s.uart.find("after migration (low half): slot 1 handled on cpu0") != std::string::npos);
  CHECK(s.uart.find("irq-migrate: ok") != std::string::npos);
  s.check_written_once();
  CHECK(s.m->device()->counters(0).messages == 2);
  CHECK(s.m->hazards().empty());
  CHECK(s.rec.contains(EventKind::CacheInvalidate, ""));
}

TEST_CASE("x86 scenario: hot-unplug with an MSI in flight moves every IRTE off CPU 2, loses nothing, delivers nothing to the parked CPU") {
  Scenario s("x86/irq-unplug");
  INFO(s.uart);
  CHECK(s.result.stop == arch::StopKind::SystemOff);
  CHECK(s.uart.find("in-flight slot 0 handled on cpu1: 1") != std::string::npos);
  for (int k = 0; k < 4; ++k)
    CHECK(s.uart.find("after unplug: slot " + std::to_string(k) + " handled on cpu1") != std::string::npos);
  // After CPU 2 parked (the EOI that ends its offline handler, right before park()), no
  // device interrupt reached it. (The in-flight one reaches it inside the handler.)
  bool parked = false;
  unsigned after = 0;
  for (const Event& e : s.rec.events) {
    if (e.unit == "lapic2" && e.kind == EventKind::Delivery && e.value("eoi") == 1 && e.value("vector") == 0xF1)
      parked = true;
    if (parked && e.kind == EventKind::Delivery && e.unit == "apicbus" && e.value("cpu") == 2) ++after;
  }
  CHECK(parked);
  CHECK(after == 0);
  CHECK(s.taken(2, 0x50) == 0);  // the in-flight slot 0 interrupt was never taken on CPU 2
  s.check_written_once();
}

TEST_CASE("x86 scenario (teaching): migration without IEC invalidation keeps delivering to the old CPU; trace and watch flag the stale entry") {
  Scenario s("x86/irq-stale-iec");
  INFO(s.uart);
  CHECK(s.result.stop == arch::StopKind::SystemOff);
  CHECK(s.uart.find("IRTE says cpu2, no IEC flush: slot 0 handled on cpu1") != std::string::npos);
  CHECK(s.uart.find("STALE") != std::string::npos);
  CHECK(s.uart.find("after the IEC flush: slot 0 handled on cpu2") != std::string::npos);
  REQUIRE(s.m->hazards().size() == 1);
  CHECK(s.m->hazards()[0].find("stale translation: IRTE 0x20") != std::string::npos);
  CHECK(s.rec.contains(EventKind::Hazard, "IEC serves a stale IRTE"));  // the unit's own check
  s.check_written_once();
}

TEST_CASE("x86 scenario (teaching): clearing P before the rewrite loses the in-flight MSI with fault 22h in the FRCD and a fault event on CPU 0") {
  Scenario s("x86/irq-clear-p");
  INFO(s.uart);
  CHECK(s.result.stop == arch::StopKind::SystemOff);
  CHECK(s.uart.find("fault record: F=1 FR=0x22 FI=0x20 SID=0x18") != std::string::npos);
  CHECK(s.uart.find("fault events on cpu0: 1") != std::string::npos);
  CHECK(s.uart.find("slot 0 interrupts handled: 0") != std::string::npos);
  CHECK(s.uart.find("after the rewrite: slot 0 handled on cpu2") != std::string::npos);
  REQUIRE(s.m->hazards().size() == 1);
  CHECK(s.m->hazards()[0].find("in-flight MSI lost: IRTE 0x20 had P=0") != std::string::npos);
  CHECK(s.taken(0, 0xE0) == 1);  // the VT-d fault event, vectored on CPU 0
  CHECK(s.rec.contains(EventKind::Fault, ""));
  s.check_written_once();
}

TEST_CASE("x86 scenario (teaching): an I/O APIC interrupt in remappable format moves CPU 0 -> CPU 1 by rewriting its IRTE only; the redirection entry never changes") {
  Scenario s("x86/ioapic-migrate", 2);
  INFO(s.uart);
  CHECK(s.result.stop == arch::StopKind::SystemOff);
  CHECK(s.uart.find("edu at devfn 0x8, BAR0 0xfea00000, INTx on I/O APIC pin 10") != std::string::npos);
  CHECK(s.uart.find("pin 10 -> IRTE 5 -> cpu0") != std::string::npos);
  CHECK(s.uart.find("ioapic-migrate: ok") != std::string::npos);
  CHECK(s.taken(0, 0x51) == 1);
  CHECK(s.taken(1, 0x51) == 1);
  // The entry was written once (two halves), then only the IRTE and the IEC changed.
  std::size_t rte_writes = 0;
  for (const Event& e : s.rec.events)
    if (e.kind == EventKind::RegWrite && e.unit == "ioapic") ++rte_writes;
  CHECK(rte_writes == 2);
  CHECK(s.rec.contains(EventKind::Device, "remappable message 0xfee000b0"));
  CHECK(s.m->hazards().empty());
}
