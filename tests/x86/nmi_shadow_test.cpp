// NMI blocking and the MOV SS interrupt shadow on a bare engine with the x86 vCPU (Intel SDM
// vol. 3A §6.7.1 "Handling Multiple NMIs", §6.8.3 "Masking Exceptions and Interrupts When
// Switching Stacks"), in fast mode (block hooks) and precise mode (per instruction).
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

constexpr uint64_t kCode = 0x1000, kMain = 0x1100, kNmi = 0x1200, kIrq = 0x1300, kIdt = 0x3000, kGdt = 0x4000;
constexpr uint64_t kCount = 0x6000, kStack = 0x8000;
// Null, 64-bit kernel code 0x08, kernel data 0x10.
constexpr uint64_t kDescriptors[] = {0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF};

struct Rig {
  GuestMemory mem;
  LapicBus bus{1};
  IoPortBus io;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  // `main` runs at CPL 0 in CS 0x08 with RFLAGS = `rflags`, entered by an IRETQ (Unicorn's).
  Rig(bool precise, const std::vector<uint8_t>& main, uint64_t rflags) {
    auto r = mem.add_ram(0, 0x10000, "ram");
    REQUIRE(r.has_value());
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(uc, 0, 0x10000, UC_PROT_ALL, r->host) == UC_ERR_OK);
    cpu = std::make_unique<X86Vcpu>(0, uc, mem, bus.apic(0), io);
    if (precise) cpu->set_on_insn([](uint64_t, uint32_t) {});
    for (size_t i = 0; i < std::size(kDescriptors); ++i) REQUIRE(mem.write64(kGdt + 8 * i, kDescriptors[i]));
    put(kMain, main);
    // NMI: inc qword [kCount]; hlt; iretq.   IRQ 0x41: inc qword [kCount + 8]; hlt; iretq.
    put(kNmi, {0x48, 0xFF, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, 0xF4, 0x48, 0xCF});
    put(kIrq, {0x48, 0xFF, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00, 0xF4, 0x48, 0xCF});
    gate(2, kNmi);
    gate(0x41, kIrq);
    uc_x86_mmr idtr{0, kIdt, 256 * 16 - 1, 0}, gdtr{0, kGdt, uint32_t(sizeof kDescriptors - 1), 0};
    uc_reg_write(uc, UC_X86_REG_IDTR, &idtr);
    uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr);
    bus.apic(0).mmio_write(apic::SVR, 4, 0x1FF);
    put(kCode, {0x48, 0xCF});
    const uint64_t frame[] = {kMain, 0x08, rflags, kStack, 0x10};  // RIP, CS, RFLAGS, RSP, SS
    for (size_t i = 0; i < 5; ++i) REQUIRE(mem.write64(kStack - 0x100 + 8 * i, frame[i]));
    cpu->reset(kCode, kStack - 0x100);
  }
  ~Rig() {
    cpu.reset();
    uc_close(uc);
  }
  void put(uint64_t at, const std::vector<uint8_t>& code) { REQUIRE(mem.write(at, std::as_bytes(std::span(code)))); }
  void gate(uint8_t vector, uint64_t handler) {
    const auto w = idt::encode({handler, 0x08, 0, idt::kInterruptGate, 0, true});
    REQUIRE(mem.write64(kIdt + 16u * vector, w[0]));
    REQUIRE(mem.write64(kIdt + 16u * vector + 8, w[1]));
  }
  // Steps until the CPU halts.
  void run_to_halt() {
    for (int i = 0; i < 20 && !cpu->halted(); ++i) {
      const arch::StepResult r = cpu->step(1000);
      REQUIRE_MESSAGE(!r.stop, (r.stop ? r.stop->what : ""));
    }
    REQUIRE(cpu->halted());
  }
  void nmi() { bus.route(ApicDelivery{0, false, false, 0, 4, false, false}); }
  uint64_t count(unsigned i) { return *mem.read64(kCount + 8 * i); }
};

}  // namespace

TEST_CASE("NMI: one in service blocks the next until IRET, which then takes it at the boundary after (SDM vol. 3A §6.7.1)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig(precise, {0xF4, 0xEB, 0xFD}, 0x2);  // main: hlt; jmp main (IF = 0: NMIs come anyway)
    rig.run_to_halt();
    rig.nmi();
    REQUIRE(rig.cpu->take_interrupt());
    rig.run_to_halt();  // in the NMI handler, at its HLT
    CHECK(rig.count(0) == 1);
    rig.nmi();  // a second NMI while the first is in service
    CHECK_FALSE(rig.cpu->take_interrupt());
    CHECK(rig.bus.apic(0).nmi_pending());
    rig.cpu->set_halted(false);
    // The IRETQ back to main, and the quantum ends at the boundary after it: the NMI waits.
    const arch::StepResult r = rig.cpu->step(1000);
    CHECK(r.executed == 1);
    CHECK(rig.cpu->rip() == kMain + 1);
    REQUIRE(rig.cpu->take_interrupt());  // unblocked by the IRET
    CHECK(*rig.mem.read64(kStack - 40) == kMain + 1);  // the frame: it returns to the JMP
    rig.run_to_halt();
    CHECK(rig.count(0) == 2);
    CHECK(rig.cpu->taken(2) == 2);
  }
}

TEST_CASE("MOV SS shadow: neither an interrupt nor an NMI is taken between MOV SS and the next instruction (SDM vol. 3A §6.8.3)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    // main: mov eax, 0x10; mov ss, ax; nop; hlt — with IF = 1.
    Rig rig(precise, {0xB8, 0x10, 0x00, 0x00, 0x00, 0x8E, 0xD0, 0x90, 0xF4}, 0x202);
    // IRETQ, MOV EAX, MOV SS: the quantum ends right after MOV SS.
    const arch::StepResult r = rig.cpu->step(3, true);
    REQUIRE_FALSE(r.stop);
    REQUIRE(r.executed == 3);
    REQUIRE(rig.cpu->rip() == kMain + 7);
    rig.bus.route(ApicDelivery{0, false, false, 0x41, 0, false, true});
    rig.nmi();
    CHECK_FALSE(rig.cpu->take_interrupt());  // in the shadow: both wait
    const arch::StepResult nop = rig.cpu->step(1, true);
    REQUIRE(nop.executed == 1);
    REQUIRE(rig.cpu->take_interrupt());  // the NMI first, after the NOP
    CHECK(rig.cpu->taken(2) == 1);
    CHECK(*rig.mem.read64(kStack - 40) == kMain + 8);  // it returns after the NOP
  }
}
