// What the x86 vCPU's fast mode (x86_vcpu.h, "Execution") relies on, checked against
// libunicorn 2.0.1 itself on a bare engine (one fact a case), then the fast mode's own
// promises on an X86Vcpu: interrupts at the architected boundary, exact budgets, counts
// equal to the precise mode's.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <cstring>
#include <utility>
#include <vector>

#include "arch/x86/debug_exit.h"
#include "arch/x86/idt_gate.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/pause_latency.h"
#include "arch/x86/x86_vcpu.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kCode = 0x1000;

// A bare 64-bit engine with 64 KiB of RAM at 0x1000 holding `code` at kCode.
struct Engine {
  uc_engine* uc = nullptr;
  std::vector<uint8_t> ram = std::vector<uint8_t>(0x10000);
  Engine(const std::vector<uint8_t>& code, uint32_t prot = UC_PROT_ALL) {
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    std::memcpy(ram.data(), code.data(), code.size());
    REQUIRE(uc_mem_map_ptr(uc, kCode, ram.size(), prot, ram.data()) == UC_ERR_OK);
    set(UC_X86_REG_RSP, kCode + 0x8000);
    uc_ctl_exits_enable(uc);
  }
  ~Engine() { uc_close(uc); }
  uint64_t reg(int r) const {
    uint64_t v = 0;
    uc_reg_read(uc, r, &v);
    return v;
  }
  void set(int r, uint64_t v) { uc_reg_write(uc, r, &v); }
  uc_err run(uint64_t from = kCode) { return uc_emu_start(uc, from, 0, 0, 0); }
  template <typename F>
  uc_hook hook(int type, F* f, void* user, uint64_t begin = 1, uint64_t end = 0) {
    uc_hook h = 0;
    REQUIRE(uc_hook_add(uc, &h, type, reinterpret_cast<void*>(f), user, begin, end) == UC_ERR_OK);
    return h;
  }
};

struct Seen {
  std::vector<std::pair<uint64_t, uint32_t>> blocks;  // address, size
  std::vector<uint16_t> icounts;                      // uc_ctl_request_cache's, per block
  int stop_at = -1;                                   // stop in the block hook of this block
  int fetches = 0;
  std::vector<uint64_t> codes;
};

void on_block(uc_engine* uc, uint64_t address, uint32_t size, void* p) {
  auto* s = static_cast<Seen*>(p);
  uc_tb tb{};
  s->icounts.push_back(uc_ctl_request_cache(uc, address, &tb) == UC_ERR_OK && tb.size == size ? tb.icount : 0);
  s->blocks.emplace_back(address, size);
  if (int(s->blocks.size()) == s->stop_at) uc_emu_stop(uc);
}

bool on_fetch(uc_engine*, uc_mem_type, uint64_t, int, int64_t, void* p) {
  ++static_cast<Seen*>(p)->fetches;
  return true;
}

void on_code(uc_engine*, uint64_t address, uint32_t, void* p) { static_cast<Seen*>(p)->codes.push_back(address); }

}  // namespace

TEST_CASE("unicorn x86: the block hook gives each block's address and size, request_cache its instruction count; STI ends its block and the shadow is a block of one instruction") {
  // nop; mov eax,1; sti | nop | cli; add rax,rbx; hlt
  Engine e({0x90, 0xB8, 1, 0, 0, 0, 0xFB, 0x90, 0xFA, 0x48, 0x01, 0xD8, 0xF4});
  Seen s;
  e.hook(UC_HOOK_BLOCK, on_block, &s);
  REQUIRE(e.run() == UC_ERR_OK);
  using B = std::pair<uint64_t, uint32_t>;
  CHECK(s.blocks == std::vector<B>{{kCode, 7}, {kCode + 7, 1}, {kCode + 8, 5}});
  CHECK(s.icounts == std::vector<uint16_t>{3, 1, 3});
  CHECK(e.reg(UC_X86_REG_RIP) == kCode + 13);  // HLT ends the run with RIP after it
}

