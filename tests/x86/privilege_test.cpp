// Privilege changes on a bare engine with the x86 vCPU (Intel SDM vol. 3A §6.12, §6.14,
// §8.7): IRETQ to CPL 3 (Unicorn's own), INT n back to CPL 0 on TSS.RSP0, IST stacks, a
// gate's DPL against INT n, a not-present gate, a bad TSS and a bad gate selector, each
// the architected fault; in fast mode (block hooks) and precise mode (per instruction).
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <memory>
#include <vector>

#include "arch/x86/idt_gate.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/x86_vcpu.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kCode = 0x1000, kUser = 0x1100, kIdt = 0x3000, kGdt = 0x4000, kTss = 0x5000, kLog = 0x6000;
constexpr uint64_t kKernelStack = 0x8000, kUserStack = 0x7000, kRsp0 = 0x9000, kIst1 = 0xB000;
constexpr uint16_t kTr = 0x28;
// Entry points in kProgram (assembled with GNU as, offsets from kUser).
constexpr uint64_t kHandlerA = kUser + 0x0D, kGpHandler = kUser + 0x1A, kNpHandler = kUser + 0x69,
                   kIstHandler = kUser + 0x81, kFinal = kUser + 0x8B;
// user:  int 0x20; int 0x21; int 0x22; int 0x23; mov rax, cr0; int 0x24
// A:     mov [0x6000], rsp; mov rax, cr0; iretq
// #GP:   log the error code at 0x6100 + 8n and the RIP at 0x6200 + 8n (n at 0x6030), skip
//        the instruction (2 bytes for INT n, else 3), iretq
// #NP:   error code to 0x6050, skip 2, iretq
// IST:   mov [0x6060], rsp; iretq
// final: mov [0x6070], rsp; hlt
const std::vector<uint8_t> kProgram = {
    0xCD, 0x20, 0xCD, 0x21, 0xCD, 0x22, 0xCD, 0x23, 0x0F, 0x20, 0xC0, 0xCD, 0x24, 0x48, 0x89, 0x24, 0x25, 0x00,
    0x60, 0x00, 0x00, 0x0F, 0x20, 0xC0, 0x48, 0xCF, 0x48, 0x8B, 0x04, 0x25, 0x30, 0x60, 0x00, 0x00, 0x48, 0x8B,
    0x1C, 0x24, 0x48, 0x89, 0x1C, 0xC5, 0x00, 0x61, 0x00, 0x00, 0x48, 0x8B, 0x5C, 0x24, 0x08, 0x48, 0x89, 0x1C,
    0xC5, 0x00, 0x62, 0x00, 0x00, 0x48, 0xFF, 0xC0, 0x48, 0x89, 0x04, 0x25, 0x30, 0x60, 0x00, 0x00, 0x48, 0xC7,
    0xC1, 0x03, 0x00, 0x00, 0x00, 0x48, 0xC7, 0xC2, 0x02, 0x00, 0x00, 0x00, 0x80, 0x3B, 0xCD, 0x48, 0x0F, 0x44,
    0xCA, 0x48, 0x01, 0xCB, 0x48, 0x89, 0x5C, 0x24, 0x08, 0x48, 0x83, 0xC4, 0x08, 0x48, 0xCF, 0x48, 0x8B, 0x04,
    0x24, 0x48, 0x89, 0x04, 0x25, 0x50, 0x60, 0x00, 0x00, 0x48, 0x83, 0x44, 0x24, 0x08, 0x02, 0x48, 0x83, 0xC4,
    0x08, 0x48, 0xCF, 0x48, 0x89, 0x24, 0x25, 0x60, 0x60, 0x00, 0x00, 0x48, 0xCF, 0x48, 0x89, 0x24, 0x25, 0x70,
    0x60, 0x00, 0x00, 0xF4};
