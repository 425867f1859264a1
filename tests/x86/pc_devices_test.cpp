// The x86 machine's small devices: COM1 UART, isa-debug-exit, the ACPI wakeup mailbox,
// the I/O port bus, the compatibility-format MSI path and QEMU's pc-testdev.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arch/x86/compat_msi.h"
#include "arch/x86/debug_exit.h"
#include "arch/x86/io_port.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/pc_testdev.h"
#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"
#include "remap/vtd/ioapic_rte_format.h"
#include "arch/x86/uart16550.h"
#include "arch/x86/wakeup_mailbox.h"
#include "arch/x86/x86_map.h"
#include "tests/x86/stub_run.h"

using namespace irqremap;
using namespace irqremap::x86;

TEST_CASE("uart16550: THR bytes go out, LSR says THRE|TEMT, DLAB redirects offsets 0/1 to the divisor") {
  std::string out;
  Uart16550 u([&](char c) { out += c; });
  IoPortBus io;
  REQUIRE(io.add(Uart16550::kCom1, u));
  for (char c : std::string("ok\n")) io.out(0x3F8, 1, uint8_t(c));
  CHECK(out == "ok\n");
  CHECK(io.in(0x3FD, 1) == 0x60u);
  io.out(0x3FB, 1, 0x80);  // DLAB
  io.out(0x3F8, 1, 0x01);  // DLL: not transmitted
  CHECK(out == "ok\n");
  CHECK(io.in(0x3F8, 1) == 0x01u);
  io.out(0x3FB, 1, 0x03);
  io.out(0x3FF, 1, 0x5A);
  CHECK(io.in(0x3FF, 1) == 0x5Au);
}

TEST_CASE("io: unclaimed ports read all ones and ignore writes; overlapping devices are refused") {
  IoPortBus io;
  CHECK(io.in(0x80, 1) == 0xFFu);
  CHECK(io.in(0x80, 2) == 0xFFFFu);
  io.out(0x80, 1, 0x12);
  DebugExit a, b;
  REQUIRE(io.add(0xF4, a));
  std::string err;
  CHECK_FALSE(io.add(0xF4, b, &err));
  CHECK(err.find("overlaps") != std::string::npos);
}

TEST_CASE("isa-debug-exit: a write of v requests exit status (v << 1) | 1, as QEMU's") {
  DebugExit d;
  IoPortBus io;
  REQUIRE(io.add(map::kDebugExitPort, d));
  CHECK_FALSE(d.exit_requested());
  io.out(0xF4, 1, 0x10);
  CHECK(d.exit_requested() == 0x21u);
  io.out(0xF4, 1, 0x00);  // the first write wins
  CHECK(d.exit_requested() == 0x21u);
  DebugExit z;
  z.io_out(0, 1, 0x100);  // a byte port sees the low 8 bits
  CHECK(z.exit_requested() == 1u);
}

