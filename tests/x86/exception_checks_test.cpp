// The RFLAGS image of a fault, a trap and INT3 as the x86 vCPU pushes it on a bare engine
// (Intel SDM vol. 3A §18.3.1.1 "Instruction-Breakpoint Exception Condition": RF = 1 for
// any fault-class exception but an instruction breakpoint, 0 for a software interrupt),
// which kvm-unit-tests' idt_test checks for #GP and #UD; the RDMSR/WRMSR checks of
// msr_checks.h at the instruction (SDM vol. 2B RDMSR, WRMSR; vol. 3B §16.3.2); and the
// vectors of non-canonical addresses: #SS(0) through SS, #GP(0) at a branch whose target
// is not canonical (vol. 3A §6.15; JMP, CALL), which Unicorn 2.0.1 raises as #GP(0) at
// the address and at the target.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <memory>
#include <vector>

#include "arch/x86/idt_gate.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/msr_checks.h"
#include "arch/x86/x86_vcpu.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kFrCode = 0x1000, kFrIdt = 0x3000, kFrGdt = 0x4000, kFrStack = 0x8000;
// Null, kernel code 0x08, kernel data 0x10.
constexpr uint64_t kFrDescriptors[] = {0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF};

// A CPL 0 machine whose first instruction, IRETQ, loads CS 0x08 and SS 0x10 and goes to
// kFrCode + 2 (each program starts with it, assembled with GNU as).
struct FaultRig {
  GuestMemory mem;
  LapicBus bus{1};
  IoPortBus io;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  FaultRig(bool precise, const std::vector<uint8_t>& program) {
    auto r = mem.add_ram(0, 0x10000, "ram");
    REQUIRE(r.has_value());
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(uc, 0, 0x10000, UC_PROT_ALL, r->host) == UC_ERR_OK);
    cpu = std::make_unique<X86Vcpu>(0, uc, mem, bus.apic(0), io);
    if (precise) cpu->set_on_insn([](uint64_t, uint32_t) {});
    REQUIRE(mem.write(kFrCode, std::as_bytes(std::span(program))));
    for (size_t i = 0; i < std::size(kFrDescriptors); ++i) REQUIRE(mem.write64(kFrGdt + 8 * i, kFrDescriptors[i]));
    uc_x86_mmr idtr{0, kFrIdt, 256 * 16 - 1, 0}, gdtr{0, kFrGdt, uint32_t(sizeof kFrDescriptors - 1), 0};
    uc_reg_write(uc, UC_X86_REG_IDTR, &idtr);
    uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr);
    const uint64_t frame[] = {kFrCode + 2, 0x08, 0x2, kFrStack, 0x10};  // RIP, CS, RFLAGS, RSP, SS
    for (size_t i = 0; i < 5; ++i) REQUIRE(mem.write64(kFrStack - 0x100 + 8 * i, frame[i]));
    cpu->reset(kFrCode, kFrStack - 0x100);
  }
  ~FaultRig() {
    cpu.reset();
    uc_close(uc);
  }
  void gate(uint8_t vector, uint64_t offset) {
    const auto w = idt::encode({kFrCode + offset, 0x08, 0, idt::kInterruptGate, 0, true});
    REQUIRE(mem.write64(kFrIdt + 16u * vector, w[0]));
    REQUIRE(mem.write64(kFrIdt + 16u * vector + 8, w[1]));
  }
  // 4-level paging with the first 2 MiB identity-mapped (one large page): Unicorn checks
  // canonical addresses only in its page walk.
  void paging() {
    REQUIRE(mem.write64(0xA000, 0xB000 | 3));     // PML4[0]
    REQUIRE(mem.write64(0xB000, 0xC000 | 3));     // PDPT[0]
    REQUIRE(mem.write64(0xC000, 0x0 | 0x83));     // PD[0]: 2 MiB page at 0
    uint64_t cr4 = 0x20, cr3 = 0xA000, cr0 = 0;  // CR4.PAE
    uc_reg_write(uc, UC_X86_REG_CR4, &cr4);
    uc_reg_write(uc, UC_X86_REG_CR3, &cr3);
    uc_reg_read(uc, UC_X86_REG_CR0, &cr0);
    cr0 |= 0x8000'0001;  // PG, PE
    uc_reg_write(uc, UC_X86_REG_CR0, &cr0);
  }
  std::optional<arch::StopRequest> run() {
    for (int i = 0; i < 50 && !cpu->halted(); ++i) {
      arch::StepResult r = cpu->step(1000);
      if (r.stop) return r.stop;
    }
    return std::nullopt;
  }
  uint64_t at(uint64_t a) { return *mem.read64(a); }
};