// Null, kernel code 0x08, kernel data 0x10, user data 0x18 (DPL 3), user code 0x20 (DPL 3),
// then the 16-byte 64-bit TSS descriptor at 0x28 (SDM vol. 3A §8.2.3).
constexpr uint64_t kDescriptors[] = {0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF, 0x00CFF2000000FFFF,
                                     0x00AFFA000000FFFF, 0x0000890050000067, 0};

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
    REQUIRE(mem.write(kUser, std::as_bytes(std::span(kProgram))));
    for (size_t i = 0; i < std::size(kDescriptors); ++i) REQUIRE(mem.write64(kGdt + 8 * i, kDescriptors[i]));
    REQUIRE(mem.write64(kTss + 0x04, kRsp0));  // RSP0
    REQUIRE(mem.write64(kTss + 0x24, kIst1));  // IST1
    gate(0x20, kHandlerA, 3);
    gate(0x21, kHandlerA, 0);
    gate(0x22, kIstHandler, 3, 1);
    gate(0x23, kHandlerA, 3, 0, false);
    gate(0x24, kFinal, 3);
    gate(13, kGpHandler, 0);
    gate(11, kNpHandler, 0);
    uc_x86_mmr idtr{0, kIdt, 256 * 16 - 1, 0}, gdtr{0, kGdt, uint32_t(sizeof kDescriptors - 1), 0};
    uc_x86_mmr tr{kTr, kTss, 0x67, 0x89};
    uc_reg_write(uc, UC_X86_REG_IDTR, &idtr);
    uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr);
    uc_reg_write(uc, UC_X86_REG_TR, &tr);
    // The kernel's first instruction, IRETQ to CPL 3 at the user code (Unicorn's own IRETQ).
    const uint8_t iretq[] = {0x48, 0xCF};
    REQUIRE(mem.write(kCode, std::as_bytes(std::span(iretq))));
    const uint64_t frame[] = {kUser, 0x23, 0x202, kUserStack, 0x1B};  // RIP, CS, RFLAGS, RSP, SS
    for (size_t i = 0; i < 5; ++i) REQUIRE(mem.write64(kKernelStack - 40 + 8 * i, frame[i]));
    cpu->reset(kCode, kKernelStack - 40);
  }
  ~Rig() {
    cpu.reset();
    uc_close(uc);
  }
  void gate(uint8_t vector, uint64_t handler, uint8_t dpl, uint8_t ist = 0, bool present = true) {
    const auto w = idt::encode({handler, 0x08, ist, idt::kInterruptGate, dpl, present});
    REQUIRE(mem.write64(kIdt + 16u * vector, w[0]));
    REQUIRE(mem.write64(kIdt + 16u * vector + 8, w[1]));
  }
  // Steps until the CPU halts or stops.
  std::optional<arch::StopRequest> run() {
    for (int i = 0; i < 50 && !cpu->halted(); ++i) {
      arch::StepResult r = cpu->step(1000);
      if (r.stop) return r.stop;
    }
    return std::nullopt;
  }
  uint64_t log(uint64_t at) { return *mem.read64(at); }
  uint64_t reg(int id) {
    uint64_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
  }
};

}  // namespace

TEST_CASE("privilege: IRETQ to CPL 3, INT n to CPL 0 on TSS.RSP0, IST1, #GP(vector*8+2) for a DPL 0 gate, #NP for P=0, #GP(0) for MOV from CR0 at CPL 3 (SDM §6.12.1, §6.14)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise);
    const auto stop = rig.run();
    REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
    REQUIRE(rig.cpu->halted());
    // INT 0x20 from CPL 3: the handler ran at CPL 0 (its MOV from CR0 did not fault) on the
    // stack from TSS.RSP0, with the five-word frame below it.
    CHECK(rig.log(kLog) == kRsp0 - 40);
    // Two #GPs: INT 0x21 through a DPL 0 gate (error code 0x21*8+2, RIP the INT itself) and
    // MOV from CR0 at CPL 3 (0, at the MOV) — both after IRETQs back to CPL 3.
    REQUIRE(rig.log(0x6030) == 2);
    CHECK(rig.log(0x6100) == 0x21 * 8 + 2);
    CHECK(rig.log(0x6200) == kUser + 2);
    CHECK(rig.log(0x6108) == 0);
    CHECK(rig.log(0x6208) == kUser + 8);
    CHECK(rig.log(0x6050) == 0x23 * 8 + 2);  // #NP: IDT bit, no EXT (INT n)
    CHECK(rig.log(0x6060) == kIst1 - 40);    // IST1 instead of RSP0
    // The last INT: CPL 0 in CS 0x08 with SS the null selector (RPL 0), the user's SS:RSP
    // and CS in the frame.
    CHECK(rig.log(0x6070) == kRsp0 - 40);
    CHECK(rig.reg(UC_X86_REG_CS) == 0x08);
    CHECK(rig.reg(UC_X86_REG_SS) == 0);
    CHECK(rig.log(kRsp0 - 40) == kUser + 13);  // RIP after INT 0x24
    CHECK(rig.log(kRsp0 - 32) == 0x23);
    CHECK(rig.log(kRsp0 - 16) == kUserStack);
    CHECK(rig.log(kRsp0 - 8) == 0x1B);
    CHECK(rig.cpu->taken(0x20) == 1);
    CHECK(rig.cpu->taken(13) == 2);
  }
}

TEST_CASE("privilege: a TSS too short for RSP0 is #TS, then #DF, then a triple fault that stops the run with one line (SDM §6.14.4, Table 6-5)") {
  Rig rig(false);
  uc_x86_mmr tr{kTr, kTss, 0x03, 0x89};  // RSP0 at bytes 4..11 lies outside
  uc_reg_write(rig.uc, UC_X86_REG_TR, &tr);
  rig.gate(10, kFinal, 0);
  rig.gate(8, kFinal, 0);
  const auto stop = rig.run();
  REQUIRE(stop);
  CHECK(stop->kind == arch::StopKind::GuestFault);
  CHECK(stop->what.find("triple fault") != std::string::npos);
  CHECK(stop->what.find("TR.limit") != std::string::npos);
  CHECK(stop->what.find("#DF") != std::string::npos);
}

