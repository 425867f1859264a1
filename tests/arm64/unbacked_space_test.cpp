// The unbacked space (arch/common/unbacked_space.h) against a real Unicorn 2.0.1 AArch64
// engine: the Unicorn facts it rests on, checked where the vCPU relies on them.
#include <doctest/doctest.h>

#include <unicorn/unicorn.h>

#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "arch/common/unbacked_space.h"
#include "remap/guest_memory.h"

using namespace irqremap;
using Access = arch::UnbackedSpace::Access;

namespace {

constexpr uint64_t kRam = 0x4000'0000, kRamSize = 0x100'0000;
constexpr uint64_t kLast = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kHighVa = 0xFFFF'0000'0000'0000ull;  // TTBR1, L0 index 0

uint64_t mmio_zero(uc_engine*, uint64_t, unsigned, void*) { return 0; }
void mmio_drop(uc_engine*, uint64_t, unsigned, uint64_t, void*) {}

// One AArch64 engine with 16 MiB of RAM and a 4 KiB device window at the PL011's address,
// at EL1 with 48-bit VAs: TTBR1 maps kHighVa + [0, 2 MiB) onto RAM, + [2 MiB, 4 MiB) onto
// PA 0x1_0000_0000 (nothing there), and the last 2 MiB of the address space onto RAM;
// TTBR0 maps RAM's first 2 MiB at its own address (VA = PA) and VA 0x4020_0000 onto the
// hole. Code goes at PA kRam + 0x1000.
struct Rig {
  uc_engine* uc = nullptr;
  GuestMemory mem;
  std::byte* ram = nullptr;
  Rig() {
    REQUIRE(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) == UC_ERR_OK);
    uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_A57);
    auto r = mem.add_ram(kRam, kRamSize, "ram");
    REQUIRE(r.has_value());
    ram = r->host;
    REQUIRE(uc_mem_map_ptr(uc, kRam, kRamSize, UC_PROT_ALL, ram) == UC_ERR_OK);
    REQUIRE(uc_mmio_map(uc, 0x0900'0000, 0x1000, mmio_zero, nullptr, mmio_drop, nullptr) == UC_ERR_OK);
  }
  ~Rig() { uc_close(uc); }
  void w64(uint64_t pa, uint64_t v) { REQUIRE(mem.write64(pa, v).has_value()); }
  uint64_t reg(uc_arm64_reg r) {
    uint64_t v = 0;
    uc_reg_read(uc, r, &v);
    return v;
  }
  void set(uc_arm64_reg r, uint64_t v) { uc_reg_write(uc, r, &v); }
  void sysreg(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2, uint64_t v) {
    uc_arm64_cp_reg c{crn, crm, op0, op1, op2, v};
    REQUIRE(uc_reg_write(uc, UC_ARM64_REG_CP_REG, &c) == UC_ERR_OK);
  }
  void mmu_on() {
    sysreg(3, 6, 1, 1, 0, (1ull << 10) | 0x30 | 1);  // SCR_EL3: Non-secure, EL1 AArch64
    sysreg(3, 4, 1, 1, 0, 1ull << 31);              // HCR_EL2.RW
    const uint64_t l0 = kRam + 0x10'0000, l1 = l0 + 0x1000, l2 = l0 + 0x2000, l1_top = l0 + 0x3000,
                   l2_top = l0 + 0x4000, u_l0 = l0 + 0x5000, u_l1 = l0 + 0x6000, u_l2 = l0 + 0x7000;
    const uint64_t block = (1u << 10) | (1u << 2) | 1;  // AF, AttrIndx 1 (normal), block
    w64(l0, l1 | 3);
    w64(l1, l2 | 3);
    w64(l2, kRam | block);
    w64(l2 + 8, 0x1'0000'0000ull | block);
    w64(l0 + 511 * 8, l1_top | 3);
    w64(l1_top + 511 * 8, l2_top | 3);
    w64(l2_top + 511 * 8, kRam | block);
    w64(u_l0, u_l1 | 3);
    w64(u_l1 + 8, u_l2 | 3);            // VA 0x4000_0000 .. 1 GiB
    w64(u_l2, kRam | block);            // identity: the code
    w64(u_l2 + 8, 0x1'0000'0000ull | block);  // VA 0x4020_0000 -> the hole
    sysreg(3, 0, 10, 2, 0, 0xFF00);  // MAIR_EL1
    // TCR_EL1: T0SZ = T1SZ = 16, TG1 = 4 KB, IPS = 48 bits.
    sysreg(3, 0, 2, 0, 2, 16ull | (16ull << 16) | (2ull << 30) | (5ull << 32));
    set(UC_ARM64_REG_TTBR0_EL1, u_l0);
    set(UC_ARM64_REG_TTBR1_EL1, l0);
    sysreg(3, 0, 1, 0, 0, 0x30D0'0800 | 1);  // SCTLR_EL1.M
    set(UC_ARM64_REG_PSTATE, 0x3C5);
  }
  void code(std::vector<uint32_t> words) {
    for (size_t i = 0; i < words.size(); ++i) std::memcpy(ram + 0x1000 + 4 * i, &words[i], 4);
  }
};

constexpr uint32_t kLdrX3X2 = 0xF940'0043;  // ldr x3, [x2]
constexpr uint32_t kLdrX0X1 = 0xF940'0020;  // ldr x0, [x1]
constexpr uint32_t kAddX0 = 0x9100'0400;    // add x0, x0, #1
constexpr uint32_t kStrX0X1 = 0xF900'0020;  // str x0, [x1]
constexpr uint32_t kNop = 0xD503'201F;
constexpr uint32_t kB = 0x1400'0000;        // b .

void no_op_code_hook(uc_engine*, uint64_t, uint32_t, void*) {}

}  // namespace

TEST_CASE("unbacked space: covers exactly the addresses no region holds, to 2^64 - 1, and gives a window back") {
  Rig rig;
  arch::UnbackedSpace space(rig.uc, nullptr, nullptr);
  REQUIRE(space.cover().has_value());
  using R = std::pair<uint64_t, uint64_t>;
  CHECK(space.ranges() == std::vector<R>{{0, 0x08FF'FFFF}, {0x0900'1000, kRam - 1}, {kRam + kRamSize, kLast}});
  CHECK(space.contains(0));
  CHECK_FALSE(space.contains(0x0900'0FFF));
  CHECK_FALSE(space.contains(kRam));
  CHECK(space.contains(kRam + kRamSize));
  CHECK(space.contains(kLast));
  CHECK_FALSE(space.cover().has_value());  // once
  // A device window mapped later: carved out, then Unicorn takes a region there.
  REQUIRE(space.carve(0x0B00'0000, 0x1'0000).has_value());
  CHECK(space.ranges() ==
        std::vector<R>{{0, 0x08FF'FFFF}, {0x0900'1000, 0x0AFF'FFFF}, {0x0B01'0000, kRam - 1}, {kRam + kRamSize, kLast}});
  CHECK_FALSE(space.contains(0x0B00'8000));
  CHECK(uc_mmio_map(rig.uc, 0x0B00'0000, 0x1'0000, mmio_zero, nullptr, mmio_drop, nullptr) == UC_ERR_OK);
  CHECK_FALSE(space.carve(0x0B00'0800, 0x800).has_value());  // not whole pages
}

TEST_CASE("unbacked space: a TTBR1 VA reaches RAM through QEMU's walk after the PROT hook lets it through; the top page too") {
  Rig rig;
  std::vector<std::pair<uint64_t, Access>> asked;
  arch::UnbackedSpace space(
      rig.uc, [&](uint64_t va, Access a) { asked.emplace_back(va, a); return true; }, nullptr);
  REQUIRE(space.cover().has_value());
  rig.mmu_on();
  // Code at its TTBR1 VA: ldr x0, [x1]; add; str x0, [x1]; b .
  rig.code({kLdrX0X1, kAddX0, kStrX0X1, kB});
  rig.w64(kRam + 0x2000, 41);
  rig.set(UC_ARM64_REG_X1, kHighVa + 0x2000);
  CHECK(uc_emu_start(rig.uc, kHighVa + 0x1000, 0, 0, 4) == UC_ERR_OK);
  CHECK(rig.mem.read64(kRam + 0x2000).value() == 42);
  // Each instruction word translated at a VA in the space was asked for once, then the load
  // (a TLB miss); the store hit QEMU's TLB entry and was not asked.
  CHECK(asked.front() == std::pair<uint64_t, Access>{kHighVa + 0x1000, Access::Fetch});
  CHECK(std::count(asked.begin(), asked.end(), std::pair<uint64_t, Access>{kHighVa + 0x2000, Access::Read}) == 1);
  // The last page of the address space: Unicorn's region there ends at 2^64.
  rig.set(UC_ARM64_REG_X1, 0xFFFF'FFFF'FFE0'2000ull);
  CHECK(uc_emu_start(rig.uc, kHighVa + 0x1000, 0, 0, 3) == UC_ERR_OK);
  CHECK(rig.mem.read64(kRam + 0x2000).value() == 43);
}

TEST_CASE("unbacked space: a refused load writes nothing; the PC is the load only while a code hook syncs it (Unicorn 2.0.1)") {
  for (bool code_hook : {true, false}) {
    CAPTURE(code_hook);
    Rig rig;
    arch::UnbackedSpace space(
        rig.uc, [](uint64_t va, Access) { return va != kHighVa + 0x20'0000; }, nullptr);
    REQUIRE(space.cover().has_value());
    rig.mmu_on();
    uc_hook h = 0;
    if (code_hook) uc_hook_add(rig.uc, &h, UC_HOOK_CODE, reinterpret_cast<void*>(&no_op_code_hook), nullptr, 1, 0);
    // ldr x0, [x1]; add; str; ldr x3, [x2] (refused); add; b .
    rig.code({kLdrX0X1, kAddX0, kStrX0X1, kLdrX3X2, kAddX0, kB});
    rig.w64(kRam + 0x2000, 41);
    rig.set(UC_ARM64_REG_X1, kHighVa + 0x2000);
    rig.set(UC_ARM64_REG_X2, kHighVa + 0x20'0000);
    rig.set(UC_ARM64_REG_X3, 0x77);
    CHECK(uc_emu_start(rig.uc, kHighVa + 0x1000, 0, 0, 0) == UC_ERR_READ_PROT);
    CHECK(space.refused() == 1);
    CHECK(rig.reg(UC_ARM64_REG_X3) == 0x77);              // the refused load wrote nothing
    CHECK(rig.mem.read64(kRam + 0x2000).value() == 42);   // what ran before it ran once
    CHECK(rig.reg(UC_ARM64_REG_X0) == 42);                 // nothing after it ran
    // The vCPU keeps its per-instruction hook for this: without one, the PC is the start of
    // the translated block, not the refused load.
    if (code_hook) CHECK(rig.reg(UC_ARM64_REG_PC) == kHighVa + 0x100C);
    else CHECK(rig.reg(UC_ARM64_REG_PC) == kHighVa + 0x1000);
  }
}

TEST_CASE("unbacked space: a PA inside it reached through a VA outside it reads 0 and is reported, never host memory") {
  Rig rig;
  std::optional<std::pair<uint64_t, Access>> reached;
  arch::UnbackedSpace space(
      rig.uc, [](uint64_t, Access) { return true; },
      [&](uint64_t pa, Access a, unsigned) {
        if (!reached) reached = std::pair{pa, a};  // the first of the two halves
      });
  REQUIRE(space.cover().has_value());
  rig.mmu_on();
  // Code at VA = PA (TTBR0); x2 = 0x4020_0008, a RAM address the tables send to PA
  // 0x1_0000_0008. Unicorn finds RAM for the VA and asks no hook.
  rig.code({kLdrX3X2, kNop, kB});
  rig.set(UC_ARM64_REG_X2, 0x4020'0008);
  rig.set(UC_ARM64_REG_X3, 0x77);
  CHECK(uc_emu_start(rig.uc, kRam + 0x1000, 0, 0, 2) == UC_ERR_OK);
  REQUIRE(reached.has_value());
  CHECK(reached->first == 0x1'0000'0008ull);
  CHECK(reached->second == Access::Read);
  CHECK(rig.reg(UC_ARM64_REG_X3) == 0);
  CHECK(space.unbacked_accesses() == 2);  // a 64-bit load: two 32-bit MMIO halves
}