// start: iretq
// main:  ud2; mov eax, 0xffffffff; mov cr4, rax; int3; hlt
// #UD:   mov rax, [rsp+16]; mov [0x6000], rax; add qword ptr [rsp], 2; iretq     (at +0x0E)
// #GP:   mov rax, [rsp+24]; mov [0x6008], rax; add rsp, 8; add qword ptr [rsp], 3; iretq  (+0x22)
// #BP:   mov rax, [rsp+16]; mov [0x6010], rax; iretq                              (at +0x3A)
const std::vector<uint8_t> kRfProgram = {
    0x48, 0xcf, 0x0f, 0x0b, 0xb8, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x22, 0xe0, 0xcc, 0xf4, 0x48, 0x8b, 0x44,
    0x24, 0x10, 0x48, 0x89, 0x04, 0x25, 0x00, 0x60, 0x00, 0x00, 0x48, 0x83, 0x04, 0x24, 0x02, 0x48, 0xcf,
    0x48, 0x8b, 0x44, 0x24, 0x18, 0x48, 0x89, 0x04, 0x25, 0x08, 0x60, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x08,
    0x48, 0x83, 0x04, 0x24, 0x03, 0x48, 0xcf, 0x48, 0x8b, 0x44, 0x24, 0x10, 0x48, 0x89, 0x04, 0x25, 0x10,
    0x60, 0x00, 0x00, 0x48, 0xcf};

// start: iretq
// main:  mov ecx, 0x428; rdmsr                          (IA32_MC10_CTL)        #GP at +0x07
//        mov ecx, 0x401; mov eax, 1; xor edx, edx; wrmsr (IA32_MC0_STATUS <- 1) #GP at +0x15
//        xor eax, eax; wrmsr                             (IA32_MC0_STATUS <- 0)
//        mov ecx, 0xC0000082; mov edx, 0x8000; wrmsr     (IA32_LSTAR non-canonical) #GP at +0x25
//        mov ecx, 0x48; rdmsr                            (IA32_SPEC_CTRL)       #GP at +0x2C
//        mov ecx, 0x400; rdmsr                           (IA32_MC0_CTL)
//        mov ecx, 0x49; xor eax, eax; xor edx, edx; wrmsr (IA32_PRED_CMD)       #GP at +0x3E
//        hlt
// #GP:   log the frame's RIP at 0x6100 + 8n (n at 0x6030), skip 2 bytes, iretq  (at +0x41)
const std::vector<uint8_t> kMsrProgram = {
    0x48, 0xcf, 0xb9, 0x28, 0x04, 0x00, 0x00, 0x0f, 0x32, 0xb9, 0x01, 0x04, 0x00, 0x00, 0xb8, 0x01, 0x00,
    0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0x31, 0xc0, 0x0f, 0x30, 0xb9, 0x82, 0x00, 0x00, 0xc0, 0xba, 0x00,
    0x80, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x48, 0x00, 0x00, 0x00, 0x0f, 0x32, 0xb9, 0x00, 0x04, 0x00, 0x00,
    0x0f, 0x32, 0xb9, 0x49, 0x00, 0x00, 0x00, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, 0xf4, 0x48, 0x8b, 0x04,
    0x25, 0x30, 0x60, 0x00, 0x00, 0x48, 0x8b, 0x5c, 0x24, 0x08, 0x48, 0x89, 0x1c, 0xc5, 0x00, 0x61, 0x00,
    0x00, 0x48, 0xff, 0xc0, 0x48, 0x89, 0x04, 0x25, 0x30, 0x60, 0x00, 0x00, 0x48, 0x83, 0xc4, 0x08, 0x48,
    0x83, 0x04, 0x24, 0x02, 0x48, 0xcf};