TEST_CASE("unicorn x86: POPF ends its block, so a window it opens is followed by a block boundary") {
  // push 0x202; popf | nop; nop; hlt
  Engine e({0x68, 0x02, 0x02, 0, 0, 0x9D, 0x90, 0x90, 0xF4});
  Seen s;
  e.hook(UC_HOOK_BLOCK, on_block, &s);
  REQUIRE(e.run() == UC_ERR_OK);
  REQUIRE(s.blocks.size() == 2);
  CHECK(s.blocks[0] == std::pair<uint64_t, uint32_t>{kCode, 6});
  CHECK((e.reg(UC_X86_REG_RFLAGS) & 0x200) != 0);
}

TEST_CASE("unicorn x86: PUSHF copies RFLAGS.RF into its image (the SDM's PUSHF clears RF and VM there), so the vCPU clears RF before a PUSHF runs") {
  // pushfq; pop rax; hlt, entered with RF set (as an IRET whose image had RF leaves it)
  Engine e({0x9C, 0x58, 0xF4});
  e.set(UC_X86_REG_RFLAGS, 0x1'0002);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK((e.reg(UC_X86_REG_RAX) & 0x1'0000) != 0);
}
TEST_CASE("unicorn x86: PAUSE ends its block and the run goes on at the next instruction, inside the same uc_emu_start") {
  // nop; pause | nop; hlt
  Engine e({0x90, 0xF3, 0x90, 0x90, 0xF4});
  Seen s;
  e.hook(UC_HOOK_BLOCK, on_block, &s);
  REQUIRE(e.run() == UC_ERR_OK);
  using B = std::pair<uint64_t, uint32_t>;
  CHECK(s.blocks == std::vector<B>{{kCode, 3}, {kCode + 3, 2}});
  CHECK(s.icounts == std::vector<uint16_t>{2, 2});
  CHECK(e.reg(UC_X86_REG_RIP) == kCode + 5);  // HLT ended the run
}

TEST_CASE("unicorn x86: RAM without execute permission reaches the fetch hook when a block is translated, never when it runs again") {
  Engine e({0x90, 0x90, 0xF4}, UC_PROT_READ | UC_PROT_WRITE);
  Seen s;
  e.hook(UC_HOOK_MEM_FETCH_PROT, on_fetch, &s);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(s.fetches == 3);  // each byte of the block, once
  s.fetches = 0;
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(s.fetches == 0);
}

TEST_CASE("unicorn x86: a code hook added after a block was translated is not called until uc_ctl_remove_cache drops the block") {
  Engine e({0x90, 0x90, 0x90, 0xF4});
  Seen s;
  REQUIRE(e.run() == UC_ERR_OK);
  e.hook(UC_HOOK_CODE, on_code, &s, kCode + 2, kCode + 2);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(s.codes.empty());
  REQUIRE(uc_ctl_remove_cache(e.uc, kCode, kCode + 4) == UC_ERR_OK);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(s.codes == std::vector<uint64_t>{kCode + 2});
}

TEST_CASE("unicorn x86: uc_emu_stop in the block hook ends the run before the block executes") {
  // inc rbx; jmp +0 | inc rcx; hlt
  Engine e({0x48, 0xFF, 0xC3, 0xEB, 0x00, 0x48, 0xFF, 0xC1, 0xF4});
  Seen s;
  s.stop_at = 2;
  e.hook(UC_HOOK_BLOCK, on_block, &s);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(e.reg(UC_X86_REG_RBX) == 1);
  CHECK(e.reg(UC_X86_REG_RCX) == 0);
}

TEST_CASE("unicorn x86: a code hook that writes RIP skips its instruction and the block goes on at the written RIP") {
  // nop; rdtsc; inc rbx; nop; hlt   (the hook performs the RDTSC: RAX = 42)
  Engine e({0x90, 0x0F, 0x31, 0x48, 0xFF, 0xC3, 0x90, 0xF4});
  auto skip = [](uc_engine* uc, uint64_t address, uint32_t size, void*) {
    const uint64_t next = address + size, rax = 42;
    uc_reg_write(uc, UC_X86_REG_RAX, &rax);
    uc_reg_write(uc, UC_X86_REG_RIP, &next);
  };
  e.hook(UC_HOOK_CODE, +skip, nullptr, kCode + 1, kCode + 1);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(e.reg(UC_X86_REG_RAX) == 42);
  CHECK(e.reg(UC_X86_REG_RBX) == 1);  // the rest of the block ran once
  CHECK(e.reg(UC_X86_REG_RIP) == kCode + 8);
}

