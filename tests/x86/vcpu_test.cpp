// x86-64 vCPU glue on a bare Unicorn engine: IDT vectoring, HLT wake-up, x2APIC MSRs,
// I/O ports and exceptions (Intel SDM vol. 3A §6.14, §11.12).
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <cstring>
#include <vector>

#include "arch/x86/debug_exit.h"
#include "arch/x86/idt_gate.h"
#include "arch/x86/interrupt_entry.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/x86_vcpu.h"
#include "snapshot/state_io.h"
#include "tests/x86/code_bytes.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kIdt = 0x3000, kHandler = 0x2000, kCode = 0x1000, kStack = 0x8000;

void put_gate(GuestMemory& m, uint8_t vector, uint64_t handler, uint8_t type = idt::kInterruptGate,
              uint16_t sel = 0, uint8_t ist = 0) {
  const auto w = idt::encode({handler, sel, ist, type, 0, true});
  REQUIRE(m.write64(kIdt + 16u * vector, w[0]));
  REQUIRE(m.write64(kIdt + 16u * vector + 8, w[1]));
}

void put_code(GuestMemory& m, uint64_t at, std::vector<uint8_t> bytes) {
  REQUIRE(m.write(at, std::as_bytes(std::span(bytes))));
}

struct Rig {
  GuestMemory mem;
  LapicBus bus{2};
  IoPortBus io;
  DebugExit exit;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  explicit Rig(bool file_backed = false) {
    mem.set_file_backed(file_backed);
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
  uc_err run(size_t count = 100) { return uc_emu_start(uc, cpu->rip(), 0, 0, count); }
  uint64_t reg(int id) {
    uint64_t v = 0;
    uc_reg_read(uc, id, &v);
    return v;
  }
};

}  // namespace

TEST_CASE("idt: gate table round-trips offset, selector, IST, type and P (SDM §6.14.1)") {
  const idt::Gate g{0x1122'3344'5566'7788ull, 0x08, 3, idt::kTrapGate, 0, true};
  const idt::Gate d = idt::decode(idt::encode(g));
  CHECK(d.offset == g.offset);
  CHECK(d.selector == 8);
  CHECK(d.ist == 3);
  CHECK(d.type == idt::kTrapGate);
  CHECK(d.present);
}

TEST_CASE("vcpu: STI; HLT waits; an APIC interrupt wakes it through the IDT with RIP after HLT; IF=0 keeps it pending") {
  Rig rig;
  put_code(rig.mem, kCode, {0xF4, 0xFB, 0xF4, 0xEB, 0xFE});  // hlt; sti; hlt; jmp $
  put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4, 0xF4});  // mov al,0x21; out 0xf4,al; hlt
  put_gate(rig.mem, 0x41, kHandler);
  rig.cpu->reset(kCode, kStack);
  REQUIRE(rig.run() == UC_ERR_OK);
  CHECK(rig.cpu->halted());
  rig.bus.route(ApicDelivery{0, false, false, 0x41, 0, false, true});
  CHECK_FALSE(rig.cpu->take_interrupt());  // IF=0: stays pending in IRR
  CHECK(rig.bus.apic(0).irr(0x41));
  rig.cpu->set_halted(false);
  REQUIRE(rig.run() == UC_ERR_OK);  // sti; hlt
  CHECK(rig.cpu->halted());
  CHECK(rig.cpu->rip() == kCode + 3);
  REQUIRE(rig.cpu->take_interrupt());
  CHECK_FALSE(rig.cpu->halted());
  CHECK(rig.bus.apic(0).isr(0x41));
  CHECK(rig.cpu->rip() == kHandler);
  CHECK(*rig.mem.read64(rig.reg(UC_X86_REG_RSP)) == kCode + 3);
  REQUIRE(rig.run() == UC_ERR_OK);
  CHECK(rig.exit.exit_requested() == 0x43u);
  CHECK(rig.cpu->taken(0x41) == 1);
}

TEST_CASE("vcpu: RDMSR/WRMSR of IA32_APIC_BASE and x2APIC MSRs reach the local APIC (SDM §11.12.1)") {
  Rig rig;
  // mov ecx,0x1b; rdmsr; or eax,0x400; wrmsr; mov ecx,0x802; rdmsr; hlt
  put_code(rig.mem, kCode, {0xB9, 0x1B, 0, 0, 0, 0x0F, 0x32, 0x0D, 0x00, 0x04, 0, 0, 0x0F, 0x30,
                            0xB9, 0x02, 0x08, 0, 0, 0x0F, 0x32, 0xF4});
  rig.cpu->reset(kCode, kStack);
  REQUIRE(rig.run() == UC_ERR_OK);
  CHECK_FALSE(rig.cpu->error());
  CHECK(rig.bus.apic(0).mode() == ApicMode::X2Apic);
  CHECK(rig.reg(UC_X86_REG_RAX) == 0);  // APIC ID of CPU 0
  CHECK(rig.cpu->halted());
}