// start: iretq
// main:  movabs rax, 0x8000000000000000
//        mov qword ptr [0x6040], 5; or qword ptr [rsp+rax], 0   #SS(0) at +0x18
//        mov qword ptr [0x6040], 4; or qword ptr [rax], 0       #GP(0) at +0x29
//        mov rcx, rsp
//        mov qword ptr [0x6040], 2; jmp rax                     #GP(0) at +0x3C
//        mov qword ptr [0x6040], 2; call rax                    #GP(0) at +0x4A
//        mov [0x6048], rsp; mov [0x6058], rcx; hlt
// #SS:   mov r8, 12; jmp common                                 (at +0x5D)
// #GP:   mov r8, 13                                             (at +0x66)
// common: log n = [0x6030]: vector at 0x6400 + 8n, error code 0x6100, RIP 0x6200, the
//        frame's RSP 0x6300; n + 1; frame RIP += [0x6040]; drop the error code; iretq
const std::vector<uint8_t> kCanonicalProgram = {
    0x48, 0xcf, 0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x48, 0xc7, 0x04, 0x25, 0x40,
    0x60, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x48, 0x83, 0x0c, 0x04, 0x00, 0x48, 0xc7, 0x04, 0x25, 0x40,
    0x60, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x48, 0x83, 0x08, 0x00, 0x48, 0x89, 0xe1, 0x48, 0xc7, 0x04,
    0x25, 0x40, 0x60, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xff, 0xe0, 0x48, 0xc7, 0x04, 0x25, 0x40, 0x60,
    0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xff, 0xd0, 0x48, 0x89, 0x24, 0x25, 0x48, 0x60, 0x00, 0x00, 0x48,
    0x89, 0x0c, 0x25, 0x58, 0x60, 0x00, 0x00, 0xf4, 0x49, 0xc7, 0xc0, 0x0c, 0x00, 0x00, 0x00, 0xeb, 0x07,
    0x49, 0xc7, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x1c, 0x25, 0x30, 0x60, 0x00, 0x00, 0x4c, 0x89,
    0x04, 0xdd, 0x00, 0x64, 0x00, 0x00, 0x48, 0x8b, 0x14, 0x24, 0x48, 0x89, 0x14, 0xdd, 0x00, 0x61, 0x00,
    0x00, 0x48, 0x8b, 0x54, 0x24, 0x08, 0x48, 0x89, 0x14, 0xdd, 0x00, 0x62, 0x00, 0x00, 0x48, 0x8b, 0x54,
    0x24, 0x20, 0x48, 0x89, 0x14, 0xdd, 0x00, 0x63, 0x00, 0x00, 0x48, 0xff, 0xc3, 0x48, 0x89, 0x1c, 0x25,
    0x30, 0x60, 0x00, 0x00, 0x48, 0x8b, 0x14, 0x25, 0x40, 0x60, 0x00, 0x00, 0x48, 0x01, 0x54, 0x24, 0x08,
    0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf};

