#pragma once
// What CPUID reports on this machine (Intel SDM vol. 2A, CPUID; vol. 3A §2.5 for CR4),
// and the CR4 bits that are reserved because of it.
//
// Unicorn 2.0.1's own CPU answers CPUID as a CPU without FPU, TSC, MSR, PAE, APIC or PGE
// (leaf 1 EDX 0x07088100), although its TCG executes all of them, and the machine gives
// every CPU a local APIC with x2APIC mode and a deterministic TSC. So the vCPU answers
// CPUID itself (UC_HOOK_INSN for UC_X86_INS_CPUID, which skips Unicorn's helper): from
// Unicorn's own leaves (vendor, family, the instruction-set bits its TCG runs: SSE
// through SSE4.2, AES, BMI1/2, ADX, SMAP; captured once on a scratch engine), with the
// bits of what the machine models set as QEMU's `qemu64` CPU sets them:
//  - leaf 1 EDX: FPU, DE, PSE, TSC, MSR, PAE, MCE, CX8, APIC (0 while the APIC is
//    hardware-disabled, IA32_APIC_BASE.EN = 0), SEP, MTRR, PGE, MCA, CMOV, PAT, PSE36,
//    CLFSH, MMX, FXSR, SSE, SSE2; ECX: x2APIC; EBX[31:24] the initial APIC ID;
//  - leaf 7 ECX: UMIP (the vCPU enforces CR4.UMIP itself);
//  - leaf 0Bh EDX: the x2APIC ID;
//  - leaf 80000001h EDX: SYSCALL (the vCPU performs SYSCALL and keeps EFER.SCE itself).
//  - leaf 1 ECX: TSC-deadline (the APIC timer's third mode, §11.5.4.1).
// x2APIC, TSC-deadline and UMIP can be taken away (CpuFeatures, `run --cpu qemu64,-x2apic`
// as QEMU's -cpu), so a guest meets the CPU without them kvm-unit-tests runs it on.
// Not reported because not modelled: XSAVE, PCID, SMEP, FSGSBASE, LA57, PKU, VMX, SMX.
#include <cstdint>

namespace irqremap::x86 {

struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  bool operator==(const CpuidRegs&) const = default;
};

// Leaf 1 (SDM vol. 2A Table 3-10, 3-11) and leaf 7 bits the machine sets or reads.
inline constexpr uint32_t kCpuid1EdxModelled = 0x078BFBFD;  // qemu64: FPU..SSE2 as listed above
inline constexpr uint32_t kCpuid1EdxApic = 1u << 9;
inline constexpr uint32_t kCpuid1EcxX2apic = 1u << 21, kCpuid1EcxTscDeadline = 1u << 24;
inline constexpr uint32_t kCpuid7EcxUmip = 1u << 2;
inline constexpr uint32_t kCpuid8000_0001EdxSyscall = 1u << 11;  // SYSCALL/SYSRET

// The modelled features a machine's CPUs may go without (all present by default). Without
// one, its CPUID bit reads 0 and what it adds is reserved: IA32_APIC_BASE.EXTD and the
// x2APIC MSRs (§11.12.1), IA32_TSC_DEADLINE and LVT Timer mode 10b (§11.5.4.1), CR4.UMIP
// (§2.5).
struct CpuFeatures {
  bool x2apic = true;
  bool tsc_deadline = true;
  bool umip = true;
  bool operator==(const CpuFeatures&) const = default;
};

// CPUID.(EAX=leaf, ECX=subleaf) on CPU `apic_id`, from `engine` (Unicorn's answer to the
// same leaf). `apic_enabled`: IA32_APIC_BASE.EN.
CpuidRegs machine_cpuid(uint32_t leaf, uint32_t subleaf, CpuidRegs engine, uint32_t apic_id, bool apic_enabled,
                        const CpuFeatures& features = {});

// CR4 bits that MOV to CR4 may not set on a CPU with these leaf 1 and leaf 7 answers
// (SDM vol. 3A §2.5: a bit of a feature the CPU does not report is reserved; bit 15 and
// bits 63:25 are reserved).
uint64_t cr4_reserved_bits(const CpuidRegs& leaf1, const CpuidRegs& leaf7);

}  // namespace irqremap::x86