TEST_CASE("vcpu: an x2APIC MSR access the APIC refuses raises #GP(0) in the guest at the RDMSR/WRMSR (SDM §11.12.1.2)") {
  Rig rig;
  // mov eax,1; xor edx,edx; mov ecx,0x80b; wrmsr   -- x2APIC MSR in xAPIC mode
  put_code(rig.mem, kCode, {0xB8, 1, 0, 0, 0, 0x31, 0xD2, 0xB9, 0x0B, 0x08, 0, 0, 0x0F, 0x30, 0xF4});
  put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4});  // mov al,0x21; out 0xf4,al
  put_gate(rig.mem, 13, kHandler);
  rig.cpu->reset(kCode, kStack);
  rig.run();
  CHECK_FALSE(rig.cpu->error());
  REQUIRE(rig.cpu->taken(13) == 1);
  const uint64_t rsp = rig.reg(UC_X86_REG_RSP);
  CHECK(*rig.mem.read64(rsp) == 0);              // error code
  CHECK(*rig.mem.read64(rsp + 8) == kCode + 12);  // RIP: the WRMSR, not performed
  CHECK(rig.bus.apic(0).mode() == ApicMode::XApic);
}

using x86test::cat;
using x86test::mov64;

TEST_CASE("vcpu: RDTSC, RDTSCP and RDMSR IA32_TSC read the machine's clock, not the host's TSC (SDM vol. 3B \"Time-Stamp Counter\")") {
  Rig rig;
  uint64_t now = 0x1'2345'6789;
  rig.cpu->set_clock([&] { return now; });
  // The high halves of RAX/RDX/RCX are set first: RDTSC and RDTSCP clear them.
  const auto dirty = cat({mov64(0, ~0ull), mov64(2, ~0ull), mov64(1, ~0ull)});
  SUBCASE("RDTSC: EDX:EAX") {
    put_code(rig.mem, kCode, cat({dirty, {0x0F, 0x31, 0xF4}}));
    rig.cpu->reset(kCode, kStack);
    REQUIRE(rig.run() == UC_ERR_OK);
    CHECK(rig.reg(UC_X86_REG_RAX) == 0x2345'6789);
    CHECK(rig.reg(UC_X86_REG_RDX) == 1);
    CHECK(rig.reg(UC_X86_REG_RCX) == ~0ull);  // RDTSC leaves RCX
    CHECK(rig.cpu->halted());                 // RIP went on to the HLT, once
  }
  SUBCASE("RDTSCP: EDX:EAX and ECX = IA32_TSC_AUX") {
    // mov ecx,0xC0000103; mov eax,0x8007; xor edx,edx; wrmsr (Unicorn keeps TSC_AUX)
    put_code(rig.mem, kCode,
             cat({{0xB9, 0x03, 0x01, 0x00, 0xC0, 0xB8, 0x07, 0x80, 0, 0, 0x31, 0xD2, 0x0F, 0x30}, dirty,
                  {0x0F, 0x01, 0xF9, 0xF4}}));
    rig.cpu->reset(kCode, kStack);
    REQUIRE(rig.run() == UC_ERR_OK);
    CHECK(rig.reg(UC_X86_REG_RAX) == 0x2345'6789);
    CHECK(rig.reg(UC_X86_REG_RDX) == 1);
    CHECK(rig.reg(UC_X86_REG_RCX) == 0x8007);
  }
  SUBCASE("prefixes do not change RDTSC/RDTSCP (CS, REX.W, 66 F3): the clock is read") {
    // cs rdtsc; mov r8,rax; rex.w rdtsc; mov r9,rax; o16 rep rdtscp; hlt
    put_code(rig.mem, kCode,
             cat({{0x2E, 0x0F, 0x31, 0x49, 0x89, 0xC0, 0x48, 0x0F, 0x31, 0x49, 0x89, 0xC1}, dirty,
                  {0x66, 0xF3, 0x0F, 0x01, 0xF9, 0xF4}}));
    rig.cpu->reset(kCode, kStack);
    REQUIRE(rig.run() == UC_ERR_OK);
    CHECK(rig.reg(UC_X86_REG_R8) == 0x2345'6789);
    CHECK(rig.reg(UC_X86_REG_R9) == 0x2345'6789);
    CHECK(rig.reg(UC_X86_REG_RAX) == 0x2345'6789);
    CHECK(rig.reg(UC_X86_REG_RDX) == 1);
  }
  SUBCASE("WRMSR IA32_TSC sets the count; it then goes on at the clock's pace; RDMSR reads it") {
    now = 1000;
    // mov ecx,0x10; mov eax,0x5000; xor edx,edx; wrmsr; hlt
    put_code(rig.mem, kCode, {0xB9, 0x10, 0, 0, 0, 0xB8, 0x00, 0x50, 0, 0, 0x31, 0xD2, 0x0F, 0x30, 0xF4});
    rig.cpu->reset(kCode, kStack);
    REQUIRE(rig.run() == UC_ERR_OK);
    now = 1500;
    // rdtsc; mov r8,rax; mov ecx,0x10; rdmsr; hlt
    put_code(rig.mem, kCode + 0x100, {0x0F, 0x31, 0x49, 0x89, 0xC0, 0xB9, 0x10, 0, 0, 0, 0x0F, 0x32, 0xF4});
    rig.cpu->reset(kCode + 0x100, kStack);
    REQUIRE(rig.run() == UC_ERR_OK);
    CHECK(rig.reg(UC_X86_REG_R8) == 0x5000 + 500);
    CHECK(rig.reg(UC_X86_REG_RAX) == 0x5000 + 500);
    CHECK(rig.reg(UC_X86_REG_RDX) == 0);
  }
}

TEST_CASE("vcpu: without a machine clock the TSC counts the instructions the CPU entered, so two reads differ by the code between them") {
  Rig rig;
  // rdtsc; mov r8,rax; nop; nop; nop; rdtsc; hlt   (the second RDTSC is 5 instructions later)
  put_code(rig.mem, kCode, {0x0F, 0x31, 0x49, 0x89, 0xC0, 0x90, 0x90, 0x90, 0x0F, 0x31, 0xF4});
  rig.cpu->reset(kCode, kStack);
  REQUIRE(rig.run() == UC_ERR_OK);
  CHECK(rig.reg(UC_X86_REG_RAX) - rig.reg(UC_X86_REG_R8) == 5);
}

TEST_CASE("vcpu: LOCK-prefixed or VEX-encoded RDTSC, RDTSCP and RDMSR raise #UD at the instruction, which Unicorn would have run (SDM RDTSC/RDMSR \"Exceptions\", vol. 2A §2.3.5)") {
  const std::vector<std::vector<uint8_t>> forms = {
      {0xF0, 0x0F, 0x31}, {0xF0, 0x0F, 0x01, 0xF9}, {0x2E, 0xF0, 0x0F, 0x32},
      // VEX: the fuzzing finding's C5 0F 01 F9 read the host's TSC; 2- and 3-byte forms
      {0xC5, 0x0F, 0x01, 0xF9}, {0xC5, 0xF8, 0x31}, {0xC4, 0xE1, 0x78, 0x32},
      {0xC5, 0xF8, 0xA2}};  // and any VEX opcode but BMI's: this one is CPUID's
  for (const auto& insn : forms) {
    CAPTURE(insn.size());
    Rig rig;
    rig.cpu->set_clock([] { return 0x7700; });
    // xor eax,eax; mov ecx,0x10; <locked insn>; hlt
    put_code(rig.mem, kCode, cat({{0x31, 0xC0, 0xB9, 0x10, 0, 0, 0}, insn, {0xF4}}));
    put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4});  // mov al,0x21; out 0xf4,al
    put_gate(rig.mem, 6, kHandler);
    rig.cpu->reset(kCode, kStack);
    rig.run();
    CHECK_FALSE(rig.cpu->error());
    REQUIRE(rig.cpu->taken(6) == 1);
    CHECK(*rig.mem.read64(rig.reg(UC_X86_REG_RSP)) == kCode + 7);  // RIP: the locked instruction
    CHECK(rig.reg(UC_X86_REG_RAX) == 0x21);  // not performed: no count in EAX
    CHECK(rig.exit.exit_requested() == 0x43u);  // isa-debug-exit: (0x21 << 1) | 1
  }
}

TEST_CASE("vcpu: C5 45 31 is LDS in compatibility mode and a VEX-encoded RDTSC (#UD) in 64-bit mode, as CS.L in the GDT says (SDM vol. 2A §2.3.5)") {
  constexpr uint64_t kGdt = 0x4000, kFarPointer = 0x5000, kTarget = 0x1100;
  Rig rig;
  rig.cpu->set_clock([] { return 0x7700; });
  // null; 0x08 64-bit code (L=1); 0x10 32-bit code (D=1, L=0); 0x18 flat data
  REQUIRE(rig.mem.write64(kGdt + 0x08, 0x00AF'9A00'0000'FFFFull));
  REQUIRE(rig.mem.write64(kGdt + 0x10, 0x00CF'9A00'0000'FFFFull));
  REQUIRE(rig.mem.write64(kGdt + 0x18, 0x00CF'9200'0000'FFFFull));
  uc_x86_mmr gdtr{0, kGdt, 0x1F, 0};
  uc_reg_write(rig.uc, UC_X86_REG_GDTR, &gdtr);
  REQUIRE(rig.mem.write32(kFarPointer, 0xCAFE'F00D));  // the m16:32 LDS loads
  REQUIRE(rig.mem.write16(kFarPointer + 4, 0x18));
  put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4});  // mov al,0x21; out 0xf4,al
  put_gate(rig.mem, 6, kHandler, idt::kInterruptGate, 0x08);
  put_code(rig.mem, kTarget, {0xC5, 0x45, 0x31, 0xF4});  // lds eax,[ebp+0x31] / VEX RDTSC; hlt
  // Runs kTarget with CS = selector: mov rbp,kFarPointer-0x31; xor eax,eax; push selector;
  // push kTarget; retfq
  auto run_with_cs = [&](uint8_t selector) {
    put_code(rig.mem, kCode,
             cat({mov64(5, kFarPointer - 0x31), {0x31, 0xC0, 0x6A, selector, 0x68},
                  {uint8_t(kTarget), uint8_t(kTarget >> 8), 0, 0, 0x48, 0xCB}}));
    rig.cpu->reset(kCode, kStack);
    rig.run();
    CHECK_FALSE(rig.cpu->error());
  };
  SUBCASE("CS = 0x10, a 32-bit code segment in IA-32e mode: LDS runs") {
    run_with_cs(0x10);
    CHECK(rig.cpu->taken(6) == 0);
    CHECK(rig.reg(UC_X86_REG_RAX) == 0xCAFE'F00Du);
    CHECK(rig.reg(UC_X86_REG_DS) == 0x18);
    CHECK(rig.cpu->halted());
  }
  SUBCASE("CS = 0x08, a 64-bit code segment: #UD at the instruction, no count read") {
    run_with_cs(0x08);
    REQUIRE(rig.cpu->taken(6) == 1);
    CHECK(*rig.mem.read64(rig.reg(UC_X86_REG_RSP)) == kTarget);
    CHECK(rig.reg(UC_X86_REG_RAX) == 0x21);
  }
}

TEST_CASE("vcpu: the BMI1/BMI2 instructions the CPU reports (CPUID.07H:EBX[3,8]) run, VEX-encoded") {
  Rig rig;
  // mov ecx,0x1234; mov ebx,0xFF00; andn eax,ecx,ebx; rorx r8,rbx,8; hlt
  put_code(rig.mem, kCode,
           {0xB9, 0x34, 0x12, 0, 0, 0xBB, 0x00, 0xFF, 0, 0, 0xC4, 0xE2, 0x70, 0xF2, 0xC3, 0xC4, 0x63, 0xFB, 0xF0,
            0xC3, 0x08, 0xF4});
  rig.cpu->reset(kCode, kStack);
  REQUIRE(rig.run() == UC_ERR_OK);
  CHECK(rig.cpu->taken(6) == 0);
  CHECK(rig.reg(UC_X86_REG_RAX) == 0xED00);  // ~0x1234 & 0xFF00
  CHECK(rig.reg(UC_X86_REG_R8) == 0xFF);     // 0xFF00 rotated right by 8
  CHECK(rig.cpu->halted());
}

TEST_CASE("vcpu: a refused APIC MSR with no #GP gate, INT3 and #UD with no gate stop the run naming the exception") {
  Rig rig;
  put_code(rig.mem, kCode, {0xB8, 1, 0, 0, 0, 0x31, 0xD2, 0xB9, 0x0B, 0x08, 0, 0, 0x0F, 0x30, 0xF4});
  rig.cpu->reset(kCode, kStack);
  rig.run();
  REQUIRE(rig.cpu->error());
  CHECK(rig.cpu->error()->find("#GP") != std::string::npos);
  Rig rig2;
  put_code(rig2.mem, kCode, {0x90, 0xCC});  // nop; int3
  rig2.cpu->reset(kCode, kStack);
  rig2.run();
  REQUIRE(rig2.cpu->error());
  CHECK(rig2.cpu->error()->find("#BP") != std::string::npos);
  // An undefined opcode is #UD, an exception like the others: with no IDT it stops.
  Rig rig3;
  put_code(rig3.mem, kCode, {0x90, 0x0F, 0x0B});  // nop; ud2
  rig3.cpu->reset(kCode, kStack);
  rig3.run();
  REQUIRE(rig3.cpu->error());
  CHECK(rig3.cpu->error()->find("#UD") != std::string::npos);
}

TEST_CASE("vcpu: STI shadow: an interrupt pending at STI is taken only after the next instruction, so STI; HLT wakes (SDM STI)") {
  Rig rig;
  put_code(rig.mem, kCode, {0xFB, 0xF4, 0xEB, 0xFE});  // sti; hlt; jmp $
  put_code(rig.mem, kHandler, {0xF4});
  put_gate(rig.mem, 0x41, kHandler);
  rig.cpu->reset(kCode, kStack);
  rig.bus.route(ApicDelivery{0, false, false, 0x41, 0, false, true});
  REQUIRE(rig.run(1) == UC_ERR_OK);  // sti only
  CHECK(rig.cpu->rip() == kCode + 1);
  CHECK_FALSE(rig.cpu->take_interrupt());  // in the STI shadow
  REQUIRE(rig.run(1) == UC_ERR_OK);             // hlt
  CHECK(rig.cpu->halted());
  REQUIRE(rig.cpu->take_interrupt());
  CHECK(*rig.mem.read64(rig.reg(UC_X86_REG_RSP)) == kCode + 2);  // returns after the HLT
}

TEST_CASE("vcpu: a contributory exception after a handled one is delivered as itself, not as #DF (SDM §6.15 Table 6-5)") {
  Rig rig;
  // xor ecx,ecx; div ecx; div ecx; div ecx; mov al,0x21; out 0xf4,al
  put_code(rig.mem, kCode, {0x31, 0xC9, 0xF7, 0xF1, 0xF7, 0xF1, 0xF7, 0xF1, 0xB0, 0x21, 0xE6, 0xF4});
  // #DE handler: return past the 2-byte DIV without IRETQ (no GDT here):
  // mov rax,[rsp]; add rax,2; add rsp,40; jmp rax
  put_code(rig.mem, kHandler, {0x48, 0x8B, 0x04, 0x24, 0x48, 0x83, 0xC0, 0x02, 0x48, 0x83, 0xC4, 0x28, 0xFF, 0xE0});
  put_gate(rig.mem, 0, kHandler);
  put_gate(rig.mem, 8, kHandler + 0x100);
  put_code(rig.mem, kHandler + 0x100, {0xF4});
  rig.cpu->reset(kCode, kStack);
  rig.run();
  CHECK_FALSE(rig.cpu->error());
  CHECK(rig.cpu->taken(0) == 3);
  CHECK(rig.cpu->taken(8) == 0);
  CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));
}

TEST_CASE("vcpu: with paging on, #UD still reaches its handler after many scheduling quanta") {
  Rig rig;
  // 4-level tables identity-mapping the first 2 MiB (SDM §4.5): PML4 0x5000, PDPT 0x6000,
  // PD 0x7000 with one 2 MiB page. The address space above is unmapped, as in a guest that
  // builds its own tables.
  REQUIRE(rig.mem.write64(0x5000, 0x6003));
  REQUIRE(rig.mem.write64(0x6000, 0x7003));
  REQUIRE(rig.mem.write64(0x7000, 0x83));
  uint64_t cr3 = 0x5000, cr4 = 0, cr0 = 0;
  uc_reg_read(rig.uc, UC_X86_REG_CR4, &cr4);
  uc_reg_read(rig.uc, UC_X86_REG_CR0, &cr0);
  cr4 |= 1u << 5;    // PAE
  cr0 |= 1u << 31;   // PG
  uc_reg_write(rig.uc, UC_X86_REG_CR3, &cr3);
  uc_reg_write(rig.uc, UC_X86_REG_CR4, &cr4);
  uc_reg_write(rig.uc, UC_X86_REG_CR0, &cr0);
  std::vector<uint8_t> code(40, 0x90);  // 40 NOPs, then ud2
  code.insert(code.end(), {0x0F, 0x0B});
  put_code(rig.mem, kCode, code);
  put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4});  // mov al,0x21; out 0xf4,al
  put_gate(rig.mem, 6, kHandler);
  rig.cpu->reset(kCode, kStack);
  for (int i = 0; i < 20 && !rig.exit.exit_requested(); ++i) {
    const arch::StepResult r = rig.cpu->step(3);  // 3 instructions a quantum
    REQUIRE_FALSE(r.stop);
  }
  CHECK(rig.cpu->taken(6) == 1);
  CHECK(*rig.mem.read64(kStack - 40) == kCode + 40);  // the frame's RIP is the ud2
  CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));
}

namespace {

// 4 KiB-page tables for the paging tests (SDM §4.5): the 64 KiB of RAM identity-mapped
// read/write but for 0x9000 (read-only); VA 0x4000_0000 -> PA 0x4000; 0x5000_0000 not
// present. CR0.WP set, so supervisor writes honour R/W.
void enable_paging(Rig& rig) {
  constexpr uint64_t kPml4 = 0xA000, kPdpt = 0xB000, kPd = 0xC000, kPt = 0xD000, kPd2 = 0xE000, kPt2 = 0xF000;
  REQUIRE(rig.mem.write64(kPml4, kPdpt | 3));
  REQUIRE(rig.mem.write64(kPdpt, kPd | 3));
  REQUIRE(rig.mem.write64(kPdpt + 8, kPd2 | 3));
  REQUIRE(rig.mem.write64(kPd, kPt | 3));
  for (uint64_t page = 0; page < 16; ++page)
    REQUIRE(rig.mem.write64(kPt + 8 * page, (page << 12) | (page == 9 ? 1 : 3)));
  REQUIRE(rig.mem.write64(kPd2, kPt2 | 3));
  REQUIRE(rig.mem.write64(kPt2, 0x4000 | 3));
  uint64_t cr3 = kPml4, cr4 = 0, cr0 = 0;
  uc_reg_read(rig.uc, UC_X86_REG_CR4, &cr4);
  uc_reg_read(rig.uc, UC_X86_REG_CR0, &cr0);
  cr4 |= kCr4PAE;
  cr0 |= kCr0PG | kCr0WP;
  uc_reg_write(rig.uc, UC_X86_REG_CR3, &cr3);
  uc_reg_write(rig.uc, UC_X86_REG_CR4, &cr4);
  uc_reg_write(rig.uc, UC_X86_REG_CR0, &cr0);
}

// Runs quanta of 4 instructions until isa-debug-exit or a stop.
std::optional<arch::StopRequest> run_steps(Rig& rig, int quanta = 20) {
  for (int i = 0; i < quanta && !rig.exit.exit_requested(); ++i) {
    arch::StepResult r = rig.cpu->step(4);
    if (r.stop) return r.stop;
  }
  return std::nullopt;
}

// mov rax, imm64
std::vector<uint8_t> mov_rax(uint64_t v) {
  std::vector<uint8_t> b{0x48, 0xB8};
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
  return b;
}

void put_pf_handler(Rig& rig) {
  put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4});  // mov al,0x21; out 0xf4,al
  put_gate(rig.mem, 14, kHandler);
}

}  // namespace

TEST_CASE("vcpu: a store through a VA the guest maps elsewhere reaches that RAM (Unicorn maps linear = physical; the vCPU aliases the page)") {
  Rig rig;
  enable_paging(rig);
  auto code = mov_rax(0x4000'0010);
  code.insert(code.end(), {0xC7, 0x00, 0x78, 0x56, 0x34, 0x12,  // mov dword ptr [rax], 0x12345678
                           0x8B, 0x18,                          // mov ebx, [rax]
                           0xB0, 0x21, 0xE6, 0xF4});
  put_code(rig.mem, kCode, code);
  rig.cpu->reset(kCode, kStack);
  CHECK_FALSE(run_steps(rig));
  CHECK(*rig.mem.read32(0x4010) == 0x12345678u);  // at the PA, performed once
  CHECK(rig.reg(UC_X86_REG_RBX) == 0x12345678u);
  CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));
}

TEST_CASE("vcpu: after the guest remaps a VA and invalidates (MOV to CR3, or INVLPG), the next access reaches the new page; the alias made before is dropped (SDM vol. 3A §4.10.4.1)") {
  for (const bool by_cr3 : {true, false}) {
    CAPTURE(by_cr3);
    Rig rig;
    enable_paging(rig);  // VA 0x4000_0000 -> PA 0x4000 through the PTE at 0xF000
    REQUIRE(rig.mem.write32(0x4010, 0x1111));
    REQUIRE(rig.mem.write32(0x6010, 0x2222));
    auto code = mov_rax(0x4000'0010);
    code.insert(code.end(), {0x8B, 0x18,                                      // mov ebx, [rax]: old page
                             0x48, 0xB9, 0x00, 0xF0, 0, 0, 0, 0, 0, 0,        // mov rcx, 0xF000
                             0x48, 0xC7, 0x01, 0x03, 0x60, 0x00, 0x00});      // mov qword [rcx], 0x6003
    if (by_cr3)
      code.insert(code.end(), {0x0F, 0x20, 0xDA, 0x0F, 0x22, 0xDA});  // mov rdx, cr3; mov cr3, rdx
    else
      code.insert(code.end(), {0x0F, 0x01, 0x38});  // invlpg [rax]
    code.insert(code.end(), {0x8B, 0x30,  // mov esi, [rax]: the new page
                             0xB0, 0x21, 0xE6, 0xF4});
    put_code(rig.mem, kCode, code);
    rig.cpu->reset(kCode, kStack);
    CHECK_FALSE(run_steps(rig));
    CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));
    CHECK(rig.reg(UC_X86_REG_RBX) == 0x1111u);
    CHECK(rig.reg(UC_X86_REG_RSI) == 0x2222u);
  }
}