// start: iretq
// main:  syscall                                              #UD at +0x02 (EFER.SCE clear)
//        mov ecx, 0xC0000080; rdmsr; or eax, 1; wrmsr         IA32_EFER.SCE
//        mov ecx, 0xC0000081; xor eax, eax; mov edx, 8; wrmsr  IA32_STAR[47:32] = 0x08
//        mov ecx, 0xC0000082; lea eax, [rip + target]; xor edx, edx; wrmsr  IA32_LSTAR
//        mov ecx, 0xC0000084; mov eax, 0x200; wrmsr           IA32_FMASK = IF
//        mov ecx, 0xC0000080; rdmsr; mov [0x6000], rax
//        sti; syscall                                         (at +0x49)
//        hlt
// target: mov [0x6008], rcx; mov [0x6010], r11; pushfq; pop rax; mov [0x6018], rax;
//        mov eax, cs; mov [0x6020], rax; hlt                  (at +0x4C)
// #UD:   mov qword ptr [0x6028], 1; add qword ptr [rsp], 2; iretq  (at +0x71)
const std::vector<uint8_t> kSyscallProgram = {
    0x48, 0xcf, 0x0f, 0x05, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x83, 0xc8, 0x01, 0x0f, 0x30, 0xb9,
    0x81, 0x00, 0x00, 0xc0, 0x31, 0xc0, 0xba, 0x08, 0x00, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x82, 0x00, 0x00,
    0xc0, 0x8d, 0x05, 0x23, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xb9, 0x84, 0x00, 0x00, 0xc0, 0xb8,
    0x00, 0x02, 0x00, 0x00, 0x0f, 0x30, 0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x48, 0x89, 0x04, 0x25,
    0x00, 0x60, 0x00, 0x00, 0xfb, 0x0f, 0x05, 0xf4, 0x48, 0x89, 0x0c, 0x25, 0x08, 0x60, 0x00, 0x00, 0x4c,
    0x89, 0x1c, 0x25, 0x10, 0x60, 0x00, 0x00, 0x9c, 0x58, 0x48, 0x89, 0x04, 0x25, 0x18, 0x60, 0x00, 0x00,
    0x8c, 0xc8, 0x48, 0x89, 0x04, 0x25, 0x20, 0x60, 0x00, 0x00, 0xf4, 0x48, 0xc7, 0x04, 0x25, 0x28, 0x60,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x48, 0x83, 0x04, 0x24, 0x02, 0x48, 0xcf};

}  // namespace

TEST_CASE("SDM vol. 2B SYSCALL: #UD with IA32_EFER.SCE clear; with SCE set (WRMSR keeps it) RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~FMASK, CS from STAR, RIP from LSTAR") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    FaultRig rig(precise, kSyscallProgram);
    rig.gate(6, 0x71);
    const auto stop = rig.run();
    REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
    REQUIRE(rig.cpu->halted());
    CHECK(rig.cpu->taken(6) == 1);
    CHECK(rig.at(0x6028) == 1);
    CHECK((rig.at(0x6000) & 1) == 1);                // EFER.SCE reads back
    CHECK(rig.at(0x6008) == kFrCode + 0x4B);          // RCX: the instruction after SYSCALL
    CHECK((rig.at(0x6010) & kRflagsIF) != 0);         // R11: RFLAGS before (STI)
    CHECK((rig.at(0x6018) & kRflagsIF) == 0);         // FMASK cleared IF
    CHECK(rig.at(0x6020) == 0x08);                    // CS = STAR[47:32]
    CHECK(rig.cpu->pc() == kFrCode + 0x71);           // halted after the target's HLT
  }
}

