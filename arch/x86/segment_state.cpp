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
    const SegmentState s(o->first, o->second);
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

}  // namespace irqremap::x86
