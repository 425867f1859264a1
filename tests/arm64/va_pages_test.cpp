// Any number of pages with VA != PA (Arm ARM D8.2): the unbacked space
// (arch/common/unbacked_space.h) answers every VA a guest's tables produce, where each page
// used to need an alias page and a CPU had at most 768 of them.
#include <doctest/doctest.h>

#include "tests/arm64/boot_rig.h"

TEST_CASE("va pages: 100,000 TTBR1 pages, two TTBR0 address spaces by ASID, remap + TLBI VAE1IS, devices and code at high VAs") {
  auto b = arm64test::boot("arm64/va-pages", 1);
  INFO(b.r.message);
  CHECK(b.r.stop == irqremap::arch::StopKind::SystemOff);
  // The same lines as qemu-system-aarch64 7.2 -M virt (tests/arm64/qemu_diff_test.cpp):
  // every page written through its kernel VA is seen at its PA and read back; the user VA
  // reads each address space's own page (LDTR as EL0 would); the remapped page is seen
  // after TLBI; GICD_TYPER and the PL011 answer through a TTBR1 VA; code runs there.
  CHECK(b.uart ==
        "pages: 0x186a0 TTBR1 pages, wrong 0x0\n"
        "ttbr0: 0xaaaa 0xbbbb 0xbbbb 0xaaaa\n"
        "remap: 0xcccc then 0xdddd\n"
        "gicd through TTBR1: ok\n"
        "uart through TTBR1: ok\n"
        "code at TTBR1: ok\n"
        "done\n");
  // No access was refused and no page was added to the engine's map for it: the unbacked
  // space is the handful of ranges the virt map leaves free.
  const irqremap::arch::UnbackedSpace* space = b.m->cpu(0).unbacked_space();
  REQUIRE(space != nullptr);
  CHECK(space->refused() == 0);
  CHECK(space->unbacked_accesses() == 0);
  CHECK(space->ranges().size() <= 8);
  CHECK(space->contains(0xFFFF'0000'0000'0000ull));
  CHECK(space->contains(0x10'0000'0000ull));
  CHECK_FALSE(space->contains(0x4008'0000));
}
