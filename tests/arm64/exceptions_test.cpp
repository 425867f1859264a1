// Synchronous exception entry on the AArch64 machine (issue 11; Arm ARM D1.10): the entry
// plan as a value, the stage 1 walk that classifies unmapped accesses, and guests that
// take SVC, undefined instructions and aborts from EL1 and EL0 exactly as QEMU virt does.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include "arch/arm64/raised_exception.h"

#include <map>
#include <sstream>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/exception_entry.h"
#include "arch/arm64/stage1_walk.h"
#include "tests/arm64/boot_rig.h"
#include "tools/cli.h"

using namespace irqremap;
using namespace irqremap::arm64;

TEST_CASE("exception entry: vector offsets by source and kind (Arm ARM D1.10.2 Table D1-7)") {
  CHECK(*vector_offset(pstate::kEl1t, ExceptionKind::Synchronous) == 0x000);
  CHECK(*vector_offset(pstate::kEl1t, ExceptionKind::Irq) == 0x080);
  CHECK(*vector_offset(pstate::kEl1h, ExceptionKind::Synchronous) == 0x200);
  CHECK(*vector_offset(pstate::kEl1h, ExceptionKind::Irq) == 0x280);
  CHECK(*vector_offset(pstate::kEl0t, ExceptionKind::Synchronous) == 0x400);
  CHECK(*vector_offset(pstate::kEl0t, ExceptionKind::Irq) == 0x480);
  CHECK_FALSE(vector_offset(0x9, ExceptionKind::Synchronous));   // EL2h: not modelled
  CHECK_FALSE(vector_offset(0x10, ExceptionKind::Synchronous));  // AArch32 User
}

