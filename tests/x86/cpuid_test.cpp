// CPUID as the machine answers it, and the checks that follow from it: reserved CR4 bits
// on MOV to CR4 and non-canonical segment bases on WRMSR (Intel SDM vol. 2A CPUID, MOV,
// WRMSR; vol. 3A §2.5; vol. 4 Table 2-2), on a bare engine at CPL 0.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <memory>
#include <vector>

#include "arch/x86/cpuid_leaves.h"
#include "arch/x86/engine_cpuid.h"
#include "arch/x86/idt_gate.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/x86_vcpu.h"
#include "tests/x86/code_bytes.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kCode = 0x1000, kHandler = 0x2000, kIdt = 0x3000, kStack = 0x8000;

struct Rig {
  GuestMemory mem;
  LapicBus bus{2};
  IoPortBus io;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  explicit Rig(unsigned index = 0) {
    auto r = mem.add_ram(0, 0x10000, "ram");
    REQUIRE(r.has_value());
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(uc, 0, 0x10000, UC_PROT_ALL, r->host) == UC_ERR_OK);
    cpu = std::make_unique<X86Vcpu>(index, uc, mem, bus.apic(index), io);
    // #GP (13) to a HLT, through a gate in Unicorn's reset code segment (CS null, no GDT).
    const auto w = idt::encode({kHandler, 0, 0, idt::kInterruptGate, 0, true});
    REQUIRE(mem.write64(kIdt + 16 * 13, w[0]));
    REQUIRE(mem.write64(kIdt + 16 * 13 + 8, w[1]));
    const uint8_t hlt[] = {0xF4};
    REQUIRE(mem.write(kHandler, std::as_bytes(std::span(hlt))));
    uc_x86_mmr idtr{0, kIdt, 256 * 16 - 1, 0};
    uc_reg_write(uc, UC_X86_REG_IDTR, &idtr);
  }
  ~Rig() {
    cpu.reset();
    uc_close(uc);
  }
  void run(std::vector<uint8_t> code) {
    REQUIRE(mem.write(kCode, std::as_bytes(std::span(code))));
    cpu->reset(kCode, kStack);
    for (int i = 0; i < 10 && !cpu->halted(); ++i) REQUIRE_FALSE(cpu->step(1000).stop);
  }
  uint64_t reg(int id) {
    uint64_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
  }
};

}  // namespace

TEST_CASE("cpuid: leaf 1 reports TSC, MSR, PAE, PGE, APIC and x2APIC with the initial APIC ID; TSC-deadline (the APIC timer has the mode); leaf 7 UMIP (SDM vol. 2A CPUID)") {
  const CpuidRegs l1 = machine_cpuid(1, 0, engine_cpuid(1, 0), 5, true);
  for (unsigned bit : {0u, 4u, 5u, 6u, 9u, 13u, 25u, 26u}) CHECK_MESSAGE((l1.edx >> bit & 1) == 1, bit);
  CHECK((l1.ecx & kCpuid1EcxX2apic) != 0);
  CHECK((l1.ecx & kCpuid1EcxTscDeadline) != 0);
  CHECK((l1.ebx >> 24) == 5);
  CHECK((machine_cpuid(1, 0, engine_cpuid(1, 0), 0, false).edx & kCpuid1EdxApic) == 0);  // §11.4.3
  CHECK((machine_cpuid(7, 0, engine_cpuid(7, 0), 0, true).ecx & kCpuid7EcxUmip) != 0);
  CHECK(machine_cpuid(0xB, 0, engine_cpuid(0xB, 0), 3, true).edx == 3);
  CHECK(machine_cpuid(0, 0, engine_cpuid(0, 0), 0, true) == engine_cpuid(0, 0));  // vendor and max leaf: Unicorn's
}