TEST_CASE("SDM vol. 3A §6.15 (Interrupts 12, 13), JMP/CALL 64-bit mode exceptions: a non-canonical address through RSP is #SS(0), through RAX #GP(0); JMP and CALL to a non-canonical target are #GP(0) at the branch with RSP unchanged") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    FaultRig rig(precise, kCanonicalProgram);
    rig.paging();
    rig.gate(12, 0x5D);
    rig.gate(13, 0x66);
    const auto stop = rig.run();
    REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
    REQUIRE(rig.cpu->halted());
    REQUIRE(rig.at(0x6030) == 4);
    const uint64_t vectors[] = {12, 13, 13, 13}, rips[] = {0x18, 0x29, 0x3C, 0x4A};
    for (uint64_t n = 0; n < 4; ++n) {
      CAPTURE(n);
      CHECK(rig.at(0x6400 + 8 * n) == vectors[n]);
      CHECK(rig.at(0x6100 + 8 * n) == 0);
      CHECK(rig.at(0x6200 + 8 * n) == kFrCode + rips[n]);
    }
    const uint64_t rsp = rig.at(0x6058);
    CHECK(rig.at(0x6300 + 8 * 2) == rsp);  // JMP: the frame's RSP is the program's
    CHECK(rig.at(0x6300 + 8 * 3) == rsp);  // CALL: nothing pushed
    CHECK(rig.at(0x6048) == rsp);
  }
}

TEST_CASE("SDM vol. 3A §18.3.1.1: #UD and #GP push RFLAGS with RF = 1; INT3 after the #GP handler's IRETQ pushes RF = 0") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    FaultRig rig(precise, kRfProgram);
    rig.gate(6, 0x0E);
    rig.gate(13, 0x22);
    rig.gate(3, 0x3A);
    const auto stop = rig.run();
    REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
    REQUIRE(rig.cpu->halted());
    CHECK(rig.cpu->taken(6) == 1);
    CHECK(rig.cpu->taken(13) == 1);  // MOV to CR4 of 0xffffffff: reserved bits
    CHECK(rig.cpu->taken(3) == 1);
    CHECK((rig.at(0x6000) & kRflagsRF) != 0);
    CHECK((rig.at(0x6008) & kRflagsRF) != 0);
    // The #GP handler's IRETQ loaded RF = 1 from its image; INT3 clears it as it starts.
    CHECK((rig.at(0x6010) & kRflagsRF) == 0);
  }
}

TEST_CASE("SDM vol. 2B RDMSR/WRMSR, vol. 3B §16.3.2: #GP(0) at an unimplemented machine-check bank, IA32_MCi_STATUS <- 1, a non-canonical IA32_LSTAR, IA32_SPEC_CTRL and IA32_PRED_CMD without their CPUID bits") {
  for (bool precise : {false, true}) {
    CAPTURE(precise);
    FaultRig rig(precise, kMsrProgram);
    rig.gate(13, 0x41);
    const auto stop = rig.run();
    REQUIRE_MESSAGE(!stop, (stop ? stop->what : ""));
    REQUIRE(rig.cpu->halted());
    REQUIRE(rig.at(0x6030) == 5);
    CHECK(rig.at(0x6100) == kFrCode + 0x07);
    CHECK(rig.at(0x6108) == kFrCode + 0x15);
    CHECK(rig.at(0x6110) == kFrCode + 0x25);
    CHECK(rig.at(0x6118) == kFrCode + 0x2C);
    CHECK(rig.at(0x6120) == kFrCode + 0x3E);
  }
}

TEST_CASE("unicorn 2.0.1: IA32_MCG_CAP reports 10 machine-check banks, so IA32_MC9_MISC (427h) exists and IA32_MC10_CTL (428h) is #GP") {
  uc_engine* uc = nullptr;
  REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
  uc_x86_msr cap{kMsrIa32McgCap, 0};
  REQUIRE(uc_reg_read(uc, UC_X86_REG_MSR, &cap) == UC_ERR_OK);
  uc_close(uc);
  CHECK((cap.value & 0xFF) == 10);
  const MsrCpu cpu{uint32_t(cap.value & 0xFF), 0};
  CHECK_FALSE(msr_refusal(0x427, false, 0, cpu));
  CHECK(msr_refusal(0x428, false, 0, cpu));
  CHECK(msr_refusal(0x47F, true, 0, cpu));
}