TEST_CASE("unicorn x86: an unmapped access ends the run with RIP at its block, not at the instruction (without a code hook)") {
  // inc rbx; mov rax,[0x100000]; inc rbx; hlt
  Engine e({0x48, 0xFF, 0xC3, 0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x10, 0x00, 0x48, 0xFF, 0xC3, 0xF4});
  CHECK(e.run() == UC_ERR_READ_UNMAPPED);
  CHECK(e.reg(UC_X86_REG_RBX) == 1);  // the instruction before it ran ...
  CHECK(e.reg(UC_X86_REG_RIP) == kCode);  // ... and RIP is the block's start
}

TEST_CASE("unicorn x86: an unmapped hook that maps the page and returns true lets the access go on there") {
  Engine e({0x48, 0x8B, 0x04, 0x25, 0x08, 0x00, 0x10, 0x00, 0xF4});  // mov rax,[0x100008]; hlt
  static std::vector<uint8_t> page(0x1000, 0x5A);
  auto map = [](uc_engine* uc, uc_mem_type, uint64_t address, int, int64_t, void*) {
    return uc_mem_map_ptr(uc, address & ~uint64_t{0xFFF}, 0x1000, UC_PROT_ALL, page.data()) == UC_ERR_OK;
  };
  e.hook(UC_HOOK_MEM_UNMAPPED, +map, nullptr);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(e.reg(UC_X86_REG_RAX) == 0x5A5A'5A5A'5A5A'5A5Aull);
}

TEST_CASE("unicorn x86: with a page mapped at an unmapped VA the guest's tables leave not present, Unicorn's own walk raises the #PF at the instruction") {
  // 4-level paging identity-maps 0-2 MiB; VA 0x4000_0000 is not present.
  // inc rbx; mov rax,[0x40000000]; inc rbx; hlt
  std::vector<uint8_t> code{0x48, 0xFF, 0xC3, 0x48, 0x8B, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0x48, 0xFF, 0xC3, 0xF4};
  Engine e(code);
  // Tables in the engine's RAM (PA = VA below 2 MiB): PML4 0x2000, PDPT 0x3000, PD 0x4000.
  const uint64_t pml4 = 0x3000 | 3, pdpt = 0x4000 | 3, pd = 0x83;
  std::memcpy(e.ram.data() + 0x1000, &pml4, 8);
  std::memcpy(e.ram.data() + 0x2000, &pdpt, 8);
  std::memcpy(e.ram.data() + 0x3000, &pd, 8);
  e.set(UC_X86_REG_CR3, 0x2000);
  e.set(UC_X86_REG_CR4, 0x20);
  e.set(UC_X86_REG_CR0, e.reg(UC_X86_REG_CR0) | 0x8000'0000ull);
  static std::vector<uint8_t> scratch(0x1000);
  auto map = [](uc_engine* uc, uc_mem_type, uint64_t address, int, int64_t, void*) {
    return uc_mem_map_ptr(uc, address & ~uint64_t{0xFFF}, 0x1000, UC_PROT_READ | UC_PROT_WRITE, scratch.data()) ==
           UC_ERR_OK;
  };
  struct Raised {
    uint32_t intno = 0;
    uint64_t rip = 0;
  } raised;
  auto intr = [](uc_engine* uc, uint32_t intno, void* p) {
    auto* r = static_cast<Raised*>(p);
    r->intno = intno;
    uc_reg_read(uc, UC_X86_REG_RIP, &r->rip);
    uc_emu_stop(uc);
  };
  e.hook(UC_HOOK_MEM_UNMAPPED, +map, nullptr);
  e.hook(UC_HOOK_INTR, +intr, &raised);
  REQUIRE(e.run() == UC_ERR_OK);
  CHECK(raised.intno == 14);
  CHECK(raised.rip == kCode + 3);  // the MOV: nothing after it ran
  CHECK(e.reg(UC_X86_REG_CR2) == 0x4000'0000);
  CHECK(e.reg(UC_X86_REG_RBX) == 1);
}

// --- the vCPU's fast mode ----------------------------------------------------------------

namespace {

constexpr uint64_t kIdt = 0x3000, kHandler = 0x2000, kStack = 0x8000;

struct Rig {
  GuestMemory mem;
  LapicBus bus{1};
  IoPortBus io;
  DebugExit exit;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  Rig() {
    auto r = mem.add_ram(0, 0x10000, "ram");
    REQUIRE(r.has_value());
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(uc, 0, 0x10000, UC_PROT_ALL, r->host) == UC_ERR_OK);
    REQUIRE(io.add(0xF4, exit));
    cpu = std::make_unique<X86Vcpu>(0, uc, mem, bus.apic(0), io);
    cpu->set_after_out([this] { if (exit.exit_requested()) uc_emu_stop(uc); });
    uc_x86_mmr idtr{0, kIdt, 256 * 16 - 1, 0};
    uc_reg_write(uc, UC_X86_REG_IDTR, &idtr);
    bus.apic(0).mmio_write(apic::SVR, 4, 0x1FF);
  }
  ~Rig() {
    cpu.reset();
    uc_close(uc);
  }
  void code(uint64_t at, const std::vector<uint8_t>& bytes) { REQUIRE(mem.write(at, std::as_bytes(std::span(bytes)))); }
  void gate(uint8_t vector, uint64_t handler) {
    const auto w = idt::encode({handler, 0, 0, idt::kInterruptGate, 0, true});
    REQUIRE(mem.write64(kIdt + 16u * vector, w[0]));
    REQUIRE(mem.write64(kIdt + 16u * vector + 8, w[1]));
  }
  uint64_t reg(int id) const {
    uint64_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
  }
  // Quanta as the scheduler runs them: interrupts first, then a step.
  uint64_t run(uint64_t quantum, int quanta = 50) {
    uint64_t n = 0;
    for (int i = 0; i < quanta && !exit.exit_requested() && !cpu->error(); ++i) {
      cpu->service_interrupts();
      if (cpu->state() != arch::VcpuState::Running) break;
      const arch::StepResult r = cpu->step(quantum, false);
      n += r.executed;
      if (r.stop) break;
    }
    return n;
  }
};

}  // namespace

TEST_CASE("fast mode: sti; nop; cli with an interrupt pending takes it after the NOP, in the middle of what was one run (SDM STI)") {
  Rig rig;
  // sti; nop; cli; hlt   and a handler that exits
  rig.code(kCode, {0xFB, 0x90, 0xFA, 0xF4});
  rig.code(kHandler, {0xB0, 0x21, 0xE6, 0xF4});  // mov al,0x21; out 0xf4,al
  rig.gate(0x41, kHandler);
  rig.cpu->reset(kCode, kStack);
  rig.bus.route(ApicDelivery{0, false, false, 0x41, 0, false, true});
  rig.run(1'000'000);
  CHECK(rig.cpu->taken(0x41) == 1);
  CHECK(*rig.mem.read64(kStack - 40) == kCode + 2);  // the frame's RIP: the CLI, after the shadow
  CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));
}

