// Interrupt delivery in IA-32e mode as pure logic over guest memory (interrupt_entry.h):
// the gate and code-segment checks with their error codes, privilege changes through the
// 64-bit TSS, IST stacks and the frame (Intel SDM vol. 3A §6.12.1, §6.13, §6.14, §8.7).
#include <doctest/doctest.h>

#include "arch/x86/idt_gate.h"
#include "arch/x86/interrupt_entry.h"
#include "arch/x86/segment_descriptor.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kIdt = 0x3000, kGdt = 0x4000, kTss = 0x5000, kHandler = 0x2000;
// Flat 64-bit segments: 0x08 kernel code, 0x10 kernel data, 0x18 user data (DPL 3),
// 0x20 user code (DPL 3), 0x28 a data segment, 0x30 a not-present kernel code segment,
// 0x38 a 32-bit kernel code segment.
constexpr uint64_t kDescriptors[] = {0,
                                     0x00AF9A000000FFFF,
                                     0x00CF92000000FFFF,
                                     0x00CFF2000000FFFF,
                                     0x00AFFA000000FFFF,
                                     0x00CF92000000FFFF,
                                     0x00AF1A000000FFFF,
                                     0x00CF9A000000FFFF};

struct Guest {
  GuestMemory mem;
  CpuFrameRegs user;  // CPL 3 in the user code segment
  Guest() {
    REQUIRE(mem.add_ram(0, 0x20000, "ram"));
    for (size_t i = 0; i < std::size(kDescriptors); ++i) REQUIRE(mem.write64(kGdt + 8 * i, kDescriptors[i]));
    REQUIRE(mem.write64(kTss + seg::tss_rsp_offset(0), 0xA000));
    REQUIRE(mem.write64(kTss + seg::tss_ist_offset(2), 0xC008));
    user.rip = 0x1234;
    user.rsp = 0x7FF8;
    user.rflags = 0x202 | kRflagsTF;
    user.cs = 0x23;
    user.ss = 0x1B;
    user.cpl = 3;
    user.idtr = {kIdt, 256 * 16 - 1};
    user.gdtr = {kGdt, uint32_t(sizeof kDescriptors - 1)};
    user.tr = {kTss, 0x67};
    user.tr_selector = 0x40;
  }
  void gate(uint8_t vector, uint8_t dpl = 0, uint8_t type = idt::kInterruptGate, uint16_t sel = 0x08, uint8_t ist = 0,
            bool present = true, uint64_t handler = kHandler) {
    const auto w = idt::encode({handler, sel, ist, type, dpl, present});
    REQUIRE(mem.write64(kIdt + 16u * vector, w[0]));
    REQUIRE(mem.write64(kIdt + 16u * vector + 8, w[1]));
  }
  CpuFrameRegs kernel() const {
    CpuFrameRegs k = user;
    k.cs = 0x08;
    k.ss = 0x10;
    k.cpl = 0;
    return k;
  }
};

void check_fault(const std::expected<InterruptEntry, DeliveryFault>& e, uint8_t vector, uint32_t code) {
  REQUIRE_FALSE(e);
  REQUIRE(e.error().vector.has_value());
  CHECK(*e.error().vector == vector);
  CHECK(e.error().error_code == code);
}

}  // namespace

TEST_CASE("interrupt entry: CPL 3 -> 0 switches to TSS.RSP0, SS = null with RPL 0, and pushes the user SS:RSP (SDM §6.14.2, §6.14.4)") {
  Guest g;
  g.gate(0x20, 3);
  CpuFrameRegs r = g.user;
  auto e = enter_interrupt(r, g.mem, {0x20, std::nullopt, true});
  REQUIRE(e);
  CHECK(e->stack_switched);
  REQUIRE(e->cs_descriptor);
  CHECK(*e->cs_descriptor == kDescriptors[1]);
  CHECK(r.rip == kHandler);
  CHECK(r.cs == 0x08);
  CHECK(r.cpl == 0);
  CHECK(r.ss == 0);
  CHECK(r.rsp == 0xA000 - 40);
  CHECK((r.rflags & (kRflagsIF | kRflagsTF)) == 0);  // interrupt gate: IF and TF cleared
  CHECK(*g.mem.read64(r.rsp) == 0x1234);              // RIP
  CHECK(*g.mem.read64(r.rsp + 8) == 0x23);            // CS
  CHECK(*g.mem.read64(r.rsp + 16) == (0x202 | kRflagsTF));
  CHECK(*g.mem.read64(r.rsp + 24) == 0x7FF8);  // RSP
  CHECK(*g.mem.read64(r.rsp + 32) == 0x1B);    // SS
}

