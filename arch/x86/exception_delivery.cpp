#include "arch/x86/exception_delivery.h"

namespace irqremap::x86 {

uint32_t page_fault_error_code(const GuestMemory& mem, const PagingRegs& regs, uint64_t cr2, PageAccess access) {
  auto t = translate(mem, regs, cr2, access);
  if (!t && t.error().kind == WalkFault::Kind::PageFault) return t.error().error_code;
  uint32_t code = 0;
  if (access.kind == Access::Write) code |= kPfWrite;
  if (access.user) code |= kPfUser;
  if (access.kind == Access::Fetch && (regs.efer & kEferNXE) != 0) code |= kPfFetch;
  return code;
}

}  // namespace irqremap::x86