TEST_CASE("fast mode: a budget is kept to the instruction inside a block, and the block is not run twice") {
  Rig rig;
  // inc rbx x6; hlt   (one block)
  rig.code(kCode, {0x48, 0xFF, 0xC3, 0x48, 0xFF, 0xC3, 0x48, 0xFF, 0xC3, 0x48, 0xFF, 0xC3, 0x48, 0xFF, 0xC3, 0x48,
                   0xFF, 0xC3, 0xF4});
  rig.cpu->reset(kCode, kStack);
  const arch::StepResult r = rig.cpu->step(4, true);
  CHECK(r.executed == 4);
  CHECK(rig.reg(UC_X86_REG_RBX) == 4);
  CHECK(rig.cpu->rip() == kCode + 12);
  const arch::StepResult rest = rig.cpu->step(100, false);
  CHECK(rest.executed == 3);  // two INCs and the HLT
  CHECK(rig.reg(UC_X86_REG_RBX) == 6);
  CHECK(rig.cpu->halted());
}

TEST_CASE("fast mode: instructions are counted as the precise mode counts them, and RDTSC inside a block sees its own position") {
  // mov ecx,100; l: dec ecx; jnz l; rdtsc; mov r8,rax; nop; nop; nop; rdtsc; hlt
  const std::vector<uint8_t> code{0xB9, 100, 0, 0, 0, 0xFF, 0xC9, 0x75, 0xFC, 0x0F, 0x31,
                                  0x49, 0x89, 0xC0, 0x90, 0x90, 0x90, 0x0F, 0x31, 0xF4};
  uint64_t counted[2] = {0, 0};
  for (int precise = 0; precise < 2; ++precise) {
    CAPTURE(precise);
    Rig rig;
    rig.code(kCode, code);
    if (precise) rig.cpu->set_on_insn([](uint64_t, uint32_t) {});
    rig.cpu->reset(kCode, kStack);
    counted[precise] = rig.run(precise ? 7 : 1'000'000);
    CHECK(rig.cpu->halted());
    CHECK(rig.reg(UC_X86_REG_RAX) - rig.reg(UC_X86_REG_R8) == 5);
  }
  CHECK(counted[0] == 1 + 200 + 7);
  CHECK(counted[1] == counted[0]);
}

