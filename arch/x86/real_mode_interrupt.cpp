#include "arch/x86/real_mode_interrupt.h"

#include <fmt/format.h>

#include "arch/x86/interrupt_entry.h"

namespace irqremap::x86 {

std::expected<void, std::string> enter_real_mode_interrupt(RealModeRegs& r, GuestMemory& mem, uint8_t vector) {
  const uint32_t entry_offset = 4u * vector;
  if (entry_offset + 3 > r.idtr_limit)
    return std::unexpected(fmt::format("vector {:#04x}: IVT entry at +{:#x} past IDTR.limit {:#x} (#GP)", vector,
                                       entry_offset, r.idtr_limit));
  const auto entry = mem.read32(r.idtr_base + entry_offset);
  if (!entry)
    return std::unexpected(fmt::format("vector {:#04x}: IVT entry at {:#x} is outside guest RAM", vector,
                                       r.idtr_base + entry_offset));
  // FLAGS, CS, IP, each at SP - 2 wrapping within the 64 KiB stack segment.
  uint16_t sp = r.sp;
  for (const uint16_t v : {uint16_t(r.flags), r.cs, r.ip}) {
    sp = uint16_t(sp - 2);
    if (!mem.write16(r.ss_base + sp, v))
      return std::unexpected(fmt::format("vector {:#04x}: interrupt frame push at {:#x} is outside guest RAM", vector,
                                         r.ss_base + sp));
  }
  r.sp = sp;
  r.flags &= ~uint32_t(kRflagsIF | kRflagsTF | kEflagsAC | kRflagsRF);
  r.ip = uint16_t(*entry);
  r.cs = uint16_t(*entry >> 16);
  return {};
}

}  // namespace irqremap::x86
