// Broadcast maintenance between CPUs (arch/arm64/maintenance_broadcast.h): every CPU is
// its own Unicorn engine, so what an Inner Shareable TLBI or an IC IVAU on one PE does to
// the others is the machine's work. Without it another CPU keeps a stale TLB entry or runs
// code translated from bytes that were rewritten (Linux on 4 CPUs panicked with a
// corrupted kernel stack after a module load).
#include <doctest/doctest.h>

#include "arch/arm64/maintenance_broadcast.h"
#include "tests/arm64/boot_rig.h"

using irqremap::arm64::Broadcast;
using irqremap::arm64::broadcast_of;

TEST_CASE("maintenance broadcast: Inner Shareable TLBI forms and IC IALLUIS / IC IVAU reach the other PEs, local forms do not (Arm ARM C5.5, C5.3)") {
  // SYS #op1, Cn, Cm, #op2
  CHECK(broadcast_of(0, 8, 3, 0) == Broadcast::Tlbi);  // TLBI VMALLE1IS
  CHECK(broadcast_of(0, 8, 3, 1) == Broadcast::Tlbi);  // TLBI VAE1IS
  CHECK(broadcast_of(0, 8, 3, 2) == Broadcast::Tlbi);  // TLBI ASIDE1IS
  CHECK(broadcast_of(0, 8, 3, 3) == Broadcast::Tlbi);  // TLBI VAAE1IS
  CHECK(broadcast_of(0, 8, 3, 5) == Broadcast::Tlbi);  // TLBI VALE1IS
  CHECK(broadcast_of(0, 8, 3, 7) == Broadcast::Tlbi);  // TLBI VAALE1IS
  CHECK(broadcast_of(4, 8, 3, 4) == Broadcast::Tlbi);  // TLBI ALLE1IS
  CHECK(broadcast_of(4, 8, 0, 1) == Broadcast::Tlbi);  // TLBI IPAS2E1IS
  CHECK(broadcast_of(0, 8, 7, 0) == Broadcast::None);  // TLBI VMALLE1 (local)
  CHECK(broadcast_of(0, 8, 7, 1) == Broadcast::None);  // TLBI VAE1 (local)
  CHECK(broadcast_of(4, 8, 4, 1) == Broadcast::None);  // TLBI IPAS2E1 (local)
  CHECK(broadcast_of(0, 7, 1, 0) == Broadcast::CodeAll);   // IC IALLUIS
  CHECK(broadcast_of(3, 7, 5, 1) == Broadcast::CodeLine);  // IC IVAU
  CHECK(broadcast_of(0, 7, 5, 0) == Broadcast::None);      // IC IALLU (local)
  CHECK(broadcast_of(3, 7, 11, 1) == Broadcast::None);     // DC CVAU
  CHECK(broadcast_of(3, 7, 4, 1) == Broadcast::None);      // DC ZVA
}

TEST_CASE("smp coherence: CPU 1 sees CPU 0's remap after TLBI VAE1IS and CPU 0's rewritten code after IC IVAU (Arm ARM D5.10.2, B2.4.4)") {
  auto b = arm64test::boot("arm64/smp-coherence", 2);
  INFO(b.r.message);
  CHECK(b.r.stop == irqremap::arch::StopKind::SystemOff);
  // The same lines as qemu-system-aarch64 7.2 -M virt (tests/arm64/qemu_diff_test.cpp).
  // A CPU whose engine kept its TLB entry reads 0xaaaa twice; one that kept the blocks it
  // translated from the old function runs 0x1 twice.
  CHECK(b.uart ==
        "tlbi: CPU 1 read 0xaaaa then 0xbbbb\n"
        "code: CPU 1 ran 0x1 then 0x2\n"
        "done\n");
}