TEST_CASE("fast mode: code the guest rewrites is decoded again, so an RDTSC written over NOPs is trapped, not run natively") {
  Rig rig;
  // 0x1000: call 0x1100; mov word [0x1100], 0x310F (rdtsc over the first two NOPs); call 0x1100; hlt
  // 0x1100: nop; nop; ret
  rig.code(kCode, {0xE8, 0xFB, 0x00, 0x00, 0x00,                          // call 0x1100
                   0x66, 0xC7, 0x04, 0x25, 0x00, 0x11, 0x00, 0x00, 0x0F, 0x31,  // mov word [0x1100], 0x310f
                   0xE8, 0xEC, 0x00, 0x00, 0x00,                          // call 0x1100
                   0xF4});
  rig.code(0x1100, {0x90, 0x90, 0xC3});
  rig.cpu->set_clock([] { return uint64_t{0x1234'5678'9ABC}; });
  rig.cpu->reset(kCode, kStack);
  rig.run(1'000'000);
  CHECK(rig.cpu->halted());
  CHECK(rig.reg(UC_X86_REG_RAX) == 0x5678'9ABC);  // the machine's clock, not the host's TSC
  CHECK(rig.reg(UC_X86_REG_RDX) == 0x1234);
}

TEST_CASE("fast mode: a PAUSE is one instruction of the count and 140 instruction-times of the clock, as in precise mode (pause_latency.h)") {
  // rdtsc; mov r8,rax; pause; rdtsc; pause; hlt
  const std::vector<uint8_t> code{0x0F, 0x31, 0x49, 0x89, 0xC0, 0xF3, 0x90, 0x0F, 0x31, 0xF3, 0x90, 0xF4};
  for (int precise = 0; precise < 2; ++precise) {
    CAPTURE(precise);
    Rig rig;
    rig.code(kCode, code);
    if (precise) rig.cpu->set_on_insn([](uint64_t, uint32_t) {});
    rig.cpu->reset(kCode, kStack);
    CHECK(rig.run(1'000'000) == 6);
    CHECK(rig.cpu->halted());
    // MOV, PAUSE and the second RDTSC: 1 + 140 + 1.
    CHECK(rig.reg(UC_X86_REG_RAX) - rig.reg(UC_X86_REG_R8) == 142);
    CHECK(rig.cpu->stall_of_step() == 2 * kPauseStall);  // the PAUSE before the HLT too
  }
}

TEST_CASE("fast mode: a quantum is time, so a CPU spinning on PAUSE ends its turn after as many instruction-times as any other; an exact budget counts instructions") {
  // l: pause; jmp l
  const std::vector<uint8_t> code{0xF3, 0x90, 0xEB, 0xFC};
  for (int precise = 0; precise < 2; ++precise) {
    CAPTURE(precise);
    Rig rig;
    rig.code(kCode, code);
    if (precise) rig.cpu->set_on_insn([](uint64_t, uint32_t) {});
    rig.cpu->reset(kCode, kStack);
    // 200 instruction-times: PAUSE, JMP (141), PAUSE (281 >= 200): the turn ends before
    // the next JMP, as precise mode ends it and fast mode at that block boundary.
    const arch::StepResult r = rig.cpu->step(200, false);
    CHECK(r.executed == 3);
    CHECK(rig.cpu->stall_of_step() == 2 * kPauseStall);
    const arch::StepResult exact = rig.cpu->step(5, true);
    CHECK(exact.executed == 5);
    CHECK(rig.cpu->rip() == kCode);  // JMP, PAUSE, JMP, PAUSE, JMP: at the PAUSE again
  }
}
