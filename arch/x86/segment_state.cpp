#include "arch/x86/segment_state.h"

#include <fmt/format.h>

#include "arch/x86/engine_context.h"

#include <cstring>
#include <memory>
#include <vector>

namespace irqremap::x86 {
namespace {

using namespace engine_context;

// QEMU's SegmentCache (target/i386/cpu.h): selector, base, limit, flags; one per segment
// register in the order ES, CS, SS, DS, FS, GS. hflags and hflags2 come right before it.
constexpr size_t kSelector = 0, kBase = 8, kLimit = 16, kFlags = 20, kStride = 24;
constexpr size_t kCsToSs = kStride, kCsToHflags = kStride + 8;  // segs[1] - segs[0], then hflags2, hflags
// QEMU's hflags bits (target/i386/cpu.h HF_*_SHIFT): CPL 1:0, INHIBIT_IRQ 3, CS32 4, SS32 5,
// ADDSEG 6, CS64 15.
constexpr uint32_t kHfCpl = 3, kHfInhibitIrq = 1u << 3, kHfCs32 = 1u << 4, kHfSs32 = 1u << 5, kHfAddseg = 1u << 6,
                   kHfCs64 = 1u << 15;
// The hflags bits that follow from CR0, CR4 and EFER (HF_PE 7, HF_MP/EM/TS 9-11, HF_LMA 14,
// HF_SVME 20, HF_OSFXSR 22, HF_SMAP 23).
constexpr uint32_t kHfPe = 1u << 7, kHfMp = 1u << 9, kHfEm = 1u << 10, kHfTs = 1u << 11, kHfLma = 1u << 14,
                   kHfSvme = 1u << 20, kHfOsfxsr = 1u << 22, kHfSmap = 1u << 23;
constexpr uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10, kEferSvme = 1u << 12;

// IA32_EFER in a saved context: after WRMSR EFER with LME set and then clear, the one
// 8-aligned field holding exactly those two values with LMA set (a fresh UC_MODE_64 engine
// is in IA-32e mode). LME is the bit to toggle: Unicorn 2.0.1's WRMSR of IA32_EFER changes
// LME only (found by experiment: SCE and NXE written as 1 read back 0, the CPU model it
// gives helper_wrmsr has neither SYSCALL nor NX), and never LMA.
std::expected<size_t, std::string> find_efer() {
  auto scratch = open_scratch();
  if (!scratch) return std::unexpected(scratch.error());
  auto& [uc, ctx] = *scratch;
  const uint64_t with = kEferLme | kEferLma, without = kEferLma;
  uc_x86_msr msr{0xC000'0080, with};
  uc_reg_write(uc.get(), UC_X86_REG_MSR, &msr);
  const std::vector<std::byte> a = snapshot(uc.get(), ctx.get());
  msr.value = without;
  uc_reg_write(uc.get(), UC_X86_REG_MSR, &msr);
  const std::vector<std::byte> b = snapshot(uc.get(), ctx.get());
  std::vector<size_t> found;
  for (size_t off = 0; off + 8 <= a.size(); off += 8)
    if (field<uint64_t>(a, off) == with && field<uint64_t>(b, off) == without) found.push_back(off);
  if (found.size() != 1) return std::unexpected(fmt::format("unicorn: {} candidates for the IA32_EFER record", found.size()));
  return found[0];
}

struct Probe {
  uc_context* ctx = nullptr;
  std::vector<uint32_t> vectors;
  std::vector<std::byte> at_fault;
};

void on_probe_intr(uc_engine* uc, uint32_t intno, void* user) {
  auto* p = static_cast<Probe*>(user);
  p->vectors.push_back(intno);
  if (p->vectors.size() == 1) p->at_fault = snapshot(uc, p->ctx);
  uc_emu_stop(uc);
}

// Flat 64-bit segments (SDM vol. 3A §3.4.5): kernel code 0x08, kernel data 0x10, user data
// 0x18, user code 0x20.
constexpr uint64_t kGdt[] = {0, 0x00AF9A000000FFFF, 0x00CF92000000FFFF, 0x00CFF2000000FFFF, 0x00AFFA000000FFFF};

std::expected<std::pair<size_t, size_t>, std::string> find_offsets() {
  auto scratch = open_scratch();
  if (!scratch) return std::unexpected(scratch.error());
  auto& [uc, ctx] = *scratch;
  constexpr uint64_t kCode = 0x1000, kUser = 0x1100, kGdtAt = 0x2000, kFrame = 0x3000;
  constexpr uint8_t kIretq[] = {0x48, 0xCF};
  constexpr uint8_t kMovCr0[] = {0x0F, 0x20, 0xC0};  // mov rax, cr0: #GP at CPL 3
  const uint64_t frame[] = {kUser, 0x23, 0x2, 0x3800, 0x1B};  // RIP, CS, RFLAGS, RSP, SS
  const uint64_t rsp = kFrame;
  uc_x86_mmr gdtr{0, kGdtAt, sizeof kGdt - 1, 0};
  if (uc_mem_map(uc.get(), 0, 0x10000, UC_PROT_ALL) != UC_ERR_OK ||
      uc_mem_write(uc.get(), kCode, kIretq, sizeof kIretq) != UC_ERR_OK ||
      uc_mem_write(uc.get(), kUser, kMovCr0, sizeof kMovCr0) != UC_ERR_OK ||
      uc_mem_write(uc.get(), kGdtAt, kGdt, sizeof kGdt) != UC_ERR_OK ||
      uc_mem_write(uc.get(), kFrame, frame, sizeof frame) != UC_ERR_OK ||
      uc_reg_write(uc.get(), UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK ||
      uc_reg_write(uc.get(), UC_X86_REG_RSP, &rsp) != UC_ERR_OK)
    return std::unexpected("unicorn: cannot set up the segment probe");
  Probe probe;
  probe.ctx = ctx.get();
  uc_hook hook = 0;
  uc_hook_add(uc.get(), &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&on_probe_intr), &probe, 1, 0);
  const std::vector<std::byte> before = snapshot(uc.get(), ctx.get());
  uc_emu_start(uc.get(), kCode, 0, 0, 8);
  if (probe.vectors != std::vector<uint32_t>{13})
    return std::unexpected("unicorn: IRETQ to CPL 3 then MOV from CR0 did not raise #GP; unknown privilege handling");
  const std::vector<std::byte>& after = probe.at_fault;
  std::vector<size_t> found;
  for (size_t off = kCsToHflags; off + kStride + kStride <= after.size(); off += 4) {
    if (field<uint32_t>(after, off + kSelector) != 0x23 || field<uint32_t>(after, off + kCsToSs + kSelector) != 0x1B) continue;
    const uint32_t flags = field<uint32_t>(after, off + kFlags);
    const uint32_t hf_before = field<uint32_t>(before, off - kCsToHflags), hf_after = field<uint32_t>(after, off - kCsToHflags);
    if (field<uint64_t>(after, off + kBase) == 0 && field<uint32_t>(after, off + kLimit) == 0xFFFFFFFF &&
        flags == uint32_t(kGdt[4] >> 32) && (hf_before & kHfCpl) == 0 && (hf_after & kHfCpl) == 3)
      found.push_back(off);
  }
  if (found.size() != 1)
    return std::unexpected(fmt::format("unicorn: {} candidates for the CS segment record", found.size()));
  return std::pair{found[0], found[0] - kCsToHflags};
}

}  // namespace

std::expected<SegmentState, std::string> SegmentState::locate() {
  static const std::expected<SegmentState, std::string> state = []() -> std::expected<SegmentState, std::string> {
    auto o = find_offsets();
    if (!o) return std::unexpected(o.error());
    auto efer = find_efer();
    if (!efer) return std::unexpected(efer.error());
    const SegmentState s(o->first, o->second, *efer);
    // Check the finding: CPL 0 loaded through the records lets MOV from CR0 run.
    auto scratch = open_scratch();
    if (!scratch) return std::unexpected(scratch.error());
    auto& [uc, ctx] = *scratch;
    constexpr uint8_t kMovCr0[] = {0x0F, 0x20, 0xC0, 0xF4};
    uc_x86_mmr gdtr{0, 0x2000, sizeof kGdt - 1, 0};
    uc_mem_map(uc.get(), 0, 0x10000, UC_PROT_ALL);
    uc_mem_write(uc.get(), 0x1000, kMovCr0, sizeof kMovCr0);
    uc_mem_write(uc.get(), 0x2000, kGdt, sizeof kGdt);
    uc_reg_write(uc.get(), UC_X86_REG_GDTR, &gdtr);
    s.load_code64(uc.get(), ctx.get(), 0x23, kGdt[4], true, 3, 3);
    if (s.cpl(uc.get(), ctx.get()) != 3) return std::unexpected("unicorn: the CPL did not follow the segment record");
    Probe probe;
    probe.ctx = ctx.get();
    uc_hook hook = 0;
    uc_hook_add(uc.get(), &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&on_probe_intr), &probe, 1, 0);
    uc_emu_start(uc.get(), 0x1000, 0, 0, 1);
    if (probe.vectors != std::vector<uint32_t>{13})
      return std::unexpected("unicorn: MOV from CR0 at a CPL 3 loaded through the segment record did not #GP");
    probe.vectors.clear();
    s.load_code64(uc.get(), ctx.get(), 0x08, kGdt[1], true, 0, 0);
    uc_emu_start(uc.get(), 0x1000, 0, 0, 1);
    if (!probe.vectors.empty())
      return std::unexpected("unicorn: MOV from CR0 at a CPL 0 loaded through the segment record faulted");
    return s;
  }();
  return state;
}

void SegmentState::load_code64(uc_engine* uc, uc_context* scratch, uint16_t cs, uint64_t cs_descriptor, bool load_ss,
                               uint16_t ss, unsigned cpl) const {
  uc_context_save(uc, scratch);
  auto* b = reinterpret_cast<std::byte*>(scratch);
  // Base and limit as QEMU computes them from the descriptor (ignored for 64-bit code).
  const uint32_t hi = uint32_t(cs_descriptor >> 32), lo = uint32_t(cs_descriptor);
  const uint64_t base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF00'0000);
  uint32_t limit = (lo & 0xFFFF) | (hi & 0xF'0000);
  if ((hi & (1u << 23)) != 0) limit = (limit << 12) | 0xFFF;
  put<uint32_t>(b, cs_ + kSelector, cs);
  put<uint64_t>(b, cs_ + kBase, base);
  put<uint32_t>(b, cs_ + kLimit, limit);
  put<uint32_t>(b, cs_ + kFlags, hi);
  if (load_ss) {
    const size_t s = cs_ + kCsToSs;
    put<uint32_t>(b, s + kSelector, ss);
    put<uint64_t>(b, s + kBase, 0);
    put<uint32_t>(b, s + kLimit, 0);
    put<uint32_t>(b, s + kFlags, uint32_t(cpl) << 13);  // DPL, bits 14:13 of the high dword
  }
  uint32_t hflags = 0;
  std::memcpy(&hflags, b + hflags_, sizeof hflags);  // the live state's, in the buffer being edited
  hflags &= ~(kHfCpl | kHfInhibitIrq | kHfAddseg);
  hflags |= cpl | kHfCs32 | kHfSs32 | kHfCs64;
  put<uint32_t>(b, hflags_, hflags);
  uc_context_restore(uc, scratch);
}

void SegmentState::write_efer(uc_engine* uc, uc_context* scratch, uint64_t efer) const {
  engine_context::write_field<uint64_t>(uc, scratch, efer_, efer);
}

void SegmentState::load_real_cs(uc_engine* uc, uc_context* scratch, uint16_t cs) const {
  uc_context_save(uc, scratch);
  auto* b = reinterpret_cast<std::byte*>(scratch);
  put<uint32_t>(b, cs_ + kSelector, cs);
  put<uint64_t>(b, cs_ + kBase, uint64_t{cs} << 4);
  uc_context_restore(uc, scratch);
}

unsigned SegmentState::cpl(uc_engine* uc, uc_context* scratch) const {
  return engine_context::read_field<uint32_t>(uc, scratch, hflags_) & kHfCpl;
}

SegmentCaches SegmentState::read_all(uc_engine* uc, uc_context* scratch) const {
  const std::vector<std::byte> b = snapshot(uc, scratch);
  SegmentCaches segs;
  for (size_t i = 0; i < segs.size(); ++i) {
    const size_t at = cs_ - kStride + i * kStride;  // ES is the record before CS
    segs[i] = {uint16_t(field<uint32_t>(b, at + kSelector)), field<uint64_t>(b, at + kBase),
               field<uint32_t>(b, at + kLimit), field<uint32_t>(b, at + kFlags)};
  }
  return segs;
}

void SegmentState::load_all(uc_engine* uc, uc_context* scratch, const SegmentCaches& segs,
                            const ModeRegisters& m) const {
  uc_context_save(uc, scratch);
  auto* b = reinterpret_cast<std::byte*>(scratch);
  put<uint64_t>(b, efer_, m.efer);
  uint32_t hf = 0;
  std::memcpy(&hf, b + hflags_, sizeof hf);
  // cpu_x86_update_cr0 / cpu_x86_update_cr4 / cpu_load_efer.
  hf &= ~(kHfPe | kHfMp | kHfEm | kHfTs | kHfLma | kHfSvme | kHfOsfxsr | kHfSmap | kHfInhibitIrq);
  const bool pe = (m.cr0 & 1) != 0;
  if (pe) hf |= kHfPe;
  hf |= uint32_t(m.cr0 << 8) & (kHfMp | kHfEm | kHfTs);  // CR0.MP/EM/TS are bits 1-3
  if (m.efer & kEferLma) hf |= kHfLma;
  if (m.efer & kEferSvme) hf |= kHfSvme;
  if (m.sse_enabled) hf |= kHfOsfxsr;       // CR4.OSFXSR as the engine applies it
  if (m.cr4 & (1u << 21)) hf |= kHfSmap;    // CR4.SMAP
  if (m.interrupt_shadow) hf |= kHfInhibitIrq;
  // cpu_x86_load_seg_cache for ES, CS, SS, DS, FS, GS in turn.
  const bool vm = (m.rflags & (1u << 17)) != 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const size_t at = cs_ - kStride + i * kStride;
    put<uint32_t>(b, at + kSelector, segs[i].selector);
    put<uint64_t>(b, at + kBase, segs[i].base);
    put<uint32_t>(b, at + kLimit, segs[i].limit);
    put<uint32_t>(b, at + kFlags, segs[i].flags);
  }
  const SegmentCache &es = segs[0], &ss = segs[2], &ds = segs[3];
  hf &= ~(kHfCpl | kHfCs32 | kHfCs64 | kHfSs32 | kHfAddseg);
  hf |= (m.cpl & kHfCpl) | (m.code32 ? kHfCs32 : 0) | (m.code64 ? kHfCs64 : 0) | (m.stack32 ? kHfSs32 : 0);
  // ADDSEG, QEMU's "a segment base may be non-zero" (cpu_x86_load_seg_cache).
  if (m.code64) {
  } else if (!pe || vm || !m.code32) {
    hf |= kHfAddseg;
  } else if ((ds.base | es.base | ss.base) != 0) {
    hf |= kHfAddseg;
  }
  put<uint32_t>(b, hflags_, hf);
  uc_context_restore(uc, scratch);
}

void SegmentState::read_mode(uc_engine* uc, uc_context* scratch, ModeRegisters& m) const {
  const uint32_t hf = hflags(uc, scratch);
  m.sse_enabled = (hf & kHfOsfxsr) != 0;
  m.cpl = hf & kHfCpl;
  m.code64 = (hf & kHfCs64) != 0;
  m.code32 = (hf & kHfCs32) != 0;
  m.stack32 = (hf & kHfSs32) != 0;
  m.interrupt_shadow = (hf & kHfInhibitIrq) != 0;
}

uint32_t SegmentState::hflags(uc_engine* uc, uc_context* scratch) const {
  return engine_context::read_field<uint32_t>(uc, scratch, hflags_);
}

}  // namespace irqremap::x86