TEST_CASE("privilege: a gate whose selector lies beyond the GDT raises #GP(selector + EXT) for an exception, delivered through the #GP gate (SDM §6.13)") {
  Rig rig(false);
  // #UD from CPL 0 through a gate naming selector 0x80 (beyond GDTR.limit).
  const uint8_t ud2[] = {0x0F, 0x0B};
  REQUIRE(rig.mem.write(kCode, std::as_bytes(std::span(ud2))));
  const auto w = idt::encode({kFinal, 0x80, 0, idt::kInterruptGate, 0, true});
  REQUIRE(rig.mem.write64(kIdt + 16u * 6, w[0]));
  REQUIRE(rig.mem.write64(kIdt + 16u * 6 + 8, w[1]));
  rig.gate(13, kFinal, 0);
  const auto stop = rig.run();
  REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
  REQUIRE(rig.cpu->halted());
  CHECK(rig.cpu->taken(13) == 1);
  const uint64_t top = (kKernelStack - 40) & ~uint64_t{0xF};  // the same stack, aligned (§6.14.2)
  CHECK(rig.log(top - 48) == (0x80 | 1));                     // error code
  CHECK(rig.log(top - 40) == kCode);                          // the faulting UD2
}

TEST_CASE("privilege: with CR4.UMIP, STR at CPL 3 is #GP(0) at the instruction; at CPL 0 it runs (SDM vol. 3A §2.5, STR)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise);
    // user: str eax (0F 00 C8); int 0x24
    const uint8_t user[] = {0x0F, 0x00, 0xC8, 0xCD, 0x24};
    REQUIRE(rig.mem.write(kUser, std::as_bytes(std::span(user))));
    uint64_t cr4 = 0;
    uc_reg_read(rig.uc, UC_X86_REG_CR4, &cr4);
    cr4 |= kCr4UMIP;
    uc_reg_write(rig.uc, UC_X86_REG_CR4, &cr4);
    const auto stop = rig.run();
    REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
    REQUIRE(rig.cpu->halted());
    REQUIRE(rig.log(0x6030) == 1);
    CHECK(rig.log(0x6100) == 0);
    CHECK(rig.log(0x6200) == kUser);
    // Back at CPL 0 (the final handler), STR runs.
    const uint8_t kernel[] = {0x0F, 0x00, 0xC8, 0xF4};  // str eax; hlt
    REQUIRE(rig.mem.write(0x1800, std::as_bytes(std::span(kernel))));
    rig.cpu->set_halted(false);
    const uint64_t at = 0x1800;
    uc_reg_write(rig.uc, UC_X86_REG_RIP, &at);
    REQUIRE_FALSE(rig.run());
    CHECK(rig.reg(UC_X86_REG_RAX) == kTr);
    CHECK(rig.log(0x6030) == 1);
  }
}

TEST_CASE("unicorn 2.0.1: IRETQ to CPL 3 is the engine's own, and CS/SS's hidden parts and the CPL are found in its saved context (segment_state.h)") {
  const auto s = SegmentState::locate();
  REQUIRE_MESSAGE(s, (s ? "" : s.error()));
  CHECK(s->hflags_offset() + 32 == s->cs_offset());  // hflags, hflags2, then ES before CS
}

TEST_CASE("privilege: IRETQ to a CS beyond the GDT is #GP(selector) at the IRETQ, raised by Unicorn's own IRETQ and delivered at CPL 0 (SDM IRET, Protected Mode Exceptions)") {
  Rig rig(false);
  REQUIRE(rig.mem.write64(kKernelStack - 40 + 8, 0x83));  // the frame's CS: index 16, RPL 3
  rig.gate(13, kFinal, 0);
  const auto stop = rig.run();
  REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
  REQUIRE(rig.cpu->halted());
  CHECK(rig.cpu->taken(13) == 1);
  const uint64_t frame = rig.log(0x6070);  // the handler's RSP: error code, RIP, CS, ...
  CHECK(rig.log(frame) == 0x80);           // #GP(selector): the engine's own code (error_code_record.h)
  CHECK(rig.log(frame + 8) == kCode);      // the IRETQ itself
  CHECK(rig.log(frame + 16) == 0);         // CS at the fault: still Unicorn's reset CS at CPL 0
  CHECK(rig.reg(UC_X86_REG_CS) == 0x08);
}

TEST_CASE("unicorn 2.0.1: the error code of an exception the engine raised is found in its saved context (error_code_record.h)") {
  const auto r = ErrorCodeRecord::locate();
  REQUIRE_MESSAGE(r, (r ? "" : r.error()));
}
