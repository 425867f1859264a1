#pragma once
// Unicorn 2.0.1 glue: loading CS and SS with their hidden parts, and the CPL, after the
// machine has delivered an interrupt through a gate (interrupt_entry.h).
//
// With UC_MODE_64, uc_reg_write of CS or SS stores the selector only (qemu/target/i386/
// unicorn.c, reg_write for UC_MODE_64): the hidden part (base, limit, flags) stays, and so
// does the CPL, which QEMU keeps in its hflags and takes from SS's DPL when SS is loaded
// (QEMU target/i386/cpu.h, cpu_x86_load_seg_cache). Unicorn has no API that loads a
// segment's hidden part. It is CPU state that uc_context_save copies (a copy of QEMU's
// CPUX86State), so its place in a saved context is found once by experiment on a scratch
// engine: an IRETQ to CPL 3 (which Unicorn performs natively, helper_iret_protected) loads
// CS = 0x23 and SS = 0x1B from a GDT the probe built; the saved context then holds
// QEMU's SegmentCache records {selector, base, limit, flags = descriptor bits 63:32} for
// ES, CS, SS, ... at 24-byte strides, preceded by hflags and hflags2, with hflags' CPL
// (bits 1:0) 3 where it was 0 before. The probe checks each of these, then loads CPL 0
// back through the record and checks that a CPL 0 instruction (MOV from CR0) runs.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

namespace irqremap::x86 {

class SegmentState {
 public:
  // The offsets, found on first use.
  static std::expected<SegmentState, std::string> locate();

  // Loads CS (`cs`, the descriptor `cs_descriptor` of a 64-bit code segment) and, when
  // `load_ss`, SS = `ss` as IA-32e delivery loads a null SS (base 0, limit 0, DPL = `cpl`),
  // and sets the CPL to `cpl` with 64-bit code in QEMU's hflags. `scratch` is a context
  // allocated for `uc`.
  void load_code64(uc_engine* uc, uc_context* scratch, uint16_t cs, uint64_t cs_descriptor, bool load_ss,
                   uint16_t ss, unsigned cpl) const;

  // Loads CS in real-address mode as the processor does when it vectors an interrupt
  // through the IVT (SDM vol. 3A §20.1.4): the selector, and the base selector << 4; the
  // limit and attributes stay (a big-real-mode limit too, as QEMU's do_interrupt_real).
  void load_real_cs(uc_engine* uc, uc_context* scratch, uint16_t cs) const;

  // The CPL QEMU runs at (hflags bits 1:0).
  unsigned cpl(uc_engine* uc, uc_context* scratch) const;

  size_t cs_offset() const { return cs_; }
  size_t hflags_offset() const { return hflags_; }

 private:
  SegmentState(size_t cs, size_t hflags) : cs_(cs), hflags_(hflags) {}
  size_t cs_, hflags_;
};

}  // namespace irqremap::x86
