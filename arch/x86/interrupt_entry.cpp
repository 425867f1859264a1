#include "arch/x86/interrupt_entry.h"

#include <fmt/format.h>

#include "arch/x86/idt_gate.h"
#include "arch/x86/segment_descriptor.h"

namespace irqremap::x86 {
namespace {

constexpr uint8_t kNP = 11, kSS = 12, kGP = 13, kTS = 10;

std::unexpected<DeliveryFault> fault(uint8_t vector, uint32_t code, std::string what) {
  return std::unexpected(DeliveryFault{vector, code, std::move(what), std::nullopt});
}
// A failed access with what delivery was doing in front of its reason.
std::unexpected<DeliveryFault> failed(DeliveryFault f, const std::string& doing) {
  f.what = doing + ": " + f.what;
  return std::unexpected(std::move(f));
}

}  // namespace

std::expected<uint64_t, DeliveryFault> PhysicalMemory::read64(uint64_t a) {
  auto v = mem_.read64(a);
  if (!v) return std::unexpected(DeliveryFault{std::nullopt, 0, v.error().describe(), std::nullopt});
  return *v;
}

std::expected<void, DeliveryFault> PhysicalMemory::write64(uint64_t a, uint64_t value) {
  auto w = mem_.write64(a, value);
  if (!w) return std::unexpected(DeliveryFault{std::nullopt, 0, w.error().describe(), std::nullopt});
  return {};
}

std::expected<InterruptEntry, DeliveryFault> enter_interrupt(CpuFrameRegs& r, GuestMemory& mem,
                                                             const InterruptEvent& ev) {
  PhysicalMemory physical(mem);
  return enter_interrupt(r, physical, ev);
}

std::expected<InterruptEntry, DeliveryFault> enter_interrupt(CpuFrameRegs& r, LinearMemory& mem,
                                                             const InterruptEvent& ev) {
  const uint8_t vector = ev.vector;
  // §6.13: EXT is set when the fault occurs while delivering an event external to the
  // program (an interrupt or an earlier exception), clear for INT n/INT3/INTO.
  const uint32_t ext = ev.software ? 0 : 1;
  const uint32_t idt_code = uint32_t(vector) * 8 + 2 + ext;  // IDT bit (1) and the vector's index
  const uint64_t gate_off = uint64_t(vector) * 16;
  if (gate_off + 15 > r.idtr.limit)
    return fault(kGP, idt_code, fmt::format("vector {:#04x}: IDT gate at offset {:#x} is beyond IDTR.limit {:#x}",
                                            vector, gate_off, r.idtr.limit));
  auto lo = mem.read64(r.idtr.base + gate_off);
  if (!lo) return failed(lo.error(), fmt::format("vector {:#04x}: IDT gate read", vector));
  auto hi = mem.read64(r.idtr.base + gate_off + 8);
  if (!hi) return failed(hi.error(), fmt::format("vector {:#04x}: IDT gate read", vector));
  const idt::Gate g = idt::decode({*lo, *hi});
  // §6.14.1: only 64-bit interrupt and trap gates are valid in IA-32e mode; the S bit (44)
  // of a gate is 0, so a code or data descriptor is no gate either.
  if ((g.type != idt::kInterruptGate && g.type != idt::kTrapGate) || fields::get(*lo, seg::S) != 0)
    return fault(kGP, idt_code, fmt::format("vector {:#04x}: IDT gate type {:#x} is not a 64-bit interrupt or trap gate",
                                            vector, g.type));
  // INT n "Operation": a software interrupt needs gate DPL >= CPL (§6.12.1.1).
  if (ev.software && g.dpl < r.cpl)
    return fault(kGP, idt_code - ext, fmt::format("vector {:#04x}: software interrupt at CPL {} through a gate with DPL {}",
                                                  vector, r.cpl, g.dpl));
  if (!g.present)
    return fault(kNP, idt_code, fmt::format("vector {:#04x}: IDT gate not present (P=0)", vector));

  // The handler's code segment (§6.12.1.1 "Protection of Exception- and Interrupt-Handler
  // Procedures", §6.14.1).
  InterruptEntry entry;
  unsigned new_cpl = r.cpl;
  bool conforming = false;
  const uint16_t sel = g.selector;
  const uint32_t sel_code = (sel & 0xFFFC) | ext;
  if ((sel & 0xFFFC) == 0) {
    if ((r.cs & 0xFFFC) != 0 || r.cpl != 0)
      return fault(kGP, ext, fmt::format("vector {:#04x}: IDT gate selector is null", vector));
    // Unicorn's 64-bit reset state: CS is null and there is no GDT (see the header).
  } else {
    const TableReg& table = (sel & 4) != 0 ? r.ldtr : r.gdtr;
    if (uint32_t(sel | 7) > table.limit)
      return fault(kGP, sel_code, fmt::format("vector {:#04x}: gate selector {:#x} is beyond the {} limit {:#x}",
                                              vector, sel, (sel & 4) != 0 ? "LDT" : "GDT", table.limit));
    auto d = mem.read64(table.base + (sel & 0xFFF8));
    if (!d) return failed(d.error(), fmt::format("vector {:#04x}: code segment descriptor read", vector));
    const seg::Descriptor cs{*d};
    if (!cs.code() || cs.dpl() > r.cpl)
      return fault(kGP, sel_code, fmt::format("vector {:#04x}: gate selector {:#x} names {} with DPL {} (CPL {})", vector,
                                              sel, cs.code() ? "a code segment" : "no code segment", cs.dpl(), r.cpl));
    if (!cs.present())
      return fault(kNP, sel_code, fmt::format("vector {:#04x}: code segment {:#x} not present", vector, sel));
    if (!cs.long_mode() || cs.default_big())
      return fault(kGP, sel_code, fmt::format("vector {:#04x}: code segment {:#x} is not 64-bit code (L=1, D=0)",
                                              vector, sel));
    conforming = cs.conforming();
    if (!conforming) new_cpl = cs.dpl();
    entry.cs_descriptor = *d;
  }
  if (!seg::canonical(g.offset))
    return fault(kGP, ext, fmt::format("vector {:#04x}: handler RIP {:#x} is not canonical", vector, g.offset));

  // The stack (§6.14.4 "Stack Switching in IA-32e Mode", §6.14.5 "Interrupt Stack Table").
  uint64_t rsp = r.rsp;
  const bool privilege_change = new_cpl < r.cpl;
  if (privilege_change || g.ist != 0) {
    const uint32_t off = g.ist != 0 ? seg::tss_ist_offset(g.ist) : seg::tss_rsp_offset(new_cpl);
    const uint32_t tr_code = (r.tr_selector & 0xFFFC) | ext;
    if (off + 7 > r.tr.limit)
      return fault(kTS, tr_code, fmt::format("vector {:#04x}: TSS {} at offset {:#x} is beyond TR.limit {:#x}", vector,
                                             g.ist != 0 ? fmt::format("IST{}", g.ist) : fmt::format("RSP{}", new_cpl),
                                             off, r.tr.limit));
    auto v = mem.read64(r.tr.base + off);
    if (!v) return failed(v.error(), fmt::format("vector {:#04x}: TSS read", vector));
    rsp = *v;
    if (!seg::canonical(rsp))
      return fault(kSS, ext, fmt::format("vector {:#04x}: new stack pointer {:#x} is not canonical", vector, rsp));
  }
  rsp &= ~uint64_t{0xF};  // §6.14.2: aligned to 16 bytes before the pushes
  uint64_t frame[6];
  unsigned n = 0;
  frame[n++] = r.ss;
  frame[n++] = r.rsp;
  // §18.3.1.1: RF = 1 in the image of a fault; 0 for INT n/INT3/INTO, which clear it as
  // they start; the flag as it is for the rest.
  frame[n++] = ev.fault ? (r.rflags | kRflagsRF) : ev.software ? (r.rflags & ~kRflagsRF) : r.rflags;
  frame[n++] = r.cs;
  frame[n++] = r.rip;
  if (ev.error_code) frame[n++] = *ev.error_code;
  for (unsigned i = 0; i < n; ++i) {
    rsp -= 8;
    if (auto w = mem.write64(rsp, frame[i]); !w)
      return failed(w.error(), fmt::format("vector {:#04x}: interrupt frame push", vector));
  }
  if (privilege_change) {
    r.ss = uint16_t(new_cpl);  // the null selector, RPL = new CPL (§6.14.4)
    entry.stack_switched = true;
  }
  r.rsp = rsp;
  r.rip = g.offset;
  // CS.RPL is the CPL: the gate's selector with the new CPL (conforming: the CPL stays).
  r.cs = uint16_t((sel & 0xFFFC) | new_cpl);
  r.cpl = new_cpl;
  r.rflags &= ~(kRflagsTF | kRflagsNT | kRflagsRF | kRflagsVM);
  if (g.type == idt::kInterruptGate) r.rflags &= ~kRflagsIF;
  return entry;
}

std::expected<void, std::string> enter_interrupt(CpuFrameRegs& r, GuestMemory& mem, uint8_t vector,
                                                 std::optional<uint64_t> error_code) {
  auto e = enter_interrupt(r, mem, InterruptEvent{vector, error_code, false});
  if (!e) return std::unexpected(e.error().what);
  return {};
}

}  // namespace irqremap::x86