TEST_CASE("interrupt entry: same privilege pushes on the current stack aligned to 16; a trap gate keeps IF (SDM §6.14.2)") {
  Guest g;
  g.gate(0x41, 0, idt::kTrapGate);
  CpuFrameRegs r = g.kernel();
  auto e = enter_interrupt(r, g.mem, {0x41, std::nullopt, false});
  REQUIRE(e);
  CHECK_FALSE(e->stack_switched);
  CHECK(r.ss == 0x10);
  CHECK(r.rsp == 0x7FF0 - 40);
  CHECK((r.rflags & kRflagsIF) != 0);
  CHECK(*g.mem.read64(r.rsp + 32) == 0x10);
}

TEST_CASE("interrupt entry: the RFLAGS image has RF = 1 for a fault, 0 for INT n, and RF as it is for an interrupt (SDM vol. 3A §18.3.1.1)") {
  Guest g;
  g.gate(0x0D);
  g.gate(0x21, 0);
  struct Case {
    InterruptEvent ev;
    uint64_t rf_before;
    uint64_t rf_pushed;
  };
  const Case cases[] = {
      {{0x0D, 0, false, true}, 0, kRflagsRF},            // #GP: a fault
      {{0x21, std::nullopt, true, false}, kRflagsRF, 0},  // INT 0x21 right after an IRETQ that set RF
      {{0x21, std::nullopt, false, false}, kRflagsRF, kRflagsRF},  // an interrupt there keeps it
      {{0x21, std::nullopt, false, false}, 0, 0},
  };
  for (const Case& c : cases) {
    CpuFrameRegs r = g.kernel();
    r.rflags = 0x202 | c.rf_before;
    auto e = enter_interrupt(r, g.mem, c.ev);
    REQUIRE(e);
    const uint64_t rflags_at = r.rsp + (c.ev.error_code ? 24 : 16);
    CHECK((*g.mem.read64(rflags_at) & kRflagsRF) == c.rf_pushed);
    CHECK((r.rflags & kRflagsRF) == 0);  // the handler runs with RF clear
  }
}

TEST_CASE("interrupt entry: a gate's IST switches the stack at any privilege, error code pushed last (SDM §6.14.5)") {
  Guest g;
  g.gate(13, 0, idt::kInterruptGate, 0x08, 2);
  CpuFrameRegs r = g.kernel();
  auto e = enter_interrupt(r, g.mem, {13, 0x18, false});
  REQUIRE(e);
  CHECK(r.rsp == 0xC000 - 48);  // IST2 0xC008 aligned down to 16
  CHECK(*g.mem.read64(r.rsp) == 0x18);
  CHECK(*g.mem.read64(r.rsp + 8) == 0x1234);
  r = g.user;
  REQUIRE(enter_interrupt(r, g.mem, {13, 0, false}));
  CHECK(r.rsp == 0xC000 - 48);  // IST wins over RSP0 on a privilege change too
  CHECK(r.ss == 0);
}

TEST_CASE("interrupt entry: INT n at CPL 3 through a DPL 0 gate is #GP(vector*8+2), an exception through it is not (SDM §6.12.1.1)") {
  Guest g;
  g.gate(0x30, 0);
  CpuFrameRegs r = g.user;
  check_fault(enter_interrupt(r, g.mem, {0x30, std::nullopt, true}), 13, 0x30 * 8 + 2);
  CHECK(r.rip == 0x1234);  // nothing changed
  CHECK(r.cpl == 3);
  REQUIRE(enter_interrupt(r, g.mem, {0x30, std::nullopt, false}));  // hardware: no DPL check
  CHECK(r.cpl == 0);
}

TEST_CASE("interrupt entry: a not-present gate is #NP with the IDT error code, EXT set for an external event (SDM §6.13)") {
  Guest g;
  g.gate(0x41, 3, idt::kInterruptGate, 0x08, 0, false);
  CpuFrameRegs r = g.user;
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 11, 0x41 * 8 + 2 + 1);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, true}), 11, 0x41 * 8 + 2);
}

TEST_CASE("interrupt entry: beyond IDTR.limit, or a gate of another type, is #GP(vector*8+2+EXT) (SDM §6.14.1)") {
  Guest g;
  CpuFrameRegs r = g.kernel();
  r.idtr.limit = 0x40F;
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 0x41 * 8 + 3);
  r = g.kernel();
  g.gate(0x41, 0, 0xC);  // a call gate
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 0x41 * 8 + 3);
}