TEST_CASE("vcpu: VA pages the guest maps onto scattered physical pages are one alias run, and a restored CPU holds the same translations as the saved one's TLB did until it invalidates (SDM vol. 3A §4.10.2, §4.10.4.1)") {
  // VA 0x4000_0000, +0x1000, +0x2000 -> PA 0x4000, 0x6000, 0x5000 (the PTEs at 0xF000).
  const auto tables = [](Rig& rig, uint64_t second, uint64_t third) {
    enable_paging(rig);
    REQUIRE(rig.mem.write64(0xF008, second | 3));
    REQUIRE(rig.mem.write64(0xF010, third | 3));
  };
  Rig a(true);
  tables(a, 0x6000, 0x5000);
  for (const uint64_t pa : {0x4000, 0x5000, 0x6000}) REQUIRE(a.mem.write32(pa + 0x10, uint32_t(pa)));
  auto code = mov_rax(0x4000'0010);
  code.insert(code.end(), {0x8B, 0x18,               // mov ebx, [rax]: the run from its first page
                           0xB0, 0x21, 0xE6, 0xF4});  // exit 0x21
  put_code(a.mem, kCode, code);
  a.cpu->reset(kCode, kStack);
  CHECK_FALSE(run_steps(a));
  CHECK(a.reg(UC_X86_REG_RBX) == 0x4000u);
  // The two following pages came with it, each at its own PA (the engine reads them
  // without a fault: one region).
  uint32_t v = 0;
  CHECK(uc_mem_read(a.uc, 0x4000'1010, &v, 4) == UC_ERR_OK);
  CHECK(v == 0x6000u);
  CHECK(uc_mem_read(a.uc, 0x4000'2010, &v, 4) == UC_ERR_OK);
  CHECK(v == 0x5000u);
  CHECK(uc_mem_read(a.uc, 0x4000'3010, &v, 4) != UC_ERR_OK);  // not present: not in the run

  snapshot::Io out = snapshot::Io::saver();
  a.cpu->state(out);
  REQUIRE(out.ok());
  const std::vector<uint8_t> bytes = out.take();

  // A new CPU over the same memory, restored; then the guest points the two PTEs elsewhere
  // without invalidating: the restored TLB still translates as before, until MOV to CR3.
  Rig b(true);
  std::vector<std::byte> ram(0x10000);
  REQUIRE(a.mem.read(0, ram));
  REQUIRE(b.mem.write(0, ram));
  snapshot::Io in = snapshot::Io::loader(bytes);
  b.cpu->state(in);
  REQUIRE(in.ok());
  REQUIRE(b.mem.write64(0xF008, 0x5000 | 3));
  REQUIRE(b.mem.write64(0xF010, 0x6000 | 3));
  auto more = mov_rax(0x4000'1010);
  more.insert(more.end(), {0x8B, 0x08,                    // mov ecx, [rax]: 0x4000_1010, the saved translation
                           0x0F, 0x20, 0xDE, 0x0F, 0x22, 0xDE,  // mov rsi, cr3; mov cr3, rsi
                           0x8B, 0x38,                    // mov edi, [rax]: now the new one
                           0xB0, 0x23, 0xE6, 0xF4});      // exit 0x23
  put_code(b.mem, b.cpu->rip(), more);
  CHECK_FALSE(run_steps(b));
  CHECK(b.exit.exit_requested() == ((0x23 << 1) | 1));
  CHECK(b.reg(UC_X86_REG_RCX) == 0x6000u);
  CHECK(b.reg(UC_X86_REG_RDI) == 0x5000u);
}

TEST_CASE("vcpu: #PF pushes the error code and leaves CR2: a write to a read-only page is P|W (SDM §4.7)") {
  Rig rig;
  enable_paging(rig);
  put_pf_handler(rig);
  auto code = mov_rax(0x9008);
  code.insert(code.end(), {0xC7, 0x00, 0x01, 0, 0, 0});  // mov dword ptr [rax], 1
  put_code(rig.mem, kCode, code);
  rig.cpu->reset(kCode, kStack);
  CHECK_FALSE(run_steps(rig));
  REQUIRE(rig.cpu->taken(14) == 1);
  CHECK(rig.reg(UC_X86_REG_CR2) == 0x9008);
  const uint64_t rsp = rig.reg(UC_X86_REG_RSP);
  CHECK(*rig.mem.read64(rsp) == (kPfPresent | kPfWrite));   // error code
  CHECK(*rig.mem.read64(rsp + 8) == kCode + 10);            // RIP: the faulting store
}

TEST_CASE("vcpu: #PF for a not-present page: a write is W, a read is 0, a PUSH is W; CR2 is the address") {
  struct Case {
    const char* what;
    std::vector<uint8_t> insn;
    uint64_t cr2;
    uint32_t code;
  };
  const std::vector<Case> cases{
      {"write", {0xC7, 0x00, 0x01, 0, 0, 0}, 0x5000'0000, kPfWrite},  // mov dword ptr [rax], 1
      {"read", {0x8B, 0x18}, 0x5000'0000, 0},                          // mov ebx, [rax]
      {"push", {0x48, 0x89, 0xC4, 0x6A, 0x01}, 0x5000'0000 - 8, kPfWrite},  // mov rsp, rax; push 1
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Rig rig;
    enable_paging(rig);
    put_pf_handler(rig);
    // The push case moves RSP onto the missing page; the frame then needs a stack: IST1.
    put_gate(rig.mem, 14, kHandler, idt::kInterruptGate, 0, 1);
    REQUIRE(rig.mem.write64(0x5000 + 0x24, kStack));  // TSS.IST1
    uc_x86_mmr tr{0, 0x5000, 0x67, 0x89};
    uc_reg_write(rig.uc, UC_X86_REG_TR, &tr);
    auto code = mov_rax(0x5000'0000);
    code.insert(code.end(), c.insn.begin(), c.insn.end());
    put_code(rig.mem, kCode, code);
    rig.cpu->reset(kCode, kStack);
    CHECK_FALSE(run_steps(rig));
    REQUIRE(rig.cpu->taken(14) == 1);
    CHECK(rig.reg(UC_X86_REG_CR2) == c.cr2);
    CHECK(*rig.mem.read64(rig.reg(UC_X86_REG_RSP)) == c.code);
  }
}

TEST_CASE("vcpu: delivery reads the IDT by linear address through paging; a gate on a not-present page is a #PF of the delivery with CR2, taken through the next gate (SDM vol. 3A §3.5.1, §6.15 Table 6-5)") {
  Rig rig;
  enable_paging(rig);  // VA 0x4000_0000 -> PA 0x4000; VA 0x3FFF_F000 not present
  // IDTR.base 0x3FFF_FF40: #UD's gate (offset 0x60) at VA 0x3FFF_FFA0 is on the not-present
  // page; #PF's (offset 0xE0) at VA 0x4000_0020, which is PA 0x4020.
  uc_x86_mmr idtr{0, 0x3FFF'FF40, 0xFFF, 0};
  uc_reg_write(rig.uc, UC_X86_REG_IDTR, &idtr);
  const auto w = idt::encode({kHandler, 0, 0, idt::kInterruptGate, 0, true});
  REQUIRE(rig.mem.write64(0x4020, w[0]));
  REQUIRE(rig.mem.write64(0x4028, w[1]));
  put_code(rig.mem, kCode, {0x0F, 0x0B});                       // ud2
  put_code(rig.mem, kHandler, {0xB0, 0x21, 0xE6, 0xF4});       // mov al,0x21; out 0xf4,al
  rig.cpu->reset(kCode, kStack);
  const auto stop = run_steps(rig);
  REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
  CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));
  CHECK(rig.cpu->taken(6) == 0);
  CHECK(rig.cpu->taken(14) == 1);
  CHECK(rig.reg(UC_X86_REG_CR2) == 0x3FFF'FFA0);
  CHECK(*rig.mem.read64(kStack - 48) == 0);            // error code: not present, read, supervisor
  CHECK(*rig.mem.read64(kStack - 40) == kCode);        // the #UD's instruction, as the fault's frame
}