TEST_CASE("msr checks: IA32_MCi_STATUS takes only 0; non-canonical addresses in the base and SYSCALL/SYSENTER target MSRs; SPEC_CTRL, PRED_CMD, FLUSH_CMD follow CPUID.7:EDX (SDM vol. 2B WRMSR, vol. 4 Table 2-2)") {
  const MsrCpu none{10, 0};
  CHECK(msr_refusal(0x401, true, 1, none));
  CHECK_FALSE(msr_refusal(0x401, true, 0, none));
  CHECK_FALSE(msr_refusal(0x400, true, 0xAAAA'AAAA'AAAA'AAAA, none));  // CTL: any value (not the P6 rule)
  for (uint32_t m : {0xC000'0100u, 0xC000'0101u, 0xC000'0102u, 0xC000'0082u, 0xC000'0083u, 0x175u, 0x176u}) {
    CAPTURE(m);
    CHECK(msr_refusal(m, true, 0x8000'0000'0000'0000, none));
    CHECK_FALSE(msr_refusal(m, true, 0xFFFF'8000'0000'0000, none));
    CHECK_FALSE(msr_refusal(m, false, 0, none));
  }
  CHECK(msr_refusal(kMsrIa32SpecCtrl, false, 0, none));
  CHECK(msr_refusal(kMsrIa32PredCmd, true, 1, none));
  CHECK(msr_refusal(kMsrIa32FlushCmd, true, 1, none));
  const MsrCpu all{10, kCpuid7EdxIbrsIbpb | kCpuid7EdxL1dFlush};
  CHECK_FALSE(msr_refusal(kMsrIa32SpecCtrl, false, 0, all));
  CHECK_FALSE(msr_refusal(kMsrIa32PredCmd, true, 1, all));
  CHECK(msr_refusal(kMsrIa32PredCmd, false, 0, all));  // write-only
  CHECK_FALSE(msr_refusal(kMsrIa32FlushCmd, true, 1, all));
  CHECK(msr_refusal(kMsrIa32FlushCmd, false, 0, all));
}

TEST_CASE("unicorn 2.0.1: CPUID 80000001h reports no SYSCALL, WRMSR drops EFER.SCE, and SYSCALL with SCE clear runs on to the next instruction instead of #UD (x86_vcpu.h: why the vCPU performs SYSCALL)") {
  uc_engine* uc = nullptr;
  REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
  const uint8_t code[] = {0x0F, 0xA2, 0x0F, 0x05, 0x90, 0xF4};  // cpuid; syscall; nop; hlt
  REQUIRE(uc_mem_map(uc, 0x1000, 0x1000, UC_PROT_ALL) == UC_ERR_OK);
  REQUIRE(uc_mem_write(uc, 0x1000, code, sizeof code) == UC_ERR_OK);
  uint64_t rax = 0x8000'0001, rcx = 0, rdx = 0, rip = 0;
  uc_reg_write(uc, UC_X86_REG_RAX, &rax);
  uc_reg_write(uc, UC_X86_REG_RCX, &rcx);
  REQUIRE(uc_emu_start(uc, 0x1000, 0x1002, 0, 0) == UC_ERR_OK);
  uc_reg_read(uc, UC_X86_REG_RDX, &rdx);
  CHECK((rdx & (1u << 11)) == 0);  // SYSCALL/SYSRET
  uc_x86_msr efer{0xC000'0080, 0};
  REQUIRE(uc_reg_read(uc, UC_X86_REG_MSR, &efer) == UC_ERR_OK);
  efer.value |= 1;  // SCE
  REQUIRE(uc_reg_write(uc, UC_X86_REG_MSR, &efer) == UC_ERR_OK);
  REQUIRE(uc_reg_read(uc, UC_X86_REG_MSR, &efer) == UC_ERR_OK);
  CHECK((efer.value & 1) == 0);
  CHECK(uc_emu_start(uc, 0x1002, 0x1005, 0, 0) == UC_ERR_OK);
  uc_reg_read(uc, UC_X86_REG_RIP, &rip);
  CHECK(rip == 0x1005);
  uc_close(uc);
}
