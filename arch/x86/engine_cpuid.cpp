#include "arch/x86/engine_cpuid.h"

#include <unicorn/unicorn.h>

#include <map>
#include <mutex>
#include <utility>

namespace irqremap::x86 {

CpuidRegs engine_cpuid(uint32_t leaf, uint32_t subleaf) {
  static std::mutex lock;
  static std::map<std::pair<uint32_t, uint32_t>, CpuidRegs> kept;
  static uc_engine* uc = nullptr;  // the scratch engine, kept for the process
  constexpr uint64_t kCode = 0x1000;
  std::lock_guard<std::mutex> hold(lock);
  if (auto it = kept.find({leaf, subleaf}); it != kept.end()) return it->second;
  if (uc == nullptr) {
    constexpr uint8_t kCpuid[] = {0x0F, 0xA2};
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK) return {};
    if (uc_mem_map(uc, kCode, 0x1000, UC_PROT_ALL) != UC_ERR_OK ||
        uc_mem_write(uc, kCode, kCpuid, sizeof kCpuid) != UC_ERR_OK) {
      uc_close(uc);
      uc = nullptr;
      return {};
    }
  }
  uint64_t a = leaf, c = subleaf, b = 0, d = 0;
  uc_reg_write(uc, UC_X86_REG_RAX, &a);
  uc_reg_write(uc, UC_X86_REG_RCX, &c);
  if (uc_emu_start(uc, kCode, kCode + 2, 0, 0) != UC_ERR_OK) return {};
  uc_reg_read(uc, UC_X86_REG_RAX, &a);
  uc_reg_read(uc, UC_X86_REG_RBX, &b);
  uc_reg_read(uc, UC_X86_REG_RCX, &c);
  uc_reg_read(uc, UC_X86_REG_RDX, &d);
  const CpuidRegs r{uint32_t(a), uint32_t(b), uint32_t(c), uint32_t(d)};
  kept[{leaf, subleaf}] = r;
  return r;
}

}  // namespace irqremap::x86
