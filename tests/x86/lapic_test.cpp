// The local APIC as software and VT-d see it (Intel SDM vol. 3A chapter 11).
#include <doctest/doctest.h>

#include <vector>

#include "arch/x86/apic_regs.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/lapic_window.h"
#include "arch/x86/local_apic.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {
ApicDelivery fixed(uint32_t dest, uint8_t vector, bool logical = false) {
  ApicDelivery d;
  d.dest = dest;
  d.vector = vector;
  d.dest_logical = logical;
  return d;
}
void enable(LocalApic& a) { a.mmio_write(apic::SVR, 4, 0x1FF); }
}  // namespace

TEST_CASE("lapic: reset state: ID in 31:24, version 14h with MaxLVT 6, SVR FFh, LVTs masked (SDM §11.4.7.1)") {
  LocalApic a(3, false);
  CHECK(a.mmio_read(apic::ID, 4) == 0x0300'0000u);
  CHECK(a.mmio_read(apic::VERSION, 4) == (0x14u | (6u << 16)));
  CHECK(a.mmio_read(apic::SVR, 4) == 0xFFu);
  CHECK(a.mmio_read(apic::LVT_LINT0, 4) == apic::kLvtMasked);
  CHECK(a.mmio_read(apic::DFR, 4) == 0xFFFF'FFFFu);
  CHECK(*a.msr_read(apic::IA32_APIC_BASE) == (0xFEE0'0000u | (1u << 11)));
  LocalApic bsp(0, true);
  CHECK((*bsp.msr_read(apic::IA32_APIC_BASE) >> 8 & 1) == 1);
}

TEST_CASE("lapic: software-disabled APIC latches IRR but delivers nothing until SVR enable (SDM §11.4.7.2)") {
  LocalApic a(0, true);
  CHECK(a.accept(fixed(0, 0x41)));
  CHECK(a.irr(0x41));
  CHECK_FALSE(a.deliverable());
  enable(a);
  CHECK(a.deliverable() == 0x41);
}

TEST_CASE("lapic: acknowledge moves the highest IRR vector to ISR; EOI clears the highest ISR bit (SDM §11.8.4-5)") {
  LocalApic a(0, true);
  enable(a);
  a.accept(fixed(0, 0x41));
  a.accept(fixed(0, 0x61));
  CHECK(a.acknowledge() == 0x61);
  CHECK(a.isr(0x61));
  CHECK_FALSE(a.irr(0x61));
  CHECK(a.ppr() == 0x60);
  // 0x41 is in a lower priority class than the in-service 0x61: held.
  CHECK_FALSE(a.deliverable());
  CHECK(a.mmio_read(apic::ISR0 + 0x30, 4) == (1u << (0x61 - 0x60)));
  a.mmio_write(apic::EOI, 4, 0);
  CHECK_FALSE(a.isr(0x61));
  CHECK(a.deliverable() == 0x41);
}

TEST_CASE("lapic: PPR is TPR when TPR's class is at least ISRV's; a vector must beat PPR's class (SDM §11.8.3.1)") {
  LocalApic a(0, true);
  enable(a);
  a.mmio_write(apic::TPR, 4, 0x45);
  CHECK(a.mmio_read(apic::PPR, 4) == 0x45u);
  a.accept(fixed(0, 0x4F));
  CHECK_FALSE(a.deliverable());  // same class as TPR: blocked
  a.accept(fixed(0, 0x50));
  CHECK(a.deliverable() == 0x50);
  a.mmio_write(apic::TPR, 4, 0);
  CHECK(a.deliverable() == 0x50);
}

TEST_CASE("lapic: a level-triggered request sets TMR, which outlives the EOI and is broadcast with it; an edge acceptance clears it (SDM §11.8.4, §11.8.5)") {
  LocalApic a(0, true);
  enable(a);
  std::vector<uint8_t> broadcast;
  a.set_eoi_broadcast([&](uint8_t v) { broadcast.push_back(v); });
  ApicDelivery d = fixed(0, 0x70);
  d.level = true;
  a.accept(d);
  CHECK(a.tmr(0x70));
  CHECK(a.acknowledge() == 0x70);
  a.mmio_write(apic::EOI, 4, 0);
  CHECK(broadcast == std::vector<uint8_t>{0x70});
  CHECK(a.tmr(0x70));  // set or cleared only on acceptance
  a.accept(fixed(0, 0x70));
  CHECK_FALSE(a.tmr(0x70));
  CHECK(a.acknowledge() == 0x70);
  a.mmio_write(apic::EOI, 4, 0);
  CHECK(broadcast.size() == 1);  // an edge EOI goes nowhere
}

TEST_CASE("lapic: vector below 16 is dropped with ESR Receive Illegal Vector, visible after an ESR write (SDM §11.5.3)") {
  LocalApic a(0, true);
  enable(a);
  CHECK_FALSE(a.accept(fixed(0, 0x0E)));
  CHECK_FALSE(a.irr(0x0E));
  CHECK(a.mmio_read(apic::ESR, 4) == 0u);  // not latched yet
  a.mmio_write(apic::ESR, 4, 0);
  CHECK(a.mmio_read(apic::ESR, 4) == apic::ESR_RECV_ILLEGAL_VECTOR);
}

TEST_CASE("lapic: x2APIC MSRs #GP in xAPIC mode; EXTD switches to x2APIC with 32-bit ID and derived LDR (SDM §11.12)") {
  LocalApic a(0x13, false);
  CHECK_FALSE(a.msr_read(0x802).has_value());
  CHECK_FALSE(a.msr_write(0x808, 0));
  const uint64_t base = *a.msr_read(apic::IA32_APIC_BASE);
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, base | (1u << 10)));
  CHECK(a.mode() == ApicMode::X2Apic);
  CHECK(*a.msr_read(0x802) == 0x13u);
  CHECK(*a.msr_read(0x80D) == ((1u << 16) | (1u << 3)));  // cluster 1, bit 3
  CHECK_FALSE(a.msr_write(0x802, 5));   // ID read-only
  CHECK_FALSE(a.msr_read(0x80E));       // DFR absent
  CHECK_FALSE(a.msr_write(0x80B, 1));   // non-zero EOI
  CHECK(a.mmio_read(apic::ID, 4) == 0xFFFF'FFFFu);  // MMIO page not decoded: all ones (§11.12.2)
  // x2APIC -> xAPIC directly is illegal; via disabled it is allowed.
  CHECK_FALSE(a.msr_write(apic::IA32_APIC_BASE, base));
  CHECK(a.msr_write(apic::IA32_APIC_BASE, base & ~uint64_t(3u << 10)));
  CHECK(a.mode() == ApicMode::Disabled);
  CHECK_FALSE(a.msr_write(apic::IA32_APIC_BASE, base | (1u << 10)));  // disabled -> x2APIC
  CHECK(a.msr_write(apic::IA32_APIC_BASE, base));
  CHECK(a.mode() == ApicMode::XApic);
  CHECK_FALSE(a.msr_write(apic::IA32_APIC_BASE, base | 1));  // reserved bit
}

TEST_CASE("lapic: a globally disabled APIC accepts no interrupt (SDM §11.4.3)") {
  LocalApic a(0, true);
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, apic::kDefaultBase));
  CHECK_FALSE(a.accept(fixed(0, 0x41)));
}

TEST_CASE("apicbus: physical destination reaches one APIC, 0xFF broadcasts; unmatched is dropped and traced") {
  LapicBus bus(4);
  RecordingSink rec;
  bus.attach(&rec);
  CHECK(bus.route(fixed(2, 0x41)) == std::vector<unsigned>{2});
  CHECK(bus.apic(2).irr(0x41));
  CHECK_FALSE(bus.apic(1).irr(0x41));
  CHECK(bus.route(fixed(0xFF, 0x42)).size() == 4);
  CHECK(bus.route(fixed(9, 0x43)).empty());
  CHECK(rec.contains(EventKind::Fault, "no APIC matches"));
}

TEST_CASE("apicbus: logical flat and cluster destinations match LDR/DFR (SDM §11.6.2.2)") {
  LapicBus bus(4);
  for (unsigned c = 0; c < 4; ++c) bus.apic(c).mmio_write(apic::LDR, 4, (1u << c) << 24);
  CHECK(bus.route(fixed(0x0A, 0x41, true)) == std::vector<unsigned>{1, 3});
  // Cluster model: cluster 1 with member bits 0 and 1.
  for (unsigned c = 0; c < 4; ++c) {
    bus.apic(c).mmio_write(apic::DFR, 4, 0x0FFF'FFFF);
    bus.apic(c).mmio_write(apic::LDR, 4, ((c < 2 ? 0x10u : 0x20u) | (1u << (c % 2))) << 24);
  }
  CHECK(bus.route(fixed(0x12, 0x44, true)) == std::vector<unsigned>{1});
  CHECK(bus.route(fixed(0x23, 0x45, true)) == std::vector<unsigned>{2, 3});
}

TEST_CASE("apicbus: lowest priority and logical RH=1 pick one APIC, the lowest TPR (SDM §11.6.2.4, VT-d §5.1.4.1)") {
  LapicBus bus(3);
  for (unsigned c = 0; c < 3; ++c) bus.apic(c).mmio_write(apic::LDR, 4, (1u << c) << 24);
  bus.apic(0).mmio_write(apic::TPR, 4, 0x20);
  ApicDelivery lp = fixed(0x07, 0x51, true);
  lp.delivery_mode = 1;
  CHECK(bus.route(lp) == std::vector<unsigned>{1});
  ApicDelivery rh = fixed(0x05, 0x52, true);
  rh.redirection_hint = true;
  CHECK(bus.route(rh) == std::vector<unsigned>{2});
}

TEST_CASE("apicbus: ICR write sends a fixed IPI; shorthands self / all-excluding-self; x2APIC ICR MSR (SDM §11.6.1)") {
  LapicBus bus(3);
  for (unsigned c = 0; c < 3; ++c) enable(bus.apic(c));
  LocalApic& a0 = bus.apic(0);
  a0.mmio_write(apic::ICR_HI, 4, 2u << 24);
  a0.mmio_write(apic::ICR_LO, 4, 0x0000'00F0);
  CHECK(bus.apic(2).deliverable() == 0xF0);
  CHECK(a0.mmio_read(apic::ICR_LO, 4) == 0xF0u);  // Delivery Status idle
  a0.mmio_write(apic::ICR_LO, 4, 0x000C'00E0);    // all excluding self
  CHECK(bus.apic(1).irr(0xE0));
  CHECK(bus.apic(2).irr(0xE0));
  CHECK_FALSE(a0.irr(0xE0));
  a0.mmio_write(apic::ICR_LO, 4, 0x0004'00D0);  // self
  CHECK(a0.irr(0xD0));
  a0.mmio_write(apic::ICR_LO, 4, 0x05);  // illegal vector: not sent
  a0.mmio_write(apic::ESR, 4, 0);
  CHECK(a0.esr() == apic::ESR_SEND_ILLEGAL_VECTOR);
  LocalApic& a1 = bus.apic(1);
  REQUIRE(a1.msr_write(apic::IA32_APIC_BASE, *a1.msr_read(apic::IA32_APIC_BASE) | (1u << 10)));
  REQUIRE(a1.msr_write(apic::X2APIC_ICR, (uint64_t{2} << 32) | 0x000'00C5));
  CHECK(bus.apic(2).irr(0xC5));
  REQUIRE(a1.msr_write(0x83F, 0xB7));  // SELF IPI
  CHECK(a1.irr(0xB7));
}

TEST_CASE("apic: x2APIC SELF IPI with any of bits 31:8 set is refused (#GP) and sends nothing (SDM vol. 3A §11.12.11)") {
  LapicBus bus(1);
  LocalApic& a = bus.apic(0);
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, *a.msr_read(apic::IA32_APIC_BASE) | (1u << 10)));
  for (uint64_t v : {0x1A6ull, 0xFFA6ull, 0xFF00'00A6ull}) {
    CAPTURE(v);
    CHECK_FALSE(a.msr_write(0x83F, v));
    CHECK_FALSE(a.irr(0xA6));
  }
  CHECK(a.msr_write(0x83F, 0xA6));
  CHECK(a.irr(0xA6));
}

TEST_CASE("apicbus: NMI, INIT and Start Up IPIs latch for the vCPU glue") {
  LapicBus bus(2);
  LocalApic& a0 = bus.apic(0);
  a0.mmio_write(apic::ICR_HI, 4, 1u << 24);
  a0.mmio_write(apic::ICR_LO, 4, 0x0000'0400);  // NMI
  a0.mmio_write(apic::ICR_LO, 4, 0x0000'4500);  // INIT assert
  a0.mmio_write(apic::ICR_LO, 4, 0x0000'8500);  // INIT level de-assert: no effect
  a0.mmio_write(apic::ICR_LO, 4, 0x0000'0608);  // SIPI page 8
  LocalApic& a1 = bus.apic(1);
  CHECK(a1.wake_pending());
  CHECK(a1.take_nmi());
  CHECK_FALSE(a1.take_nmi());
  CHECK(a1.take_init());
  CHECK_FALSE(a1.take_init());
  CHECK(a1.take_startup() == 0x08);
}

namespace {
ApicDelivery ipi_mode(uint8_t dlm, uint8_t vector = 0, bool level_assert = true) {
  ApicDelivery d;
  d.delivery_mode = dlm;  // 5 INIT, 6 Start Up (SDM §11.6.1 Table 11-4)
  d.vector = vector;
  d.level = level_assert;
  return d;
}
}  // namespace

TEST_CASE("lapic INIT/SIPI: INIT latches and resets; a Start Up after it is kept with its vector (SDM §8.4.4, §11.4.7.3)") {
  LocalApic a(1, false);
  enable(a);
  a.mmio_write(apic::TPR, 4, 0x20);
  CHECK(a.accept(ipi_mode(5)));
  CHECK(a.init_pending());
  CHECK(a.wake_pending());  // an INIT wakes a halted CPU
  CHECK(a.take_init());
  CHECK_FALSE(a.init_pending());
  a.init_reset();
  // Power-up values except the APIC ID: TPR 0, software-disabled (SVR FFh).
  CHECK(a.tpr() == 0);
  CHECK(a.mmio_read(apic::SVR, 4) == 0xFFu);
  CHECK(a.mmio_read(apic::ID, 4) == 0x0100'0000u);
  // A Start Up IPI carries the trampoline page: vector 0x9a -> CS = 0x9a00, IP = 0.
  CHECK(a.accept(ipi_mode(6, 0x9a)));
  CHECK(a.startup_pending());
  CHECK(a.take_startup() == 0x9a);
  CHECK_FALSE(a.take_startup());  // consumed once
}

TEST_CASE("lapic INIT/SIPI: an INIT overtakes a Start Up that came before it (the AP must see INIT first)") {
  LocalApic a(2, false);
  CHECK(a.accept(ipi_mode(6, 0x10)));
  CHECK(a.accept(ipi_mode(5)));
  CHECK(a.init_pending());
  CHECK_FALSE(a.startup_pending());
  // A Start Up accepted after the INIT survives the INIT reset the glue performs.
  CHECK(a.accept(ipi_mode(6, 0x11)));
  CHECK(a.take_init());
  a.init_reset();
  CHECK(a.take_startup() == 0x11);
}

TEST_CASE("lapic: CR8 is TPR[7:4]: a write clears TPR[3:0], a read gives TPR[7:4], in every APIC mode (SDM vol. 3A §11.8.6.1)") {
  LocalApic a(0, true);
  a.mmio_write(apic::TPR, 4, 0x5A);
  CHECK(a.cr8() == 5);
  a.write_cr8(0xC);
  CHECK(a.tpr() == 0xC0);
  CHECK(a.mmio_read(apic::TPR, 4) == 0xC0u);
  // Hardware-disabled: the register was reset, CR8 still reads back what is written.
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, apic::kDefaultBase));
  CHECK(a.cr8() == 0);
  a.write_cr8(0xF);
  CHECK(a.cr8() == 0xF);
}

TEST_CASE("lapic window: the xAPIC page decodes only at the APIC's base in xAPIC mode; elsewhere reads are all ones and writes go nowhere (SDM vol. 3A §11.4.3, §11.4.4, §11.12.2)") {
  LocalApic a(0, true);
  LapicWindow at_default(a, apic::kDefaultBase), moved(a, 0xFED4'0000);
  CHECK(at_default.mmio_read(apic::VERSION, 4) == (0x14u | (6u << 16)));
  CHECK(moved.mmio_read(apic::VERSION, 4) == 0xFFFF'FFFFu);
  const uint64_t en_bsp = (1u << 11) | (1u << 8);
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, 0xFED4'0000 | en_bsp));
  CHECK(a.base_address() == 0xFED4'0000);
  CHECK(moved.mmio_read(apic::VERSION, 4) == (0x14u | (6u << 16)));
  CHECK(at_default.mmio_read(apic::VERSION, 4) == 0xFFFF'FFFFu);
  at_default.mmio_write(apic::TPR, 4, 0x30);  // not decoded: dropped
  CHECK(a.tpr() == 0);
  // x2APIC mode: no window decodes (2-byte reads: all ones of that width).
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, 0xFED4'0000 | en_bsp | (1u << 10)));
  CHECK(moved.mmio_read(apic::VERSION, 2) == 0xFFFFu);
}

TEST_CASE("lapic: IA32_APIC_BASE bits from MAXPHYADDR up are reserved, and EXTD is without x2APIC in CPUID (SDM vol. 3A §11.4.4, §11.12.1)") {
  LocalApic a(0, true);
  a.set_max_phys_bits(40);
  const uint64_t base = *a.msr_read(apic::IA32_APIC_BASE);
  CHECK_FALSE(a.msr_write(apic::IA32_APIC_BASE, base | (uint64_t{1} << 40)));
  CHECK(a.msr_write(apic::IA32_APIC_BASE, base | (uint64_t{1} << 39)));
  REQUIRE(a.msr_write(apic::IA32_APIC_BASE, base));
  a.set_x2apic_supported(false);
  CHECK_FALSE(a.msr_write(apic::IA32_APIC_BASE, base | (1u << 10)));
  CHECK(a.mode() == ApicMode::XApic);
}

TEST_CASE("lapic: a TSC deadline already passed raises its vector at the write, and the MSR reads 0 again (SDM vol. 3A §11.5.4.1)") {
  LocalApic a(0, true);
  uint64_t now = 1000;
  a.set_clock([&] { return now; });
  a.mmio_write(apic::SVR, 4, 0x1FF);
  a.mmio_write(apic::LVT_TIMER, 4, (2u << 17) | 0xEF);  // TSC-deadline mode, vector 0xEF
  a.write_tsc_deadline(900, now);
  CHECK(a.irr(0xEF));
  CHECK(a.tsc_deadline() == 0);
}
