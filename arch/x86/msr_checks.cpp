#include "arch/x86/msr_checks.h"

#include <fmt/format.h>

#include "arch/x86/segment_descriptor.h"

namespace irqremap::x86 {

std::optional<std::string> msr_refusal(uint32_t msr, bool write, uint64_t value, const MsrCpu& cpu) {
  if (msr >= kMsrIa32Mc0Ctl && msr < kMsrIa32McEnd) {
    const uint32_t bank = (msr - kMsrIa32Mc0Ctl) / 4, reg = (msr - kMsrIa32Mc0Ctl) % 4;
    if (bank >= cpu.mce_banks)
      return fmt::format("machine-check bank {} is not implemented (IA32_MCG_CAP.Count {})", bank, cpu.mce_banks);
    if (write && reg == 1 && value != 0) return fmt::format("IA32_MC{}_STATUS takes only 0", bank);
    return std::nullopt;
  }
  switch (msr) {
    case kMsrIa32SpecCtrl:
      if ((cpu.leaf7_edx & (kCpuid7EdxIbrsIbpb | kCpuid7EdxStibp | kCpuid7EdxSsbd)) == 0)
        return std::string("IA32_SPEC_CTRL is not implemented (CPUID.7:EDX IBRS, STIBP, SSBD clear)");
      return std::nullopt;
    case kMsrIa32PredCmd:
      if (!write) return std::string("IA32_PRED_CMD is write-only");
      if ((cpu.leaf7_edx & kCpuid7EdxIbrsIbpb) == 0)
        return std::string("IA32_PRED_CMD is not implemented (CPUID.7:EDX[26] clear)");
      return std::nullopt;
    case kMsrIa32FlushCmd:
      if (!write) return std::string("IA32_FLUSH_CMD is write-only");
      if ((cpu.leaf7_edx & kCpuid7EdxL1dFlush) == 0)
        return std::string("IA32_FLUSH_CMD is not implemented (CPUID.7:EDX[28] clear)");
      return std::nullopt;
    case seg::kMsrIa32FsBase:
    case seg::kMsrIa32GsBase:
    case seg::kMsrIa32KernelGsBase:
    case kMsrIa32Lstar:
    case kMsrIa32Cstar:
    case kMsrIa32SysenterEsp:
    case kMsrIa32SysenterEip:
      if (write && !seg::canonical(value)) return fmt::format("non-canonical address {:#x}", value);
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace irqremap::x86
