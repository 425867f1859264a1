// Data breakpoints and DR7.GD (Intel SDM vol. 3A §18.2.4, §18.2.5, §18.3.1.2), on a bare
// engine at CPL 0 in both execution modes, and the pure decoding of DR7 behind them.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <memory>
#include <vector>

#include "arch/x86/debug_breakpoints.h"
#include "arch/x86/idt_gate.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/x86_vcpu.h"
#include "tests/x86/code_bytes.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kCode = 0x1000, kDbHandler = 0x2000, kIdt = 0x3000, kData = 0x5000, kStack = 0x8000;

// A CPU whose #DB handler is `mov rsi, dr6; mov rdi, dr7; hlt`.
struct Rig {
  GuestMemory mem;
  LapicBus bus{1};
  IoPortBus io;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  explicit Rig(bool precise) {
    auto r = mem.add_ram(0, 0x10000, "ram");
    REQUIRE(r.has_value());
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(uc, 0, 0x10000, UC_PROT_ALL, r->host) == UC_ERR_OK);
    cpu = std::make_unique<X86Vcpu>(0, uc, mem, bus.apic(0), io);
    if (precise) cpu->set_on_insn([](uint64_t, uint32_t) {});
    const auto w = idt::encode({kDbHandler, 0, 0, idt::kInterruptGate, 0, true});
    REQUIRE(mem.write64(kIdt + 16 * 1, w[0]));
    REQUIRE(mem.write64(kIdt + 16 * 1 + 8, w[1]));
    const uint8_t handler[] = {0x0F, 0x21, 0xF6, 0x0F, 0x21, 0xFF, 0xF4};
    REQUIRE(mem.write(kDbHandler, std::as_bytes(std::span(handler))));
    uc_x86_mmr idtr{0, kIdt, 256 * 16 - 1, 0};
    uc_reg_write(uc, UC_X86_REG_IDTR, &idtr);
  }
  ~Rig() {
    cpu.reset();
    uc_close(uc);
  }
  // rax = kData + rax_offset, rbx = `dr7`; mov dr<n>, rax; mov dr7, rbx; then `body`.
  // Returns the address `body` starts at.
  uint64_t run(unsigned n, uint64_t address, uint64_t dr7, std::vector<uint8_t> body) {
    const std::vector<uint8_t> code = x86test::cat({x86test::mov64(0, address), x86test::mov64(3, dr7),
                                                    {0x0F, 0x23, uint8_t(0xC0 | n << 3), 0x0F, 0x23, 0xFB}, body});
    REQUIRE(mem.write(kCode, std::as_bytes(std::span(code))));
    cpu->reset(kCode, kStack);
    for (int i = 0; i < 10 && !cpu->halted(); ++i) REQUIRE_FALSE(cpu->step(1000).stop);
    return kCode + 26;
  }
  uint64_t reg(int id) {
    uint64_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
  }
  uint64_t frame_rip() { return *mem.read64(kStack - 40); }  // 64-bit frame, no error code
};

}  // namespace

TEST_CASE("debug breakpoints: DR7 decodes R/W and LEN, the range is LEN-aligned, any overlapping byte matches (SDM vol. 3A §18.2.4, §18.2.5)") {
  // DR1: L1, R/W 11, LEN 11 (4 bytes) at an unaligned address; DR2: G2, R/W 01, LEN 10
  // (8 bytes); DR0: an instruction breakpoint, not listed; DR3: disabled.
  const uint64_t dr7 = 0x4 | 0xF00000 | 0x20 | 0x9000000 | 0x30000;
  const auto bps = data_breakpoints(dr7, {0x100, 0x5001, 0x500C, 0x7000});
  REQUIRE(bps.size() == 2);
  CHECK(bps[0].n == 1);
  CHECK(bps[0].first == 0x5000);
  CHECK(bps[0].last == 0x5003);
  CHECK(bps[1].n == 2);
  CHECK(bps[1].first == 0x5008);
  CHECK(bps[1].last == 0x500F);
  CHECK(data_hits(bps, 0x5003, 1, false) == 0b10);
  CHECK(data_hits(bps, 0x5004, 1, false) == 0);
  CHECK(data_hits(bps, 0x4FFC, 8, false) == 0b10);  // bytes 4FFC-5003: one inside
  CHECK(data_hits(bps, 0x500F, 1, false) == 0);     // DR2 watches writes only
  CHECK(data_hits(bps, 0x500F, 1, true) == 0b100);
  CHECK(data_hits(bps, 0x5002, 8, true) == 0b110);
  // R/W 10: I/O ports, LEN-aligned the same way.
  const auto io = data_breakpoints(0x1 | 0x20000 | 0x40000, {0x71, 0, 0, 0});
  REQUIRE(io.size() == 1);
  CHECK(io_hits(io, 0x70, 1) == 1);
  CHECK(io_hits(io, 0x72, 1) == 0);
  CHECK(data_hits(io, 0x70, 1, true) == 0);
}