TEST_CASE("exception entry: SPSR = PSTATE before, handler at EL1h with DAIF set and NZCV kept, ELR = return address") {
  auto e = plan_exception_entry(ExceptionSource{0x6000'0000 | pstate::kEl0t, 0x4008'1004, 0x4008'0800},
                                ExceptionKind::Synchronous);
  REQUIRE(e);
  CHECK(e->vector == 0x4008'0C00);
  CHECK(e->spsr == 0x6000'0000);
  CHECK(e->pstate == (0x6000'0000 | 0x3C0 | pstate::kEl1h));
  CHECK(e->elr == 0x4008'1004);
  CHECK(e->from_el0);
  CHECK(e->from_sp_el0);
  auto h = plan_exception_entry(ExceptionSource{0x3C5, 0x10, 0x4008'0800}, ExceptionKind::Irq);
  REQUIRE(h);
  CHECK(h->vector == 0x4008'0A80);
  CHECK_FALSE(h->from_el0);
  CHECK_FALSE(h->from_sp_el0);
}

TEST_CASE("syndromes: SVC imm16, uncategorized, aborts with IL=1, WnR and the same-EL class (Arm ARM D17.2.37)") {
  CHECK(syndrome::svc64(0x7b) == 0x5600'007B);
  CHECK(syndrome::uncategorized() == 0x0200'0000);
  CHECK(syndrome::insn_abort(true, fsc::kSyncExternal) == 0x8600'0010);
  CHECK(syndrome::insn_abort(false, fsc::translation(3)) == 0x8200'0007);
  CHECK(syndrome::data_abort(true, false, fsc::translation(1)) == 0x9600'0005);
  CHECK(syndrome::data_abort(false, true, fsc::kSyncExternal) == 0x9200'0050);
}

TEST_CASE("stage 1 walk: 4 KB granule, level 1 block, invalid descriptor level, access flag, MMU off is flat") {
  std::map<uint64_t, uint64_t> mem;
  const uint64_t l1 = 0x4001'0000;
  mem[l1 + 1 * 8] = 0x4000'0000 | (1u << 10) | 1;      // VA 1 GB -> PA 1 GB block
  mem[l1 + 2 * 8] = 0x4002'0000 | 3;                   // table
  mem[0x4002'0000 + 0 * 8] = 0x4003'0000 | 3;          // level 3 table
  mem[0x4003'0000 + 5 * 8] = 0x4444'5000 | 3;          // page, AF = 0
  auto read = [&](uint64_t pa) -> std::optional<uint64_t> {
    auto it = mem.find(pa);
    return it == mem.end() ? std::optional<uint64_t>(0) : std::optional<uint64_t>(it->second);
  };
  TranslationRegs r{1, 25 | (1u << 23) | (2ull << 30), l1, 0};  // M, T0SZ 25, EPD1, TG1 4 KB
  auto b = stage1_translate(0x4008'1234, r, read);
  REQUIRE(b);
  CHECK(b->pa == 0x4008'1234);
  CHECK(b->level == 1);
  auto f = stage1_translate(0x40'0000'0000, r, read);
  REQUIRE_FALSE(f);
  CHECK(f.error().fsc() == 0x05);  // translation fault, level 1
  auto af = stage1_translate(0x8000'5008, r, read);
  REQUIRE_FALSE(af);
  CHECK(af.error().fsc() == 0x0B);  // access flag fault, level 3
  auto upper = stage1_translate(0xFFFF'0000'0000'0000, r, read);
  REQUIRE_FALSE(upper);
  CHECK(upper.error().fsc() == 0x04);  // TTBR1 walks disabled by EPD1: level 0
  r.sctlr = 0;
  CHECK(stage1_translate(0x1234'5678, r, read)->pa == 0x1234'5678);
}

TEST_CASE("arm64 exceptions firmware: SVC, undef, a hardware breakpoint and aborts at EL1h/EL1t/EL0 print what QEMU 7.2 virt prints") {
  // The lines below are qemu-system-aarch64 7.2's output for the same ELF (-M
  // virt,gic-version=3,its=on -cpu cortex-a57): vector offsets 0x200 / 0x000 / 0x400,
  // ESR (EC, IL, ISS), ELR (SVC: after it; undefined and aborts: at it), SPSR with NZCV
  // and the mode, FAR = the VA; a fetch from a mapped VA over an unbacked PA is a
  // synchronous external abort (FSC 0x10), an invalid descriptor a level 1 translation
  // fault.
  std::ostringstream out, err;
  const std::vector<std::string> args = {"run", "--arch", "arm64", "--firmware", "arm64/exceptions"};
  const int st = cli::run(args, out, err);
  CHECK(st == 0);
  INFO(err.str());
  CHECK(out.str() ==
        "svc el1h: vector 0x200 ESR 0x5600007b ELR svc_el1+4 SPSR 0x600003c5\n"
        "undef el1h: vector 0x200 ESR 0x2000000 ELR udf_el1 SPSR 0x600003c5\n"
        "svc el1t: vector 0x0 ESR 0x56000001 ELR svc_el1t+4 SPSR 0x600003c4\n"
        "el0: vector 0x400 ESR 0x56000005 ELR udf_el0 SPSR 0x0\n"
        "el0: vector 0x400 ESR 0x2000000 ELR udf_el0 SPSR 0x0\n"
        "el0: vector 0x400 ESR 0x2000000 ELR hvc_el0 SPSR 0x0\n"
        "el0: vector 0x400 ESR 0x560000ff ELR svc_exit+4 SPSR 0x0\n"
        // Hardware breakpoint 0 on `bkpt` (self_hosted_debug.h): EC 0x31, IFSC 0x22, ELR =
        // the instruction, SPSR with D clear; it then runs once, and disabled it is not taken.
        // Unicorn's own breakpoint registers would have crashed the host here.
        "hw breakpoint: vector 0x200 ESR 0xc6000022 ELR bkpt SPSR 0x600001c5\n"
        "hw breakpoint: the instruction ran once\n"
        "dabt mmu-off: vector 0x200 ESR 0x96000010 ELR ldr SPSR 0x600003c5 FAR 0x100000000\n"
        "pabt mmu-on: vector 0x200 ESR 0x86000010 ELR 0x4000000000 SPSR 0x600003c5 FAR 0x4000000000\n"
        "dabt mmu-on: vector 0x200 ESR 0x96000010 ELR ldr SPSR 0x600003c5 FAR 0x4000000008\n"
        "dabt unmapped: vector 0x200 ESR 0x96000005 ELR ldr SPSR 0x600003c5 FAR 0x4040000010\n"
        // A VA inside RAM's own range mapped onto nothing: found after the access, an
        // external abort (QEMU: synchronous, at the load; irqremap without a trace: an
        // SError, both as the architecture allows), and a fetch from there, an instruction
        // abort with FAR = the VA.
        "dabt ram va onto nothing: external abort\n"
        "pabt ram va onto nothing: vector 0x200 ESR 0x86000010 ELR 0x47000000 SPSR 0x600003c5 FAR 0x47000000\n"
        // RAM and the PL011 reached through VAs other than their PAs (the 'A' is the
        // UART store through the alias).
        "alias ram: ok\n"
        "Alias uart: ok\n"
        // Code running at the RAM alias: the HVC is still PSCI and the MRS/MSR still reach
        // the GIC CPU interface (the machine reads instruction words through the tables).
        "alias code: psci version 0x10001, pmr 0xf0\n"
        // Faults on mappings Unicorn walks itself: ESR and FAR are QEMU's own record
        // (raised_exception.h): a level 1 permission fault with WnR, an access flag fault.
        "dabt permission: vector 0x200 ESR 0x9600004d ELR str SPSR 0x400003c5 FAR 0x4100000100\n"
        "dabt access flag: vector 0x200 ESR 0x96000009 ELR ldr SPSR 0x600003c5 FAR 0x4140000200\n"
        "done\n");
}

TEST_CASE("arm64: an SVC with no vectors (VBAR_EL1 = 0, nothing there) stops with one line at the SVC") {
  Arm64MachineConfig cfg;
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  const uint32_t words[] = {0xd4000f61, 0xd503201f};  // svc #0x7b; nop
  auto entry = (*m)->load(arm64test::image_of(words));
  REQUIRE(entry);
  auto r = (*m)->run(*entry, 10'000);
  CHECK(r.exit_status == 1);
  INFO(r.message);
  CHECK(r.message.find("SVC (ESR_EL1 0x5600007b) with no exception vector: VBAR_EL1 0x0 + 0x200 = 0x200") !=
        std::string::npos);
  CHECK(r.message.find("PC 0x40080000: svc #0x7b") != std::string::npos);
  CHECK(r.message.find('\n') == std::string::npos);
  CHECK((*m)->cpu(0).sync_exceptions_taken() == 1);
}

namespace {
uint64_t g_seen_syndrome = 0;
void record_raised(uc_engine* uc, uint32_t, void*) {
  auto x = irqremap::arm64::raised_exception(uc);
  g_seen_syndrome = x ? x->syndrome : ~uint64_t{0};
  uc_emu_stop(uc);
}
}  // namespace

TEST_CASE("raised_exception: QEMU's syndrome of the exception Unicorn reports (SVC #0x123 -> EC 0x15, IL, imm16)") {
  uc_engine* uc = nullptr;
  REQUIRE(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) == UC_ERR_OK);
  const uint32_t svc = 0xD400'0001u | (0x123u << 5);
  REQUIRE(uc_mem_map(uc, 0x2000, 0x1000, UC_PROT_ALL) == UC_ERR_OK);
  REQUIRE(uc_mem_write(uc, 0x2000, &svc, 4) == UC_ERR_OK);
  uc_hook h = 0;
  REQUIRE(uc_hook_add(uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&record_raised), nullptr, 1, 0) == UC_ERR_OK);
  uc_emu_start(uc, 0x2000, 0x2004, 0, 1);
  uc_close(uc);
  CHECK(g_seen_syndrome == 0x5600'0123u);
}
