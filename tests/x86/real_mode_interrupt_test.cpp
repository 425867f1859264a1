// Real-address-mode interrupt delivery (arch/x86/real_mode_interrupt.h): the IVT entry,
// the 6-byte frame and the flags the processor clears (Intel SDM vol. 3A §20.1.4).
#include <doctest/doctest.h>

#include "arch/x86/interrupt_entry.h"
#include "arch/x86/real_mode_interrupt.h"
#include "remap/guest_memory.h"

using namespace irqremap;
using namespace irqremap::x86;

TEST_CASE("real mode: INT n pushes FLAGS, CS, IP on SS:SP, clears IF, TF, AC and RF, and continues at the IVT entry's segment:offset (SDM vol. 3A §20.1.4)") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  REQUIRE(mem.write32(0x11 * 4, 0x0000'1000).has_value());  // vector 0x11 -> 0000:1000
  RealModeRegs r;
  r.ip = 0x8282;
  r.cs = 0;
  r.ss = 0x0100;
  r.ss_base = 0x1000;
  r.sp = 0x0010;
  r.flags = 0x0004'0302 | uint32_t(kRflagsRF);  // AC, IF, TF, RF set
  r.idtr_limit = 0x3FF;
  REQUIRE(enter_real_mode_interrupt(r, mem, 0x11).has_value());
  CHECK(r.cs == 0);
  CHECK(r.ip == 0x1000);
  CHECK(r.sp == 0x000A);
  CHECK(*mem.read16(0x1000 + 0x0E) == 0x0302);  // FLAGS (low 16 bits, as pushed)
  CHECK(*mem.read16(0x1000 + 0x0C) == 0x0000);  // CS
  CHECK(*mem.read16(0x1000 + 0x0A) == 0x8282);  // IP
  CHECK(r.flags == 0x0002);                     // IF, TF, AC, RF cleared
}

TEST_CASE("real mode: SP wraps within the 64 KiB stack segment; an IVT entry past IDTR.limit is refused (#GP, §20.1.4)") {
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  REQUIRE(mem.write32(0x20 * 4, 0x1234'0010).has_value());
  RealModeRegs r;
  r.ss_base = 0x2'0000;
  r.sp = 0x0002;
  r.flags = 0x0202;
  r.idtr_limit = 0x3FF;
  REQUIRE(enter_real_mode_interrupt(r, mem, 0x20).has_value());
  CHECK(r.sp == 0xFFFC);
  CHECK(*mem.read16(0x2'0000) == 0x0202);   // FLAGS at SP 0
  CHECK(*mem.read16(0x2'FFFE) == 0x0000);   // CS, wrapped to the top of the segment
  CHECK(r.cs == 0x1234);
  CHECK(r.ip == 0x0010);
  RealModeRegs small;
  small.idtr_limit = 4 * 0x20 - 1;  // vector 0x20 lies past it
  const auto refused = enter_real_mode_interrupt(small, mem, 0x20);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().find("past IDTR.limit") != std::string::npos);
}
