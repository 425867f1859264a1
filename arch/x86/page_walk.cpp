#include "arch/x86/page_walk.h"

#include <fmt/format.h>

namespace irqremap::x86 {

namespace {
// Paging-structure entry bits (§4.5, Tables 4-15 to 4-20).
constexpr uint64_t kP = 1ull << 0, kRW = 1ull << 1, kUS = 1ull << 2, kPS = 1ull << 7, kXD = 1ull << 63;
constexpr uint64_t kAddr = 0x000F'FFFF'FFFF'F000;
}  // namespace

std::expected<PageTranslation, WalkFault> translate(const GuestMemory& mem, const PagingRegs& regs,
                                                uint64_t linear, PageAccess access) {
  if ((regs.cr0 & kCr0PG) == 0) return PageTranslation{linear, 0x1000};
  if ((regs.cr4 & kCr4PAE) == 0 || (regs.efer & kEferLME) == 0)
    return std::unexpected(WalkFault{WalkFault::Kind::Unsupported, 0,
                                     "32-bit or PAE paging outside IA-32e mode is not modelled"});
  if ((regs.cr4 & kCr4LA57) != 0)
    return std::unexpected(WalkFault{WalkFault::Kind::Unsupported, 0, "5-level paging is not modelled"});
  // The error code's access bits are the same whatever ends the walk (§4.7).
  uint32_t code = 0;
  if (access.kind == Access::Write) code |= kPfWrite;
  if (access.user) code |= kPfUser;
  // I/D is reported only where instruction fetches can be refused (§4.7: NXE or SMEP).
  if (access.kind == Access::Fetch && (regs.efer & kEferNXE) != 0) code |= kPfFetch;
  bool writable = true, user = true, executable = true;
  uint64_t table = regs.cr3 & kAddr;
  for (int level = 3; level >= 0; --level) {
    const unsigned index = unsigned(linear >> (12 + 9 * level)) & 0x1FF;
    const uint64_t at = table + 8 * index;
    auto e = mem.read64(at);
    if (!e)
      return std::unexpected(WalkFault{WalkFault::Kind::TableOutsideRam, 0,
                                       fmt::format("paging-structure entry at {:#x} is outside RAM", at)});
    if ((*e & kP) == 0) return std::unexpected(WalkFault{WalkFault::Kind::PageFault, code, "not present"});
    // Access rights combine over every level (§4.6.1): the most restrictive wins.
    writable = writable && (*e & kRW) != 0;
    user = user && (*e & kUS) != 0;
    executable = executable && !((regs.efer & kEferNXE) != 0 && (*e & kXD) != 0);
    const bool leaf = level == 0 || ((level == 1 || level == 2) && (*e & kPS) != 0);
    if (!leaf) {
      table = *e & kAddr;
      continue;
    }
    const uint64_t size = 1ull << (12 + 9 * level);
    const bool refused = (access.user && !user) ||
                         (access.kind == Access::Write && !writable && (access.user || (regs.cr0 & kCr0WP) != 0)) ||
                         (access.kind == Access::Fetch && !executable);
    if (refused)
      return std::unexpected(WalkFault{WalkFault::Kind::PageFault, code | kPfPresent, "access rights"});
    return PageTranslation{(*e & kAddr & ~(size - 1)) | (linear & (size - 1)), size};
  }
  return std::unexpected(WalkFault{WalkFault::Kind::Unsupported, 0, "unreachable"});
}

}  // namespace irqremap::x86
