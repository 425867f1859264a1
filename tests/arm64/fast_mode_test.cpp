// What the AArch64 vCPU's fast mode (arm64_vcpu.h, "Execution") relies on, checked
// against libunicorn 2.0.1 itself: each case is one fact, on a bare engine.
#include <doctest/doctest.h>

#include <unicorn/unicorn.h>

#include <cstring>
#include <set>
#include <vector>

namespace {

constexpr uint64_t kRam = 0x4000'0000, kRamSize = 0x10'0000, kRom = 0x0, kRomSize = 0x1'0000;

struct Engine {
  uc_engine* uc = nullptr;
  std::vector<std::byte> ram = std::vector<std::byte>(kRamSize), rom = std::vector<std::byte>(kRomSize);
  explicit Engine(uint32_t ram_prot = UC_PROT_ALL) {
    REQUIRE(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) == UC_ERR_OK);
    uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_A57);
    REQUIRE(uc_mem_map_ptr(uc, kRam, kRamSize, ram_prot, ram.data()) == UC_ERR_OK);
    // SCR_EL3 / HCR_EL2: Non-secure EL1 in AArch64, as the vCPU sets them.
    sysreg(3, 6, 1, 1, 0, (1ull << 10) | 0x30 | 1);
    sysreg(3, 4, 1, 1, 0, 1ull << 31);
    set(UC_ARM64_REG_PSTATE, 0x3C5);
  }
  ~Engine() { uc_close(uc); }
  void code(uint64_t at, std::vector<uint32_t> words) {
    for (size_t i = 0; i < words.size(); ++i) std::memcpy(ram.data() + (at - kRam) + 4 * i, &words[i], 4);
  }
  uint64_t reg(int r) {
    uint64_t v = 0;
    uc_reg_read(uc, r, &v);
    return v;
  }
  void set(int r, uint64_t v) { uc_reg_write(uc, r, &v); }
  uint64_t sysreg_read(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2) {
    uc_arm64_cp_reg c{crn, crm, op0, op1, op2, 0};
    uc_reg_read(uc, UC_ARM64_REG_CP_REG, &c);
    return c.val;
  }
  void sysreg(uint32_t op0, uint32_t op1, uint32_t crn, uint32_t crm, uint32_t op2, uint64_t v) {
    uc_arm64_cp_reg c{crn, crm, op0, op1, op2, v};
    REQUIRE(uc_reg_write(uc, UC_ARM64_REG_CP_REG, &c) == UC_ERR_OK);
  }
};

constexpr uint32_t kAddX0 = 0x9100'0400;  // add x0, x0, #1
constexpr uint32_t kB = 0x1400'0000;      // b .
constexpr uint32_t kWfi = 0xD503'207F;
constexpr uint32_t kLdrX3X2 = 0xF940'0043;  // ldr x3, [x2]
constexpr uint32_t kStrW1X2 = 0xB900'0041;  // str w1, [x2]
constexpr uint32_t kLdrW3X2 = 0xB940'0043;  // ldr w3, [x2]
constexpr uint32_t kMrsCntvct = 0xD53B'E041;  // mrs x1, cntvct_el0 (Unicorn implements it)
constexpr uint32_t kMsrIccPmr = 0xD518'460B;  // msr icc_pmr_el1, x11 (Unicorn has no GIC)

struct Blocks {
  std::vector<std::pair<uint64_t, uint32_t>> seen;
  uint64_t stop_at = 0;
};
void on_block(uc_engine* uc, uint64_t a, uint32_t size, void* p) {
  auto* b = static_cast<Blocks*>(p);
  b->seen.emplace_back(a, size);
  if (a == b->stop_at) uc_emu_stop(uc);
}

}  // namespace