TEST_CASE("cpuid: CR4 bits of features the CPU does not report are reserved, bit 15 and 63:25 always (SDM vol. 3A §2.5)") {
  const uint64_t r = cr4_reserved_bits(machine_cpuid(1, 0, engine_cpuid(1, 0), 0, true),
                                       machine_cpuid(7, 0, engine_cpuid(7, 0), 0, true));
  for (unsigned bit : {2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u}) CHECK_MESSAGE((r >> bit & 1) == 0, bit);
  for (unsigned bit : {12u, 13u, 14u, 15u, 16u, 17u, 18u, 20u, 22u, 25u, 31u, 63u}) CHECK_MESSAGE((r >> bit & 1) == 1, bit);
  CHECK((0xFFFF'FFFFull & r) != 0);
}

TEST_CASE("cpuid: the guest's CPUID instruction gets the machine's leaves, upper halves cleared, per CPU's APIC ID") {
  Rig rig(1);
  rig.run(x86test::cat({x86test::mov64(0, 0xFFFF'FFFF'0000'0001), x86test::mov64(3, ~0ull), {0x0F, 0xA2, 0xF4}}));
  CHECK((rig.reg(UC_X86_REG_RBX) >> 24) == 1);
  CHECK((rig.reg(UC_X86_REG_RBX) >> 32) == 0);
  CHECK((rig.reg(UC_X86_REG_RDX) & kCpuid1EdxApic) != 0);
  CHECK((rig.reg(UC_X86_REG_RDX) & (1u << 4)) != 0);  // TSC
}

TEST_CASE("cpuid: MOV to CR4 of 0xFFFFFFFF is #GP(0) and leaves CR4; a supported bit (UMIP) is written (MOV to CR, SDM vol. 3A §2.5)") {
  Rig rig;
  const uint64_t before = rig.reg(UC_X86_REG_CR4);
  rig.run(x86test::cat({x86test::mov64(0, 0xFFFF'FFFF), {0x0F, 0x22, 0xE0, 0xF4}}));  // mov cr4, rax
  CHECK(rig.cpu->taken(13) == 1);
  CHECK(rig.reg(UC_X86_REG_RIP) == kHandler + 1);
  CHECK(rig.reg(UC_X86_REG_CR4) == before);
  Rig ok;
  ok.run(x86test::cat({x86test::mov64(9, before | kCr4UMIP), {0x41, 0x0F, 0x22, 0xE1, 0xF4}}));  // mov cr4, r9
  CHECK(ok.cpu->taken(13) == 0);
  CHECK(ok.reg(UC_X86_REG_CR4) == (before | kCr4UMIP));
}

TEST_CASE("cpuid: WRMSR of a non-canonical IA32_FS_BASE, IA32_GS_BASE or IA32_KERNEL_GS_BASE is #GP(0); a canonical one is written (WRMSR)") {
  for (uint32_t msr : {0xC000'0100u, 0xC000'0101u, 0xC000'0102u}) {
    CAPTURE(msr);
    Rig rig;
    // ecx = msr; edx:eax = 0x0000_8000:0 (bit 47 set, 63:48 clear); wrmsr
    rig.run(x86test::cat({x86test::mov64(1, msr), x86test::mov64(2, 0x8000), x86test::mov64(0, 0), {0x0F, 0x30, 0xF4}}));
    CHECK(rig.cpu->taken(13) == 1);
    Rig ok;
    ok.run(x86test::cat({x86test::mov64(1, msr), x86test::mov64(2, 0xFFFF'8000), x86test::mov64(0, 0x1000),
                         {0x0F, 0x30, 0xF4}}));
    CHECK(ok.cpu->taken(13) == 0);
    uc_x86_msr m{msr, 0};
    uc_reg_read(ok.uc, UC_X86_REG_MSR, &m);
    CHECK(m.value == 0xFFFF'8000'0000'1000ull);
  }
}

TEST_CASE("debug: DR7 with L0 and DR0 = an instruction raises #DB before it with DR6.B0 and the other bits 1; MOV from DR7 reads bit 10 set; DR7[63:32] is #GP(0) (SDM vol. 3A §18.2, §18.3.1.1)") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    Rig rig;
    if (precise) rig.cpu->set_on_insn([](uint64_t, uint32_t) {});
    // #DB handler: mov rdx, dr6; hlt. (Unicorn 2.0.1 itself crashed the host once DR7
    // armed a breakpoint; the vCPU raises it.)
    const uint64_t db_handler = kHandler + 0x10;
    const auto w = idt::encode({db_handler, 0, 0, idt::kInterruptGate, 0, true});
    REQUIRE(rig.mem.write64(kIdt + 16 * 1, w[0]));
    REQUIRE(rig.mem.write64(kIdt + 16 * 1 + 8, w[1]));
    const uint8_t handler[] = {0x0F, 0x21, 0xF2, 0xF4};
    REQUIRE(rig.mem.write(db_handler, std::as_bytes(std::span(handler))));
    // rax = the NOP below; rbx = L0 (execute, 1 byte); mov dr0, rax; mov dr7, rbx;
    // mov rcx, dr7; nop; hlt
    const uint64_t nop_at = kCode + 10 + 10 + 9;
    rig.run(x86test::cat({x86test::mov64(0, nop_at), x86test::mov64(3, 0x1),
                          {0x0F, 0x23, 0xC0, 0x0F, 0x23, 0xFB, 0x0F, 0x21, 0xF9, 0x90, 0xF4}}));
    CHECK(rig.cpu->halted());
    CHECK(rig.reg(UC_X86_REG_RCX) == 0x401);
    CHECK(rig.cpu->taken(1) == 1);
    CHECK(rig.reg(UC_X86_REG_RDX) == 0xFFFF'0FF1);
    CHECK(rig.reg(UC_X86_REG_RIP) == db_handler + 4);
    CHECK(*rig.mem.read64(kStack - 40) == nop_at);  // a fault: the frame names the NOP
    Rig high;
    if (precise) high.cpu->set_on_insn([](uint64_t, uint32_t) {});
    high.run(x86test::cat({x86test::mov64(3, 0x1'0000'0000ull), {0x0F, 0x23, 0xFB, 0xF4}}));  // bit 32: #GP(0)
    CHECK(high.cpu->taken(13) == 1);
  }
}

TEST_CASE("cpuid: features taken away (run --cpu qemu64,-x2apic,-tsc-deadline,-umip) read 0 and make CR4.UMIP reserved (SDM vol. 2A CPUID; vol. 3A §2.5)") {
  CpuFeatures none;
  none.x2apic = none.tsc_deadline = none.umip = false;
  const CpuidRegs l1 = machine_cpuid(1, 0, engine_cpuid(1, 0), 0, true, none);
  CHECK((l1.ecx & kCpuid1EcxX2apic) == 0);
  CHECK((l1.ecx & kCpuid1EcxTscDeadline) == 0);
  CHECK((l1.edx & kCpuid1EdxApic) != 0);  // the APIC itself stays
  const CpuidRegs l7 = machine_cpuid(7, 0, engine_cpuid(7, 0), 0, true, none);
  CHECK((l7.ecx & kCpuid7EcxUmip) == 0);
  CHECK((cr4_reserved_bits(l1, l7) & (uint64_t{1} << 11)) != 0);
}
