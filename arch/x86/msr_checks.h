#pragma once
// The RDMSR/WRMSR checks the processor makes and Unicorn 2.0.1 does not (its helper reads
// 0 and drops writes for an MSR it does not know, and stores any value in the ones it
// does): each refusal is #GP(0) at the instruction (SDM vol. 2B RDMSR, WRMSR "Protected
// Mode Exceptions": a reserved or unimplemented MSR address, a reserved bit set, a
// non-canonical address in an MSR that holds one). Pure logic over the MSR, the value and
// what the CPU reports; the vCPU performs the access natively when nothing is refused.
//
// What is checked:
//  - the machine-check banks (SDM vol. 3B §16.3.2): IA32_MCi_CTL/STATUS/ADDR/MISC exist at
//    400h + 4i for i < IA32_MCG_CAP.Count (bits 7:0); 400h-47Fh is the range of the 32
//    banks the architecture has room for, so an MSR there past the CPU's banks is
//    unimplemented; IA32_MCi_STATUS takes only 0 (§16.3.2.2: writing 1s is #GP);
//  - MSRs of features CPUID does not report (SDM vol. 4 Table 2-2): IA32_SPEC_CTRL (48h,
//    CPUID.(EAX=7,ECX=0):EDX[26] IBRS, [27] STIBP or [31] SSBD), IA32_PRED_CMD (49h,
//    EDX[26]), IA32_FLUSH_CMD (10Bh, EDX[28] L1D_FLUSH); PRED_CMD and FLUSH_CMD are
//    write-only, so RDMSR of them is #GP even where they exist;
//  - a non-canonical address written to IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE,
//    IA32_LSTAR, IA32_SYSENTER_ESP, IA32_SYSENTER_EIP (WRMSR's list) and IA32_CSTAR
//    (C000_0083h: the CPU's vendor is AuthenticAMD, and AMD64 APM vol. 3 WRMSR checks it
//    with the other SYSCALL target).
#include <cstdint>
#include <optional>
#include <string>

namespace irqremap::x86 {

inline constexpr uint32_t kMsrIa32SpecCtrl = 0x48, kMsrIa32PredCmd = 0x49, kMsrIa32FlushCmd = 0x10B,
                          kMsrIa32McgCap = 0x179, kMsrIa32SysenterEsp = 0x175, kMsrIa32SysenterEip = 0x176,
                          kMsrIa32Mc0Ctl = 0x400, kMsrIa32McEnd = 0x480, kMsrIa32Lstar = 0xC000'0082,
                          kMsrIa32Cstar = 0xC000'0083, kMsrIa32Efer = 0xC000'0080;
inline constexpr uint64_t kEferSCE = 1;  // IA32_EFER.SCE, SYSCALL enable
inline constexpr uint32_t kCpuid7EdxIbrsIbpb = 1u << 26, kCpuid7EdxStibp = 1u << 27, kCpuid7EdxL1dFlush = 1u << 28,
                          kCpuid7EdxSsbd = 1u << 31;

// What the checks depend on: IA32_MCG_CAP.Count and CPUID.(EAX=7,ECX=0):EDX.
struct MsrCpu {
  uint32_t mce_banks = 0;
  uint32_t leaf7_edx = 0;
};

// Why RDMSR (`write` false) or WRMSR of `value` to `msr` is #GP(0), or nullopt.
std::optional<std::string> msr_refusal(uint32_t msr, bool write, uint64_t value, const MsrCpu& cpu);

}  // namespace irqremap::x86