TEST_CASE("interrupt entry: the gate's code segment is checked: null, beyond the GDT, data, not present, not 64-bit (SDM §6.12.1.1, §6.14.1)") {
  Guest g;
  CpuFrameRegs r = g.kernel();
  g.gate(0x41, 0, idt::kInterruptGate, 0x00);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 1);  // #GP(EXT)
  g.gate(0x41, 0, idt::kInterruptGate, 0x80);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 0x80 | 1);
  g.gate(0x41, 0, idt::kInterruptGate, 0x28);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 0x28 | 1);
  g.gate(0x41, 0, idt::kInterruptGate, 0x30);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 11, 0x30 | 1);
  g.gate(0x41, 0, idt::kInterruptGate, 0x38);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 0x38 | 1);
  // A kernel handler may not be entered from CPL 0 through a user code segment (DPL 3 > CPL 0).
  g.gate(0x41, 0, idt::kInterruptGate, 0x20);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 0x20 | 1);
  g.gate(0x41, 0, idt::kInterruptGate, 0x08, 0, true, 0x0000'8000'0000'0000);
  check_fault(enter_interrupt(r, g.mem, {0x41, std::nullopt, false}), 13, 1);  // non-canonical RIP
}

TEST_CASE("interrupt entry: a TSS too short for the stack pointer is #TS(TR selector + EXT); a non-canonical RSP0 is #SS(EXT) (SDM §6.14.4)") {
  Guest g;
  g.gate(0x20, 3);
  CpuFrameRegs r = g.user;
  r.tr.limit = 0x0A;  // RSP0 is bytes 4..11
  check_fault(enter_interrupt(r, g.mem, {0x20, std::nullopt, true}), 10, 0x40);
  check_fault(enter_interrupt(r, g.mem, {0x20, std::nullopt, false}), 10, 0x41);
  r = g.user;
  REQUIRE(g.mem.write64(kTss + seg::tss_rsp_offset(0), 0x0000'8000'0000'0000));
  check_fault(enter_interrupt(r, g.mem, {0x20, std::nullopt, false}), 12, 1);
}

TEST_CASE("interrupt entry: tables or a frame outside guest RAM are a delivery failure with no architected vector") {
  Guest g;
  g.gate(0x41);
  CpuFrameRegs r = g.kernel();
  r.rsp = 0x100'0000;
  auto e = enter_interrupt(r, g.mem, {0x41, std::nullopt, false});
  REQUIRE_FALSE(e);
  CHECK_FALSE(e.error().vector.has_value());
  CHECK(e.error().what.find("outside guest RAM") != std::string::npos);
  CHECK(r.rip == 0x1234);
  r = g.kernel();
  r.gdtr.base = 0xFFFF'F000;
  r.gdtr.limit = 0xFFFF;
  e = enter_interrupt(r, g.mem, {0x41, std::nullopt, false});
  REQUIRE_FALSE(e);
  CHECK_FALSE(e.error().vector.has_value());
}

TEST_CASE("interrupt entry: Unicorn's reset state (null CS, no GDT) keeps its flat CPL 0 segment for a null gate selector") {
  Guest g;
  g.gate(0x41, 0, idt::kInterruptGate, 0);
  CpuFrameRegs r = g.kernel();
  r.cs = 0;
  r.gdtr = {};
  auto e = enter_interrupt(r, g.mem, {0x41, std::nullopt, false});
  REQUIRE(e);
  CHECK_FALSE(e->cs_descriptor.has_value());
  CHECK(r.cs == 0);
  CHECK(r.rip == kHandler);
}

TEST_CASE("segment descriptor and 64-bit TSS tables: fields where SDM Figure 3-8 and Figure 8-11 put them") {
  const seg::Descriptor code{kDescriptors[1]};
  CHECK(code.code());
  CHECK(code.present());
  CHECK(code.long_mode());
  CHECK_FALSE(code.default_big());
  CHECK(code.dpl() == 0);
  CHECK(code.limit() == 0xFFFFFFFF);
  CHECK(seg::Descriptor{kDescriptors[3]}.dpl() == 3);
  CHECK_FALSE(seg::Descriptor{kDescriptors[2]}.code());
  CHECK(seg::tss_rsp_offset(1) == 0x0C);
  CHECK(seg::tss_ist_offset(3) == 0x34);
  CHECK(seg::canonical(0xFFFF'8000'0000'0000));
  CHECK_FALSE(seg::canonical(0x0000'8000'0000'0000));
}
