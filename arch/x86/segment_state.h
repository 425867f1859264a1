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
#include <array>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

namespace irqremap::x86 {

// A segment register with its hidden part (SDM vol. 3A §3.4.3, "Segment Registers": the
// descriptor cache), as QEMU keeps it: `flags` is the descriptor's high dword (type, S,
// DPL, P, AVL, L, D/B, G), base and limit as the processor computed them.
struct SegmentCache {
  uint16_t selector = 0;
  uint64_t base = 0;
  uint32_t limit = 0;
  uint32_t flags = 0;
};
// In QEMU's order: ES, CS, SS, DS, FS, GS.
using SegmentCaches = std::array<SegmentCache, 6>;

// What a fresh engine needs to be put in a saved CPU state (X86Vcpu::state), beyond the
// registers uc_reg_write stores (Unicorn 2.0.1 facts, qemu/target/i386/unicorn.c
// reg_write for UC_MODE_64):
//  - CR0, CR3 and CR4 are stored as they are, without QEMU's cpu_x86_update_cr0/cr4: the
//    hflags bits that follow from them (PE, MP/EM/TS, OSFXSR, SMAP, ADDSEG) are not
//    updated;
//  - IA32_EFER goes through helper_wrmsr, which never changes EFER.LMA (a fresh
//    UC_MODE_64 engine has LMA = 1), so a saved CPU in real or protected mode would stay in
//    IA-32e mode. EFER is CPU state uc_context_save copies; its offset is found once by
//    experiment (two WRMSRs that differ in EFER.LME on a scratch engine; LME is the
//    only bit Unicorn 2.0.1's WRMSR changes);
//  - ES/CS/SS/DS store the selector only, FS/GS load a descriptor from the GDT: the hidden
//    parts are written through the segment records (above);
//  - the mode the engine runs in (CPL, 64-bit mode, CS.D, SS.B: QEMU's HF_CPL, HF_CS64,
//    HF_CS32, HF_SS32) does not always follow the hidden parts: Unicorn's UC_MODE_64 reset
//    runs 64-bit code at CPL 0 with a null CS whose hidden part is all zeros (a CPU that
//    the mailbox starts runs from there), so the snapshot saves the mode as its own records
//    and ADDSEG is recomputed from it as QEMU's cpu_x86_load_seg_cache does;
//  - the STI interrupt shadow is QEMU's HF_INHIBIT_IRQ;
//  - whether SSE instructions execute is QEMU's HF_OSFXSR, which does not always follow
//    CR4.OSFXSR: Unicorn's UC_MODE_64 reset sets it with CR4.OSFXSR = 0 (so a bare engine
//    runs SSE code), and only a MOV to CR4 (cpu_x86_update_cr4) makes it follow CR4. The
//    snapshot saves it as its own record (X86Vcpu::state "SSE_enabled").
// tests/x86/snapshot_test.cpp checks that a restored engine's hflags equal the saved
// engine's at every pause of the demo runs.
struct ModeRegisters {
  uint64_t cr0 = 0, cr4 = 0, efer = 0, rflags = 0;
  bool interrupt_shadow = false;
  bool sse_enabled = false;
  // The mode the engine runs code in (see above).
  unsigned cpl = 0;
  bool code64 = false, code32 = false, stack32 = false;
};

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
  // The six segment registers with their hidden parts.
  SegmentCaches read_all(uc_engine* uc, uc_context* scratch) const;
  // Loads the six segment registers, IA32_EFER (LMA included) and the hflags bits that
  // follow from them and from `m` (see ModeRegisters). CR0/CR4/RFLAGS must already be
  // written with uc_reg_write.
  void load_all(uc_engine* uc, uc_context* scratch, const SegmentCaches& segs, const ModeRegisters& m) const;
  // Writes IA32_EFER into the CPU state as it is (Unicorn's WRMSR drops SCE, x86_vcpu.h);
  // for bits that leave QEMU's hflags as they are (SCE).
  void write_efer(uc_engine* uc, uc_context* scratch, uint64_t efer) const;
  // QEMU's hflags (tests compare a restored engine's with the saved one's).
  uint32_t hflags(uc_engine* uc, uc_context* scratch) const;
  // The ModeRegisters the engine's hflags hold now: sse_enabled, cpl, code64, code32,
  // stack32, interrupt_shadow (the others are left as they are in `m`).
  void read_mode(uc_engine* uc, uc_context* scratch, ModeRegisters& m) const;

 private:
  SegmentState(size_t cs, size_t hflags, size_t efer) : cs_(cs), hflags_(hflags), efer_(efer) {}
  size_t cs_, hflags_, efer_;
};

}  // namespace irqremap::x86
