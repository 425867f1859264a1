#pragma once
// Linear-to-physical translation as the processor performs it (Intel SDM vol. 3A ch. 4),
// in plain C++ over GuestMemory: the vCPU glue uses it where Unicorn 2.0.1 does not
// translate for it (an access whose linear address is not in Unicorn's own map, see
// x86_vcpu.h) and to rebuild a #PF error code (§4.7).
//
// Modelled: paging off (linear = physical) and 4-level paging (§4.5; CR0.PG, CR4.PAE,
// IA32_EFER.LME) with 1 GiB and 2 MiB pages, P, R/W (with CR0.WP), U/S and XD (with
// IA32_EFER.NXE). 32-bit and PAE paging outside IA-32e mode, 5-level paging, protection
// keys, SMEP/SMAP and reserved-bit checks are not: a walk in those modes says so.
#include <cstdint>
#include <expected>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::x86 {

struct PagingRegs {
  uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

inline constexpr uint64_t kCr0PE = 1ull << 0, kCr0WP = 1ull << 16, kCr0PG = 1ull << 31;
inline constexpr uint64_t kCr4PAE = 1ull << 5, kCr4LA57 = 1ull << 12;
inline constexpr uint64_t kCr4DE = 1ull << 3;     // DR4/DR5 are #UD instead of DR6/DR7 (§18.2.2)
inline constexpr uint64_t kCr4UMIP = 1ull << 11;  // SGDT, SIDT, SLDT, SMSW, STR only at CPL 0 (§2.5)
inline constexpr uint64_t kEferLME = 1ull << 8, kEferLMA = 1ull << 10, kEferNXE = 1ull << 11;

// #PF error code bits (§4.7, Figure 4-12).
inline constexpr uint32_t kPfPresent = 1u << 0, kPfWrite = 1u << 1, kPfUser = 1u << 2,
                          kPfReserved = 1u << 3, kPfFetch = 1u << 4;

enum class Access : uint8_t { Read, Write, Fetch };

struct PageAccess {
  Access kind = Access::Read;
  bool user = false;  // CPL 3
};

struct PageTranslation {
  uint64_t pa = 0;
  uint64_t page_size = 0x1000;
};

struct WalkFault {
  enum class Kind : uint8_t { PageFault, Unsupported, TableOutsideRam } kind = Kind::PageFault;
  uint32_t error_code = 0;  // §4.7 for PageFault
  std::string what;
};

std::expected<PageTranslation, WalkFault> translate(const GuestMemory& mem, const PagingRegs& regs,
                                                uint64_t linear, PageAccess access);

}  // namespace irqremap::x86
