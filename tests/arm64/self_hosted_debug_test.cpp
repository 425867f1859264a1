// The breakpoint and watchpoint registers the machine keeps instead of Unicorn
// (arch/arm64/self_hosted_debug.h; Arm ARM D2 self-hosted debug, D13.3 the DBG* registers):
// which encodings exist, the writable bits, and when an address-match breakpoint fires.
#include <doctest/doctest.h>

#include "arch/arm64/self_hosted_debug.h"

using namespace irqremap::arm64;

namespace {
constexpr uint32_t bvr(unsigned n) { return sysreg(2, 0, 0, n, 4); }
constexpr uint32_t bcr(unsigned n) { return sysreg(2, 0, 0, n, 5); }
constexpr uint32_t wvr(unsigned n) { return sysreg(2, 0, 0, n, 6); }
constexpr uint32_t wcr(unsigned n) { return sysreg(2, 0, 0, n, 7); }
constexpr uint64_t kMde = 1u << 15, kKde = 1u << 13;
constexpr uint64_t kBcrEl1 = 0x1E3;  // E, PMC 0b01, BAS 0b1111
}  // namespace

TEST_CASE("self-hosted debug: Cortex-A57's six breakpoints and four watchpoints, the rest UNDEFINED") {
  CHECK(SelfHostedDebug::handles(bvr(0)));
  CHECK(SelfHostedDebug::handles(bcr(5)));
  CHECK_FALSE(SelfHostedDebug::handles(bcr(6)));  // BRPs = 5: registers 0..5
  CHECK(SelfHostedDebug::handles(wcr(3)));
  CHECK_FALSE(SelfHostedDebug::handles(wvr(4)));  // WRPs = 3
  CHECK_FALSE(SelfHostedDebug::handles(sysreg(2, 0, 0, 2, 2)));  // MDSCR_EL1 is Unicorn's
  CHECK(SelfHostedDebug::name(bcr(14 % 6)) == "DBGBCR2_EL1");
}

