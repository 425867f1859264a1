#include "arch/x86/interrupt_entry.h"

#include <fmt/format.h>

#include "arch/x86/idt_gate.h"

namespace irqremap::x86 {

std::expected<void, std::string> enter_interrupt(CpuFrameRegs& r, GuestMemory& mem,
                                                 uint8_t vector,
                                                 std::optional<uint64_t> error_code) {
  const uint64_t gate_off = uint64_t(vector) * 16;
  if (gate_off + 15 > r.idtr_limit)
    return std::unexpected(fmt::format("vector {:#04x}: IDT gate at offset {:#x} is beyond IDTR.limit {:#x}",
                                       vector, gate_off, r.idtr_limit));
  auto lo = mem.read64(r.idtr_base + gate_off);
  auto hi = mem.read64(r.idtr_base + gate_off + 8);
  if (!lo || !hi)
    return std::unexpected(fmt::format("vector {:#04x}: IDT gate read: {}", vector,
                                       (!lo ? lo.error() : hi.error()).describe()));
  const idt::Gate g = idt::decode({*lo, *hi});
  if (!g.present)
    return std::unexpected(fmt::format("vector {:#04x}: IDT gate not present (P=0)", vector));
  if (g.type != idt::kInterruptGate && g.type != idt::kTrapGate)
    return std::unexpected(fmt::format("vector {:#04x}: IDT gate type {:#x} is not a 64-bit interrupt or trap gate",
                                       vector, g.type));
  if (g.selector != r.cs)
    return std::unexpected(fmt::format(
        "vector {:#04x}: IDT gate selector {:#x} differs from CS {:#x} (only flat CPL0 handlers are supported)",
        vector, g.selector, r.cs));
  uint64_t rsp = r.rsp;
  if (g.ist != 0) {  // TSS IST1..7 at offsets 0x24.. (SDM §8.7, Figure 8-11)
    auto ist = mem.read64(r.tr_base + 0x24 + 8 * (g.ist - 1));
    if (!ist)
      return std::unexpected(fmt::format("vector {:#04x}: TSS IST{} read: {}", vector, g.ist,
                                         ist.error().describe()));
    rsp = *ist;
  }
  rsp &= ~uint64_t{0xF};  // §6.14.2: aligned to 16 bytes before the pushes
  uint64_t frame[6];
  unsigned n = 0;
  frame[n++] = r.ss;
  frame[n++] = r.rsp;
  frame[n++] = r.rflags;
  frame[n++] = r.cs;
  frame[n++] = r.rip;
  if (error_code) frame[n++] = *error_code;
  for (unsigned i = 0; i < n; ++i) {
    rsp -= 8;
    if (auto w = mem.write64(rsp, frame[i]); !w)
      return std::unexpected(fmt::format("vector {:#04x}: interrupt frame push: {}", vector,
                                         w.error().describe()));
  }
  r.rsp = rsp;
  r.rip = g.offset;
  r.rflags &= ~(kRflagsTF | kRflagsNT | kRflagsRF);
  if (g.type == idt::kInterruptGate) r.rflags &= ~kRflagsIF;
  return {};
}

}  // namespace irqremap::x86
