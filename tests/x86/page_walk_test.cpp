// Linear-to-physical translation and #PF error codes (Intel SDM vol. 3A §4.5, §4.6, §4.7),
// plain C++ over GuestMemory.
#include <doctest/doctest.h>

#include "arch/x86/exception_delivery.h"
#include "arch/x86/page_walk.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kPt = 0x4000;
constexpr uint64_t kP = 1, kRW = 2, kUS = 4, kPS = 0x80, kXD = 1ull << 63;

struct Tables {
  GuestMemory mem;
  PagingRegs regs{kCr0PE | kCr0PG | kCr0WP, kPml4, kCr4PAE, kEferLME | kEferLMA | kEferNXE};
  Tables() {
    REQUIRE(mem.add_ram(0, 0x10000, "ram"));
    REQUIRE(mem.write64(kPml4, kPdpt | kP | kRW | kUS));
    REQUIRE(mem.write64(kPdpt, kPd | kP | kRW | kUS));
    REQUIRE(mem.write64(kPd, kPt | kP | kRW | kUS));               // 0..2 MiB: 4 KiB pages
    REQUIRE(mem.write64(kPd + 8, 0x4000'0000 | kP | kRW | kPS));   // 2..4 MiB: one 2 MiB page, supervisor
    REQUIRE(mem.write64(kPt + 8 * 5, 0x9000 | kP | kUS));          // 0x5000: read-only, user
    REQUIRE(mem.write64(kPt + 8 * 6, 0xA000 | kP | kRW | kXD));    // 0x6000: no execute, supervisor
  }
};

}  // namespace

TEST_CASE("page walk: 4 KiB and 2 MiB pages translate with the page offset (§4.5)") {
  Tables t;
  auto a = translate(t.mem, t.regs, 0x5123, {Access::Read, false});
  REQUIRE(a);
  CHECK(a->pa == 0x9123);
  CHECK(a->page_size == 0x1000);
  auto b = translate(t.mem, t.regs, 0x20'1234, {Access::Write, false});
  REQUIRE(b);
  CHECK(b->pa == 0x4000'1234);
  CHECK(b->page_size == 0x20'0000);
}

TEST_CASE("page walk: paging off is linear = physical; 32-bit paging is reported as not modelled") {
  Tables t;
  t.regs.cr0 = kCr0PE;
  auto a = translate(t.mem, t.regs, 0x1234'5678, {Access::Write, false});
  REQUIRE(a);
  CHECK(a->pa == 0x1234'5678);
  t.regs = PagingRegs{kCr0PE | kCr0PG, kPml4, 0, 0};
  auto b = translate(t.mem, t.regs, 0x5000, {Access::Read, false});
  REQUIRE_FALSE(b);
  CHECK(b.error().kind == WalkFault::Kind::Unsupported);
}

TEST_CASE("page walk: #PF error codes: not present, write to read-only (CR0.WP), user to supervisor, fetch from XD (§4.6, §4.7)") {
  Tables t;
  auto code = [&](uint64_t linear, PageAccess a) -> uint32_t {
    auto r = translate(t.mem, t.regs, linear, a);
    REQUIRE_FALSE(r);
    REQUIRE(r.error().kind == WalkFault::Kind::PageFault);
    return r.error().error_code;
  };
  CHECK(code(0x7000, {Access::Read, false}) == 0);
  CHECK(code(0x7000, {Access::Write, true}) == (kPfWrite | kPfUser));
  CHECK(code(0x5000, {Access::Write, false}) == (kPfPresent | kPfWrite));
  CHECK(code(0x20'0000, {Access::Read, true}) == (kPfPresent | kPfUser));
  CHECK(code(0x6000, {Access::Fetch, false}) == (kPfPresent | kPfFetch));
  // Without CR0.WP a supervisor write to a read-only page is allowed.
  t.regs.cr0 &= ~kCr0WP;
  CHECK(translate(t.mem, t.regs, 0x5000, {Access::Write, false}).has_value());
  // The delivery helper gives the same answer, and the access bits when nothing refuses.
  t.regs.cr0 |= kCr0WP;
  CHECK(page_fault_error_code(t.mem, t.regs, 0x5000, {Access::Write, false}) == (kPfPresent | kPfWrite));
  CHECK(page_fault_error_code(t.mem, t.regs, 0x5000, {Access::Read, false}) == 0);
}

TEST_CASE("page walk: a #PF at the instruction's first byte, or at the next page's for one that crosses, was the fetch") {
  CHECK(fault_is_fetch(0x1000, 0x1000));
  CHECK(fault_is_fetch(0x1FFE, 0x2000));
  CHECK_FALSE(fault_is_fetch(0x1000, 0x1008));
  CHECK_FALSE(fault_is_fetch(0x1000, 0x9000));
}