TEST_CASE("unicorn 2.0.1: a uc_emu_stop in UC_HOOK_BLOCK ends the run before the block runs, PC at the block") {
  Engine e;
  // add; add; b.ne-free fall through to the next block at +0x10 (after a branch).
  e.code(kRam + 0x1000, {kAddX0, kAddX0, 0x1400'0002 /* b +8 */, kAddX0, kAddX0, kAddX0, kB});
  Blocks b;
  b.stop_at = kRam + 0x1010;
  uc_hook h = 0;
  uc_hook_add(e.uc, &h, UC_HOOK_BLOCK, reinterpret_cast<void*>(&on_block), &b, 1, 0);
  CHECK(uc_emu_start(e.uc, kRam + 0x1000, 0, 0, 0) == UC_ERR_OK);
  CHECK(e.reg(UC_ARM64_REG_PC) == kRam + 0x1010);
  CHECK(e.reg(UC_ARM64_REG_X0) == 2);  // the first block's two adds; nothing of the second
  REQUIRE(b.seen.size() == 2);
  CHECK(b.seen[0] == std::pair<uint64_t, uint32_t>{kRam + 0x1000, 12});  // 3 instructions
}

namespace {
struct Sys {
  std::vector<uint64_t> pcs;
};
uint32_t on_sys(uc_engine* uc, uc_arm64_reg reg, const uc_arm64_cp_reg* cp, void* p) {
  uint64_t pc = 0;
  uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
  static_cast<Sys*>(p)->pcs.push_back(pc);
  if (cp->crn == 14) {  // CNTVCT_EL0: a register Unicorn implements
    uint64_t v = 0x1234;
    uc_reg_write(uc, reg, &v);
    return 1;  // skipped, PC not written: the block goes on
  }
  pc += 4;  // ICC_PMR_EL1: unknown to Unicorn, its block ends here; go on after it
  uc_reg_write(uc, UC_ARM64_REG_PC, &pc);
  return 1;
}
}  // namespace

TEST_CASE("unicorn 2.0.1: MRS/MSR hooks see the PC synced; a skipped known register goes on, an unknown one resumes at the PC written") {
  Engine e;
  e.code(kRam + 0x1000, {kAddX0, kMrsCntvct, kAddX0, kMsrIccPmr, kAddX0, kAddX0, kB});
  Sys s;
  uc_hook h1 = 0, h2 = 0;
  uc_hook_add(e.uc, &h1, UC_HOOK_INSN, reinterpret_cast<void*>(&on_sys), &s, 1, 0, UC_ARM64_INS_MRS);
  uc_hook_add(e.uc, &h2, UC_HOOK_INSN, reinterpret_cast<void*>(&on_sys), &s, 1, 0, UC_ARM64_INS_MSR);
  CHECK(uc_emu_start(e.uc, kRam + 0x1000, 0, 0, 7) == UC_ERR_OK);
  CHECK(s.pcs == std::vector<uint64_t>{kRam + 0x1004, kRam + 0x100C});
  CHECK(e.reg(UC_ARM64_REG_X1) == 0x1234);
  CHECK(e.reg(UC_ARM64_REG_X0) == 4);  // every add ran exactly once
}

namespace {
struct FakeWalk {
  Engine* e = nullptr;
  uint64_t sctlr = 0, tcr = 0;
  bool faking = false;
  std::vector<std::pair<uint32_t, uint64_t>> intr;  // exception number, PC
};
bool fake_on_prot(uc_engine*, uc_mem_type, uint64_t, int, int64_t, void* p) {
  auto* f = static_cast<FakeWalk*>(p);
  f->sctlr = f->e->sysreg_read(3, 0, 1, 0, 0);
  f->tcr = f->e->sysreg_read(3, 0, 2, 0, 2);
  f->faking = true;
  f->e->sysreg(3, 0, 1, 0, 0, f->sctlr | 1);                                // stage 1 on
  f->e->sysreg(3, 0, 2, 0, 2, f->tcr | (1ull << 7) | (1ull << 23));         // EPD0, EPD1
  return true;  // let QEMU's walk fault
}
void fake_on_intr(uc_engine* uc, uint32_t n, void* p) {
  auto* f = static_cast<FakeWalk*>(p);
  f->intr.emplace_back(n, f->e->reg(UC_ARM64_REG_PC));
  if (f->faking) {
    f->e->sysreg(3, 0, 1, 0, 0, f->sctlr);
    f->e->sysreg(3, 0, 2, 0, 2, f->tcr);
    f->faking = false;
  }
  uc_emu_stop(uc);
}
uint64_t zero_read(uc_engine*, uint64_t, unsigned, void*) { return 0; }
void drop_write(uc_engine*, uint64_t, unsigned, uint64_t, void*) {}
}  // namespace

TEST_CASE("unicorn 2.0.1: a PROT hook that disables both table walks turns a refused load into QEMU's data abort at the load") {
  Engine e;
  // A permission-less region where nothing is (the unbacked space), MMU off.
  REQUIRE(uc_mmio_map(e.uc, 0x1'0000'0000ull, 0x1000, zero_read, nullptr, drop_write, nullptr) == UC_ERR_OK);
  REQUIRE(uc_mem_protect(e.uc, 0x1'0000'0000ull, 0x1000, UC_PROT_NONE) == UC_ERR_OK);
  FakeWalk f;
  f.e = &e;
  uc_hook h1 = 0, h2 = 0;
  uc_hook_add(e.uc, &h1, UC_HOOK_MEM_READ_PROT, reinterpret_cast<void*>(&fake_on_prot), &f, 1, 0);
  uc_hook_add(e.uc, &h2, UC_HOOK_INTR, reinterpret_cast<void*>(&fake_on_intr), &f, 1, 0);
  // add; add; add; ldr x3, [x2] (refused) in one block, no code hook anywhere.
  e.code(kRam + 0x1000, {kAddX0, kAddX0, kAddX0, kLdrX3X2, kAddX0, kB});
  e.set(UC_ARM64_REG_X2, 0x1'0000'0000ull);
  e.set(UC_ARM64_REG_X3, 0x77);
  CHECK(uc_emu_start(e.uc, kRam + 0x1000, 0, 0, 0) == UC_ERR_OK);
  REQUIRE(f.intr.size() == 1);
  CHECK(f.intr[0] == std::pair<uint32_t, uint64_t>{4, kRam + 0x100C});  // EXCP_DATA_ABORT at the load
  CHECK(e.reg(UC_ARM64_REG_X3) == 0x77);   // nothing loaded
  CHECK(e.reg(UC_ARM64_REG_X0) == 3);      // what came before ran once
  CHECK((e.sysreg_read(3, 0, 1, 0, 0) & 1) == 0);  // SCTLR_EL1 back as it was
}

namespace {
struct Fetches {
  uc_engine* uc = nullptr;
  std::vector<uint64_t> translated;
  uint64_t hook_at = 0;
  std::vector<uint64_t> hooked_runs;
  uc_hook dyn = 0;
};
void count_hook(uc_engine*, uint64_t a, uint32_t, void* p) { static_cast<Fetches*>(p)->hooked_runs.push_back(a); }
bool on_fetch(uc_engine*, uc_mem_type, uint64_t a, int, int64_t, void* p) {
  auto* f = static_cast<Fetches*>(p);
  f->translated.push_back(a);
  if (a == f->hook_at && f->dyn == 0)
    uc_hook_add(f->uc, &f->dyn, UC_HOOK_CODE, reinterpret_cast<void*>(&count_hook), f, a, a);
  return true;
}
}  // namespace

TEST_CASE("unicorn 2.0.1: RAM without execute permission reports each instruction once, at translation; a code hook added then is in that block") {
  Engine e(UC_PROT_READ | UC_PROT_WRITE);
  Fetches f;
  f.uc = e.uc;
  f.hook_at = kRam + 0x1008;
  uc_hook h = 0;
  uc_hook_add(e.uc, &h, UC_HOOK_MEM_FETCH_PROT, reinterpret_cast<void*>(&on_fetch), &f, 1, 0);
  // x1 = 5; loop: add x0; add x0; subs x1, x1, #1; b.ne loop; wfi
  e.code(kRam + 0x1000, {0xD280'00A1 /* mov x1, #5 */, kAddX0, kAddX0, 0xF100'0421 /* subs x1, x1, #1 */,
                         0x54FF'FFA1 /* b.ne -12 */, kWfi});
  CHECK(uc_emu_start(e.uc, kRam + 0x1000, 0, 0, 0) == UC_ERR_OK);
  CHECK(e.reg(UC_ARM64_REG_X0) == 10);
  // Five loop iterations, yet each word was fetched for translation a bounded number of
  // times (a block and its successors), never once per iteration.
  const std::set<uint64_t> distinct(f.translated.begin(), f.translated.end());
  CHECK(distinct.size() == 6);
  CHECK(f.translated.size() <= 12);
  // The hook added while kRam + 0x1008 was fetched runs for it on every iteration.
  CHECK(f.hooked_runs == std::vector<uint64_t>(5, kRam + 0x1008));
  // WFI ended the run with the PC after it.
  CHECK(e.reg(UC_ARM64_REG_PC) == kRam + 0x1018);
}

namespace {
bool let_store_go(uc_engine*, uc_mem_type, uint64_t, int, int64_t, void* p) {
  ++*static_cast<int*>(p);
  return true;
}
}  // namespace

TEST_CASE("unicorn 2.0.1: a region uc_mem_protect made read-only discards a store the WRITE_PROT hook lets go on") {
  Engine e;
  REQUIRE(uc_mem_map_ptr(e.uc, kRom, kRomSize, UC_PROT_READ | UC_PROT_EXEC, e.rom.data()) == UC_ERR_OK);
  REQUIRE(uc_mem_protect(e.uc, kRom, kRomSize, UC_PROT_READ | UC_PROT_EXEC) == UC_ERR_OK);
  e.rom[0x100] = std::byte{0xAA};
  int stores = 0;
  uc_hook h = 0;
  uc_hook_add(e.uc, &h, UC_HOOK_MEM_WRITE_PROT, reinterpret_cast<void*>(&let_store_go), &stores, kRom,
              kRom + kRomSize - 1);
  // str w1, [x2]; ldr w3, [x2] in one block: the load sees the ROM's byte, not the store.
  e.code(kRam + 0x1000, {kStrW1X2, kLdrW3X2, kB});
  e.set(UC_ARM64_REG_X1, 0xBEEF);
  e.set(UC_ARM64_REG_X2, kRom + 0x100);
  CHECK(uc_emu_start(e.uc, kRam + 0x1000, 0, 0, 2) == UC_ERR_OK);
  CHECK(stores == 1);
  CHECK(e.reg(UC_ARM64_REG_X3) == 0xAA);
  CHECK(e.rom[0x100] == std::byte{0xAA});
}

namespace {
struct Intrs {
  std::vector<uint32_t> seen;
  std::vector<uint64_t> pc;
};
void on_intr_record(uc_engine* uc, uint32_t intno, void* p) {
  auto* r = static_cast<Intrs*>(p);
  r->seen.push_back(intno);
  uint64_t pc = 0;
  uc_reg_read(uc, UC_ARM64_REG_PC, &pc);
  r->pc.push_back(pc);
  uc_emu_stop(uc);
}
}  // namespace

TEST_CASE("unicorn 2.0.1: software step follows hflags rebuilt at MSR MDSCR_EL1 but not at MSR DAIFClr, so the vCPU steps the guest itself") {
  // arm64_vcpu.h (the software step fact): Unicorn's own step machinery (QEMU's hflags
  // bit SS_ACTIVE) is right only when hflags were rebuilt after the last change.
  const std::vector<uint32_t> code = {
      0xd2840021,  // movz x1, #0x2001: MDSCR_EL1.SS | KDE
      0xd5100241,  // msr mdscr_el1, x1  (a native MSR: hflags rebuilt)
      0xd5033fdf,  // isb                (0x08)
      0xd50348ff,  // msr daifclr, #8    (0x0c: PSTATE.D = 0, hflags not rebuilt)
      0xd503201f,  // nop                (0x10)
      0xd503201f,  // nop
  };
  SUBCASE("PSTATE.D set at the MSR MDSCR_EL1: the unmask goes unnoticed, nothing is stepped") {
    Engine e;
    e.code(kRam, code);
    Intrs r;
    uc_hook h = 0;
    REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&on_intr_record), &r, 1, 0) == UC_ERR_OK);
    CHECK(uc_emu_start(e.uc, kRam, kRam + 4 * code.size(), 0, 0) == UC_ERR_OK);
    CHECK(r.seen.empty());  // the architecture takes a step exception at 0x10 (active-pending)
    CHECK(e.reg(UC_ARM64_REG_PC) == kRam + 4 * code.size());
  }
  SUBCASE("PSTATE.D clear at the MSR MDSCR_EL1: Unicorn raises EXCP_UDEF (1) before the next block, as a step") {
    Engine e;
    e.set(UC_ARM64_REG_PSTATE, 0x1C5);  // EL1h, D clear
    e.code(kRam, code);
    Intrs r;
    uc_hook h = 0;
    REQUIRE(uc_hook_add(e.uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&on_intr_record), &r, 1, 0) == UC_ERR_OK);
    uc_emu_start(e.uc, kRam, kRam + 4 * code.size(), 0, 0);
    REQUIRE(r.seen.size() == 1);
    CHECK(r.seen[0] == 1);
    CHECK(r.pc[0] == kRam + 0x08);  // active-pending: before the instruction after the MSR
  }
}