TEST_CASE("wakeup mailbox: Wakeup command starts the named AP and is acknowledged by Command=Noop (ACPI 6.4 §5.2.12.19)") {
  std::vector<std::pair<uint32_t, uint64_t>> woken;
  WakeupMailbox mb(4, [&](uint32_t apic, uint64_t vec) {
    if (apic != 2) return false;
    woken.emplace_back(apic, vec);
    return true;
  });
  RecordingSink rec;
  mb.trace().attach(&rec);
  mb.mmio_write(WakeupMailbox::ApicId, 4, 2);
  mb.mmio_write(WakeupMailbox::WakeupVector, 4, 0x0010'2000);
  mb.mmio_write(WakeupMailbox::WakeupVector + 4, 4, 0);
  mb.mmio_write(WakeupMailbox::Command, 2, WakeupMailbox::kWakeup);
  REQUIRE(woken.size() == 1);
  CHECK(woken[0].second == 0x0010'2000u);
  CHECK(mb.mmio_read(WakeupMailbox::Command, 2) == 0u);
  // Unknown APIC: not acknowledged, Command stays Wakeup, trace says so.
  mb.mmio_write(WakeupMailbox::ApicId, 4, 7);
  mb.mmio_write(WakeupMailbox::Command, 2, WakeupMailbox::kWakeup);
  CHECK(mb.mmio_read(WakeupMailbox::Command, 2) == 1u);
  CHECK(rec.contains(EventKind::CommandError, "not acknowledged"));
  // The OS area is memory; the firmware area reads as zero.
  mb.mmio_write(WakeupMailbox::ReservedForOs, 8, 0x1122'3344'5566'7788ull);
  CHECK(mb.mmio_read(WakeupMailbox::ReservedForOs, 8) == 0x1122'3344'5566'7788ull);
  mb.mmio_write(WakeupMailbox::ReservedForFirmware, 4, 0xFFFF);
  CHECK(mb.mmio_read(WakeupMailbox::CpuCount, 4) == 4u);  // irqremap's MADT stand-in
  CHECK(mb.mmio_read(WakeupMailbox::ReservedForFirmware + 8, 4) == 0u);
}

TEST_CASE("compat MSI: address 0xFEE | dest << 12 | RH | DM and data vector/DLM/TM decode to an APIC request (VT-d §5.1.2.1)") {
  auto d = decode_compat_msi(MsiWrite{0xFEE0'300Cu, 0x0000'8141u, map::kDeviceRid});
  REQUIRE(d.has_value());
  CHECK(d->dest == 3);
  CHECK(d->dest_logical);
  CHECK(d->redirection_hint);
  CHECK(d->vector == 0x41);
  CHECK(d->delivery_mode == 1);
  CHECK(d->level);
  CHECK_FALSE(d->remapped);
  const MsiWrite back = encode_compat_msi(*d);
  CHECK(decode_compat_msi(back) == d);
}

TEST_CASE("compat MSI: outside 0xFEEx_xxxx, IF=1 with remapping off, or reserved data bits are errors") {
  CHECK_FALSE(decode_compat_msi(MsiWrite{0xFED0'0000u, 0x41, 0}).has_value());
  CHECK_FALSE(decode_compat_msi(MsiWrite{0x1'FEE0'0000ull, 0x41, 0}).has_value());
  auto rem = decode_compat_msi(MsiWrite{0xFEE0'0010u, 0x41, 0});
  REQUIRE_FALSE(rem.has_value());
  CHECK(rem.error().find("IF=1") != std::string::npos);
  CHECK_FALSE(decode_compat_msi(MsiWrite{0xFEE0'0000u, 0x0001'0041u, 0}).has_value());
}

TEST_CASE("compat MSI reaches the addressed APIC through the bus when remapping is off") {
  LapicBus bus(4);
  auto d = decode_compat_msi(MsiWrite{0xFEE0'2000u, 0x0000'0055u, 0});
  REQUIRE(d.has_value());
  bus.deliver(*d);
  CHECK(bus.apic(2).irr(0x55));
  CHECK_FALSE(bus.apic(0).irr(0x55));
}

TEST_CASE("pc-testdev: 0xE0 is a 32-bit scratch register by byte lanes, 0xE8 the same one byte at a time, 0xE4 takes a write and reads all ones (QEMU hw/misc/pc-testdev.c)") {
  std::vector<std::pair<unsigned, bool>> lines;
  PcTestdev t([&](unsigned pin, bool level) { lines.emplace_back(pin, level); });
  IoPortBus io;
  REQUIRE(io.add(PcTestdev::kPortBase, t.ports()));
  REQUIRE(io.add(PcTestdev::kIrqBase, t.irq_ports()));
  io.out(0xE0, 4, 0x1122'3344);
  CHECK(io.in(0xE0, 4) == 0x1122'3344u);
  CHECK(io.in(0xE2, 2) == 0x1122u);
  io.out(0xE1, 1, 0xAB);
  CHECK(t.scratch() == 0x1122'AB44u);
  io.out(0xE3, 2, 0xCDEF);  // only the byte inside the register
  CHECK(t.scratch() == 0xEF22'AB44u);
  CHECK(io.in(0xE8, 4) == 0xEF22'AB44u);  // the same register
  io.out(0xE9, 4, 0x0403'0201);            // byte lanes 1, 2, 3, then 0
  CHECK(t.scratch() == 0x0302'0104u);
  io.out(0xE4, 4, 0x1000);  // flush page: nothing a guest sees
  CHECK(io.in(0xE4, 4) == 0xFFFF'FFFFu);
  CHECK(t.scratch() == 0x0302'0104u);
  // The ISA lines: 1-byte writes only, value != 0 raises; IRQ 0 is I/O APIC input 2.
  io.out(0x200E, 1, 0x80);
  io.out(0x200E, 1, 0);
  io.out(0x2000, 1, 1);
  io.out(0x200B, 4, 1);  // not a 1-byte access: ignored, as QEMU's region refuses it
  io.out(0x2017, 1, 1);
  CHECK(lines == std::vector<std::pair<unsigned, bool>>{{14, true}, {14, false}, {2, true}, {23, true}});
  CHECK(io.in(0x2000, 1) == 0xFFu);
}

TEST_CASE("pc-testdev on the machine: a line raised through port 0x2000+n sends the I/O APIC entry's level interrupt; the local APIC's EOI of that vector is broadcast and clears Remote IRR (SDM vol. 3A §11.8.5, 82093AA §3.2.4)") {
  X86MachineConfig cfg;
  cfg.cpus = 1;
  cfg.uart_out = [](char) {};
  auto made = X86Machine::create(cfg);
  REQUIRE(made.has_value());
  X86Machine& m = **made;
  LocalApic& apic = m.apics().apic(0);
  apic.mmio_write(apic::SVR, 4, 0x1FF);
  IoApic& io = m.ioapic();
  const auto write_rte = [&](unsigned pin, uint64_t e) {
    io.mmio_write(IoApic::IOREGSEL, 4, IoApic::IOREDTBL + 2 * pin);
    io.mmio_write(IoApic::IOWIN, 4, uint32_t(e));
    io.mmio_write(IoApic::IOREGSEL, 4, IoApic::IOREDTBL + 2 * pin + 1);
    io.mmio_write(IoApic::IOWIN, 4, uint32_t(e >> 32));
  };
  write_rte(14, 0x77 | (1u << 15));  // vector 0x77, level, physical destination 0, unmasked
  m.testdev().irq_ports().io_out(14, 1, 1);
  CHECK(apic.irr(0x77));
  CHECK(apic.tmr(0x77));
  CHECK(fields::get(io.rte(14), vtd::ioapic_rte::RIRR) == 1);
  CHECK(apic.acknowledge() == 0x77);
  m.testdev().irq_ports().io_out(14, 1, 0);
  apic.mmio_write(apic::EOI, 4, 0);
  CHECK(fields::get(io.rte(14), vtd::ioapic_rte::RIRR) == 0);
  CHECK_FALSE(apic.irr(0x77));
  // A line still high at the EOI is sent again (the entry is level-triggered).
  m.testdev().irq_ports().io_out(14, 1, 1);
  CHECK(apic.acknowledge() == 0x77);
  apic.mmio_write(apic::EOI, 4, 0);
  CHECK(apic.irr(0x77));
  CHECK(fields::get(io.rte(14), vtd::ioapic_rte::RIRR) == 1);
}

TEST_CASE("uart16550 receive (PC16550D): RBR pops the FIFO, LSR.DR/OE, FCR clears, IIR priority and the IRQ line") {
  std::string out;
  Uart16550 u([&](char c) { out += c; });
  std::vector<bool> edges;
  u.set_irq([&](bool level) { edges.push_back(level); });
  IoPortBus io;
  REQUIRE(io.add(Uart16550::kCom1, u));
  // Without FIFOs the receiver holds one byte: a second one is an overrun (LSR.OE, then
  // cleared by the read of LSR that reports it).
  u.receive('a');
  u.receive('b');
  CHECK(io.in(0x3FD, 1) == 0x63u);  // DR | OE | THRE | TEMT
  CHECK(io.in(0x3FD, 1) == 0x61u);
  CHECK(io.in(0x3F8, 1) == uint32_t('a'));
  CHECK(io.in(0x3FD, 1) == 0x60u);
  // FIFOs on: 16 bytes, in order; IIR bits 7:6 say FIFOs are enabled.
  io.out(0x3FA, 1, 0x07);
  for (char c : std::string("hello")) u.receive(uint8_t(c));
  CHECK(u.rx_level() == 5);
  CHECK(io.in(0x3FA, 1) == 0xC1u);  // no interrupt enabled: none pending
  CHECK(edges.empty());
  // ERBFI: received data available (IIR 04h) raises the line; draining RBR lowers it.
  io.out(0x3F9, 1, 0x01);
  CHECK(io.in(0x3FA, 1) == 0xC4u);
  REQUIRE(edges == std::vector<bool>{true});
  std::string got;
  while (io.in(0x3FD, 1) & 0x01) got += char(io.in(0x3F8, 1));
  CHECK(got == "hello");
  CHECK(edges == std::vector<bool>{true, false});
  // FCR bit 1 empties the receive FIFO.
  u.receive('x');
  io.out(0x3FA, 1, 0x03);
  CHECK(u.rx_level() == 0);
  // ETBEI: THR empty is pending at once and after each byte sent; reading IIR while it is
  // the one reported clears it. Received data outranks it.
  io.out(0x3F9, 1, 0x03);
  CHECK(u.pending() == Uart16550::IIR_THRE);
  u.receive('y');
  CHECK(io.in(0x3FA, 1) == 0xC4u);
  (void)io.in(0x3F8, 1);
  CHECK(io.in(0x3FA, 1) == 0xC2u);
  CHECK(u.pending() == Uart16550::IIR_NONE);
  io.out(0x3F8, 1, uint8_t('!'));
  CHECK(out == "!");
  CHECK(u.pending() == Uart16550::IIR_THRE);
  // Loopback (MCR bit 4): a transmitted byte is received, not sent.
  io.out(0x3F9, 1, 0x00);
  io.out(0x3FC, 1, 0x10);
  io.out(0x3F8, 1, uint8_t('L'));
  CHECK(out == "!");
  CHECK(io.in(0x3F8, 1) == uint32_t('L'));
}

TEST_CASE("uart16550 input points: LSR polling fetches after 8 reads with ERBFI clear; the idle point only with ERBFI set") {
  Uart16550 u([](char) {});
  std::string input = "ab";
  std::vector<bool> asked;
  u.set_source([&](bool at_idle) -> std::optional<uint8_t> {
    asked.push_back(at_idle);
    if (input.empty()) return std::nullopt;
    const char c = input.front();
    input.erase(0, 1);
    return uint8_t(c);
  });
  IoPortBus io;
  REQUIRE(io.add(Uart16550::kCom1, u));
  CHECK_FALSE(u.feed_at_idle());  // ERBFI clear: a guest that is not waiting for input
  for (unsigned i = 0; i + 1 < Uart16550::kPollReads; ++i) CHECK((io.in(0x3FD, 1) & 0x01) == 0u);
  CHECK(asked.empty());
  CHECK((io.in(0x3FD, 1) & 0x01) == 1u);  // the 8th read in a row fetched 'a'
  CHECK(asked == std::vector<bool>{false});
  CHECK(io.in(0x3F8, 1) == uint32_t('a'));
  io.out(0x3F9, 1, 0x01);  // ERBFI: now only the idle point fetches
  for (unsigned i = 0; i < 2 * Uart16550::kPollReads; ++i) (void)io.in(0x3FD, 1);
  CHECK(asked.size() == 1);
  CHECK(u.feed_at_idle());
  CHECK(asked.back() == true);
  CHECK(io.in(0x3F8, 1) == uint32_t('b'));
}

namespace {
// x86/uart-echo on a machine whose COM1 input is `input`; each source call is recorded
// (true: the idle point, false: the polling point).
struct EchoRun {
  std::string uart;
  std::vector<bool> points;
  arch::RunResult r;
  uint64_t com1_interrupts = 0;
  explicit EchoRun(std::string input) {
    X86MachineConfig cfg;
    cfg.uart_out = [this](char c) { uart += c; };
    cfg.uart_in = [this, input = std::move(input)](bool at_idle) mutable -> std::optional<uint8_t> {
      points.push_back(at_idle);
      if (input.empty()) return std::nullopt;
      const char c = input.front();
      input.erase(0, 1);
      return uint8_t(c);
    };
    auto m = X86Machine::create(cfg);
    REQUIRE(m);
    const guestfw::Firmware* f = guestfw::find("x86/uart-echo");
    REQUIRE(f != nullptr);
    auto entry = (*m)->load(f->elf);
    REQUIRE(entry);
    r = (*m)->run(*entry, 20'000'000);
    com1_interrupts = (*m)->cpu(0).taken(0x40);
  }
};
}  // namespace

TEST_CASE("uart16550 on the machine: firmware reads COM1 by polling LSR.DR, then through ERBFI on ISA IRQ 4 via I/O APIC input 4") {
  EchoRun a("one\ntwo\n");
  INFO(a.r.message);
  CHECK(a.r.stop == arch::StopKind::SystemOff);
  CHECK(a.uart == "polled: one\nirq: two\ninterrupts 1\n");
  // "one\n" came at polling points; "two\n" one byte per idle point (the CPU halted with
  // ERBFI set), each taken as an interrupt on vector 0x40.
  CHECK(a.com1_interrupts == 4);
  CHECK(a.points == std::vector<bool>{false, false, false, false, true, true, true, true});
  // Input at defined points: the same input gives the same run.
  EchoRun b("one\ntwo\n");
  CHECK(b.uart == a.uart);
  CHECK(b.points == a.points);
  CHECK(b.r.instructions == a.r.instructions);
  // Input that ends before the second line: the halted CPU has nothing to wake it, and
  // the run says so instead of spinning.
  EchoRun c("one\n");
  CHECK(c.uart == "polled: one\n");
  CHECK(c.r.stop == arch::StopKind::Deadlock);
}

TEST_CASE("8259 and 8254 on the machine: an OS that programs them gets IRQ 0 at the PIT's rate through CPU 0's LINT0 (ExtINT), woken from HLT by the tick (MP spec §3.6.2.2)") {
  const x86test::StubRun s = x86test::run_stub("x86/pit-tick");
  const arch::RunResult& r = s.r;
  const auto& m = s.m;
  INFO(r.message);
  CHECK(r.stop == arch::StopKind::SystemOff);
  CHECK(s.uart == "pit-tick: 5 ticks of IRQ 0 through the 8259 (vector 0x20)\n");
  CHECK(m->cpu(0).taken(0x20) == 5);
  // Five periods of 1193 clocks at 1.193182 MHz: the machine's clock passed 5 ms, most of
  // it halted (time jumped to each edge), and few instructions ran.
  CHECK(m->tsc_now() >= 5 * (uint64_t(1193) * 1'000'000'000 / 1'193'182));
  CHECK(m->tsc_now() < 6'000'000);
  CHECK(r.instructions < 1'000'000);  // 5 ms of spinning would be 5 million
  // Each tick ended at the 8259; nothing is left in service.
  CHECK(m->pic().isr(0) == 0);
}

TEST_CASE("8259 and 8254 as the BIOS leaves them: IRQ 0 latches once at the first tick; a CPU halted with interrupts off is then a deadlock, not an endless jump from tick to tick") {
  X86MachineConfig cfg;
  auto m = X86Machine::create(cfg);
  REQUIRE(m);
  CHECK((*m)->pic().imr(0) == 0xFA);  // IRQ 0 and the cascade unmasked
  CHECK((*m)->pic().imr(1) == 0xFF);
  const uint64_t tick = (uint64_t(65536) * 1'000'000'000 + 1'193'181) / 1'193'182;  // 54.9 ms
  REQUIRE((*m)->pit().next_edge().has_value());
  CHECK(*(*m)->pit().next_edge() == tick);
  const std::vector<std::byte> code{std::byte{0xFA}, std::byte{0xF4}};  // cli; hlt (a raw image)
  auto entry = (*m)->load(code);
  REQUIRE(entry);
  const arch::RunResult r = (*m)->run(*entry, 1'000'000);
  CHECK(r.stop == arch::StopKind::Deadlock);
  CHECK(r.instructions == 2);
  CHECK((*m)->pic().irr(0) == 0x01);  // latched, never acknowledged
  CHECK((*m)->tsc_now() == tick);     // one jump, to the first edge
}