TEST_CASE("self-hosted debug: RES0 bits of DBGBCR read as zero; DBGBVR keeps VA[48:2] sign-extended from bit 48") {
  SelfHostedDebug d;
  d.write(bcr(0), ~uint64_t{0});
  CHECK(d.read(bcr(0)) == 0x00FF'E1E7);  // BT, LBN, SSC, HMC, BAS[3:0], PMC, E
  d.write(bvr(1), 0x0001'8000'1234'5677);
  CHECK(d.read(bvr(1)) == 0xFFFF'8000'1234'5674);
  d.write(bvr(1), 0xFFFE'0000'0000'1000);  // bits 63:49 are RESS: bit 48 (clear) decides
  CHECK(d.read(bvr(1)) == 0x1000);
}

TEST_CASE("self-hosted debug: a breakpoint fires only with MDE, at the ELs PMC names, from EL1 only with KDE and PSTATE.D clear (Arm ARM D2.1)") {
  SelfHostedDebug d;
  CHECK_FALSE(d.write(bvr(2), 0x4008'0100));  // not enabled yet: no address changes
  CHECK(d.write(bcr(2), kBcrEl1));
  REQUIRE(d.breakpoint_addresses() == std::vector<uint64_t>{0x4008'0100});
  CHECK(d.breakpoint_hit(0x4008'0100, 1, kMde | kKde, false) == 2u);
  CHECK_FALSE(d.breakpoint_hit(0x4008'0104, 1, kMde | kKde, false));
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, kKde, false));         // MDE clear
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, kMde, false));         // KDE clear
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, kMde | kKde, true));   // PSTATE.D set
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 0, kMde, false));         // PMC 0b01: EL1 only
  d.write(bcr(2), kBcrEl1 | 0x6);                                     // PMC 0b11: EL0 too
  CHECK(d.breakpoint_hit(0x4008'0100, 0, kMde, true) == 2u);          // from EL0 D does not mask
  // BAS other than 0b1111 (an A32 half) and context-matching types are not address matches.
  d.write(bcr(2), (kBcrEl1 & ~0x1E0ull) | (0x3 << 5));
  CHECK(d.breakpoint_addresses().empty());
  d.write(bcr(2), kBcrEl1 | (0x2u << 20));
  CHECK_FALSE(d.breakpoint_hit(0x4008'0100, 1, kMde | kKde, false));
  CHECK(d.write(bcr(2), kBcrEl1));  // an address match again
  CHECK(d.write(bcr(2), 0));        // and disabled
  CHECK(d.breakpoint_addresses().empty());
}

namespace {
// DBGWCR<n>_EL1: E, PAC (2:1), LSC (4:3), BAS (12:5), MASK (28:24).
constexpr uint64_t watch(unsigned pac, unsigned lsc, unsigned bas, unsigned mask = 0) {
  return 1 | (uint64_t(pac) << 1) | (uint64_t(lsc) << 3) | (uint64_t(bas) << 5) | (uint64_t(mask) << 24);
}
constexpr unsigned kLoad = 1, kStore = 2, kBoth = 3, kPacEl1 = 1, kPacEl0 = 2;
}  // namespace

TEST_CASE("watchpoints: BAS selects bytes of the doubleword at DBGWVR; an access touching one fires, with FAR = its first watched byte (Arm ARM D2.10)") {
  SelfHostedDebug d;
  d.write(wvr(0), 0x4000'1000);
  d.write(wcr(0), watch(kPacEl1, kBoth, 0x0C));  // bytes 2 and 3
  CHECK(d.any_watchpoint());
  const uint64_t mdscr = kMde | kKde;
  CHECK_FALSE(d.watchpoint_hit(0x4000'1000, 2, false, 1, mdscr, false));  // bytes 0-1
  auto h = d.watchpoint_hit(0x4000'1000, 4, false, 1, mdscr, false);     // bytes 0-3
  REQUIRE(h);
  CHECK(h->n == 0);
  CHECK(h->far == 0x4000'1002);
  h = d.watchpoint_hit(0x4000'1003, 1, true, 1, mdscr, false);
  REQUIRE(h);
  CHECK(h->far == 0x4000'1003);
  CHECK_FALSE(d.watchpoint_hit(0x4000'1004, 4, true, 1, mdscr, false));
  CHECK(d.watchpoint_hit(0x4000'0FF8, 16, true, 1, mdscr, false));  // a 16-byte pair access spans it
  // DBGWVR[2] = 1: BAS[3:0] selects bytes of the word at DBGWVR.
  d.write(wvr(1), 0x4000'2004);
  d.write(wcr(1), watch(kPacEl1, kBoth, 0x1));
  CHECK(d.watchpoint_hit(0x4000'2004, 1, false, 1, mdscr, false)->n == 1);
  CHECK_FALSE(d.watchpoint_hit(0x4000'2000, 4, false, 1, mdscr, false));
}

TEST_CASE("watchpoints: LSC tells loads from stores, PAC names the EL, MDE/KDE/PSTATE.D enable them, MASK watches an aligned block") {
  SelfHostedDebug d;
  d.write(wvr(2), 0x8000);
  d.write(wcr(2), watch(kPacEl1, kStore, 0xFF));
  const uint64_t mdscr = kMde | kKde;
  CHECK_FALSE(d.watchpoint_hit(0x8000, 8, false, 1, mdscr, false));  // a load: LSC is stores only
  CHECK(d.watchpoint_hit(0x8000, 8, true, 1, mdscr, false));
  CHECK_FALSE(d.watchpoint_hit(0x8000, 8, true, 0, mdscr, false));   // PAC: EL1 only
  CHECK_FALSE(d.watchpoint_hit(0x8000, 8, true, 1, kMde, false));    // no KDE
  CHECK_FALSE(d.watchpoint_hit(0x8000, 8, true, 1, mdscr, true));    // PSTATE.D
  CHECK_FALSE(d.watchpoint_hit(0x8000, 8, true, 1, kKde, false));    // no MDE
  d.write(wcr(2), watch(kPacEl0, kLoad, 0xFF));
  CHECK(d.watchpoint_hit(0x8004, 4, false, 0, kMde, true));  // EL0: KDE and D do not matter
  d.write(wcr(2), watch(kPacEl1 | kPacEl0, kBoth, 0xFF, 12));  // 4 KiB block
  CHECK(d.watchpoint_hit(0x8FFC, 4, true, 1, mdscr, false)->far == 0x8FFC);
  CHECK_FALSE(d.watchpoint_hit(0x9000, 4, true, 1, mdscr, false));
  d.write(wcr(2), 0);
  CHECK_FALSE(d.any_watchpoint());
}