TEST_CASE("debug breakpoints: a write breakpoint is a #DB trap after the store: it completed, the frame's RIP is the next instruction, DR6.B0; a read there does not fire (SDM vol. 3A §18.3.1.2)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise);
    // DR0 = kData, L0, R/W0 = 01, LEN0 = 11; mov dl, [rax]; mov [rax+2], bl; nop; hlt
    const uint64_t body = rig.run(0, kData, 0xD0001, {0x8A, 0x10, 0x88, 0x58, 0x02, 0x90, 0xF4});
    CHECK(rig.cpu->halted());
    CHECK(rig.cpu->taken(1) == 1);
    CHECK(rig.frame_rip() == body + 5);  // the NOP
    CHECK(*rig.mem.read8(kData + 2) == 0x01);  // the store completed (BL = DR7's low byte)
    CHECK(rig.reg(UC_X86_REG_RSI) == 0xFFFF'0FF1);
    CHECK(rig.reg(UC_X86_REG_RIP) == kDbHandler + 7);
  }
}

TEST_CASE("debug breakpoints: R/W = 11 over a 4-byte aligned range fires for a 1-byte read inside it, not for one just outside; DR6.B1 (SDM vol. 3A §18.2.5)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise);
    // DR1 = kData + 1 (the range is kData..kData+3), L1, R/W1 = 11, LEN1 = 11;
    // mov dl, [rax+3] (kData + 4: outside); mov dl, [rax+2] (kData + 3: inside); nop; hlt
    const uint64_t body = rig.run(1, kData + 1, 0xF00004, {0x8A, 0x50, 0x03, 0x8A, 0x50, 0x02, 0x90, 0xF4});
    CHECK(rig.cpu->halted());
    CHECK(rig.cpu->taken(1) == 1);
    CHECK(rig.frame_rip() == body + 6);  // after the second read, not the first
    CHECK(rig.reg(UC_X86_REG_RSI) == 0xFFFF'0FF2);
  }
}

TEST_CASE("debug breakpoints: LEN = 10 watches 8 aligned bytes: a store to the last one fires, one past them does not; DR6.B2 (SDM vol. 3A §18.2.4)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise);
    // DR2 = kData + 8, L2, R/W2 = 01, LEN2 = 10; mov [rax+8], bl; mov [rax+7], bl; nop; hlt
    const uint64_t body = rig.run(2, kData + 8, 0x9000010, {0x88, 0x58, 0x08, 0x88, 0x58, 0x07, 0x90, 0xF4});
    CHECK(rig.cpu->halted());
    CHECK(rig.cpu->taken(1) == 1);
    CHECK(rig.frame_rip() == body + 6);
    CHECK(rig.reg(UC_X86_REG_RSI) == 0xFFFF'0FF4);
  }
}

TEST_CASE("debug breakpoints: with DR7.GD a MOV from DR0 is a #DB fault before it with DR6.BD, and GD is clear in the handler (SDM vol. 3A §18.2.4)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise);
    // DR7 = GD; mov rcx, dr0; hlt
    const uint64_t body = rig.run(0, 0, 0x2000, {0x0F, 0x21, 0xC1, 0xF4});
    CHECK(rig.cpu->halted());
    CHECK(rig.cpu->taken(1) == 1);
    CHECK(rig.frame_rip() == body);  // a fault: the MOV did not execute
    CHECK((rig.reg(UC_X86_REG_RSI) & 0xE00F) == 0x2000);  // BD, no Bn
    CHECK(rig.reg(UC_X86_REG_RDI) == 0x400);              // the handler read DR7: GD clear
    CHECK(rig.reg(UC_X86_REG_RIP) == kDbHandler + 7);
  }
}

TEST_CASE("debug breakpoints: R/W = 10 is an I/O breakpoint only with CR4.DE: OUT to the port traps after it with DR6.B3; without DE nothing fires (SDM vol. 3A §18.2.4)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig with_de(precise);
    // DR3 = port 80h, L3, R/W3 = 10, LEN3 = 00; mov rcx, cr4; or rcx, 8 (DE); mov cr4, rcx;
    // mov al, 42; out 80h, al; nop; hlt
    const uint64_t body = with_de.run(3, 0x80, 0x20000040,
                                      {0x0F, 0x20, 0xE1, 0x48, 0x83, 0xC9, 0x08, 0x0F, 0x22, 0xE1, 0xB0, 0x2A, 0xE6,
                                       0x80, 0x90, 0xF4});
    CHECK(with_de.cpu->halted());
    CHECK(with_de.cpu->taken(1) == 1);
    CHECK(with_de.frame_rip() == body + 14);  // the NOP after the OUT
    CHECK(with_de.reg(UC_X86_REG_RSI) == 0xFFFF'0FF8);
    Rig without_de(precise);
    without_de.run(3, 0x80, 0x20000040, {0xB0, 0x2A, 0xE6, 0x80, 0x90, 0xF4});
    CHECK(without_de.cpu->halted());
    CHECK(without_de.cpu->taken(1) == 0);
  }
}
