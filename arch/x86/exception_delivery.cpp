#include "arch/x86/exception_delivery.h"

namespace irqremap::x86 {

bool page_present(const GuestMemory& mem, uint64_t cr3, uint64_t linear) {
  // §4.5 "4-Level Paging": PML4E, PDPTE (PS: 1 GiB), PDE (PS: 2 MiB), PTE; bits 51:12 the
  // next table.
  constexpr uint64_t kAddr = 0x000F'FFFF'FFFF'F000;
  uint64_t table = cr3 & kAddr;
  for (int level = 3; level >= 0; --level) {
    const unsigned index = unsigned(linear >> (12 + 9 * level)) & 0x1FF;
    auto e = mem.read64(table + 8 * index);
    if (!e || (*e & 1) == 0) return false;
    if ((level == 1 || level == 2) && (*e & 0x80) != 0) return true;  // PS: a large page
    table = *e & kAddr;
  }
  return true;
}

uint32_t exception_error_code(const GuestMemory& mem, uint32_t vector, uint64_t rip, uint64_t cr2,
                              uint16_t cs, uint64_t cr3) {
  if (vector != 14) return 0;
  uint32_t code = 0;
  if (page_present(mem, cr3, cr2)) code |= kPfPresent;
  if ((cs & 3) == 3) code |= kPfUser;
  if (cr2 == rip) code |= kPfFetch;
  return code;
}

}  // namespace irqremap::x86
