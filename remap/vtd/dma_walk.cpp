// VT-d legacy-mode DMA remapping walks (Intel VT-d spec rev 5.10 §3.4.2, §3.6, §9.1, §9.3,
// §9.8); fault reasons from §7.1.3. Every entry is read with one access as hardware does.
#include "remap/vtd/dma_walk.h"

#include <fmt/format.h>

#include "remap/bits.h"
#include "remap/vtd/dma_format.h"
#include "remap/vtd/fault_reason.h"

namespace irqremap::vtd {

namespace {

namespace fr = fault_reason;

std::unexpected<DmaFault> fail(uint8_t reason, bool fpd, std::string why) {
  return std::unexpected(DmaFault{reason, fpd, std::move(why)});
}

// Address bits at and above the host address width (HAW..63) inside an address field.
constexpr uint64_t above_haw(unsigned haw) { return haw >= 64 ? 0 : bits::mask(63, haw); }

bool read128(const GuestMemory& mem, uint64_t at, std::array<uint64_t, 2>& out) {
  const std::byte* p = mem.host_ptr(at, 16);
  if (p == nullptr) return false;
  out = {bits::load_le<uint64_t>(p), bits::load_le<uint64_t>(p + 8)};
  return true;
}

std::string bdf(uint16_t sid) {
  return fmt::format("{:02x}:{:02x}.{:x}", sid >> 8, (sid >> 3) & 0x1F, sid & 7);
}

constexpr const char* kLevelName[] = {"", "SL-PTE", "SL-PDE", "SL-PDPE", "SL-PML4E"};

}  // namespace

uint64_t sl_reserved_mask(unsigned level, bool ps, const DmaCaps& caps) {
  uint64_t m = fields::reserved_mask(dma::kSlPteFields, 0);
  // ADDR (51:12) above HAW: the field's own bits past the host address width.
  m |= above_haw(caps.haw) & dma::SL_ADDR.word_mask();
  if (level == 1) return m;  // bit 7 is ignored in a 4 KiB PTE
  const bool large_ok = (level == 2 && (caps.sllps & 1)) || (level == 3 && (caps.sllps & 2));
  if (!ps) return m;
  if (!large_ok) return m | dma::SL_PS.word_mask();  // no page of this size: PS is reserved
  // A large page's frame is aligned to its size: ADDR bits below it are reserved.
  const unsigned shift = 12 + 9 * (level - 1);
  return m | bits::mask(shift - 1, 12);
}

std::expected<DmaContext, DmaFault> lookup_context(const GuestMemory& mem, uint64_t root_table,
                                                   uint16_t sid, const DmaCaps& caps,
                                                   std::vector<WalkStep>* steps) {
  const unsigned bus = sid >> 8, devfn = sid & 0xFF;
  const uint64_t re_at = root_table + 16ull * bus;
  RootEntry re;
  if (!read128(mem, re_at, re))
    return fail(fr::kRootTableAccess, false,
                fmt::format("root entry for bus {:#x} at {:#x} is outside guest RAM", bus, re_at));
  if (steps) steps->push_back({"root entry", re_at, re[0], re[1]});
  if (fields::get(re, dma::RE_P) == 0)
    return fail(fr::kRootNotPresent, false, fmt::format("root entry for bus {:#x} not present (P=0)", bus));
  const uint64_t re_rsvd0 = fields::reserved_mask(dma::kRootFields, 0) | (above_haw(caps.haw) & dma::RE_CTP.word_mask());
  if ((re[0] & re_rsvd0) != 0 || (re[1] & fields::reserved_mask(dma::kRootFields, 1)) != 0)
    return fail(fr::kRootReserved, false,
                fmt::format("reserved bits set in the root entry for bus {:#x}: {:#x}:{:#x}", bus, re[0], re[1]));

  const uint64_t ce_at = (re[0] & dma::RE_CTP.word_mask()) + 16ull * devfn;
  ContextEntry ce;
  if (!read128(mem, ce_at, ce))
    return fail(fr::kContextTableAccess, false,
                fmt::format("context entry for {} at {:#x} is outside guest RAM", bdf(sid), ce_at));
  if (steps) steps->push_back({"context entry", ce_at, ce[0], ce[1]});
  // FPD is evaluated whether or not the entry is present (§9.3).
  const bool fpd = fields::get(ce, dma::CE_FPD) != 0;
  if (fields::get(ce, dma::CE_P) == 0)
    return fail(fr::kContextNotPresent, fpd, fmt::format("context entry for {} not present (P=0)", bdf(sid)));
  const uint64_t ce_rsvd0 = fields::reserved_mask(dma::kContextFields, 0) |
                            (above_haw(caps.haw) & dma::CE_SLPTPTR.word_mask());
  if ((ce[0] & ce_rsvd0) != 0 || (ce[1] & fields::reserved_mask(dma::kContextFields, 1)) != 0)
    return fail(fr::kContextReserved, fpd,
                fmt::format("reserved bits set in the context entry for {}: {:#x}:{:#x}", bdf(sid), ce[0], ce[1]));

  DmaContext c;
  c.did = uint16_t(fields::get(ce, dma::CE_DID));
  c.fpd = fpd;
  const uint64_t tt = fields::get(ce, dma::CE_TT);
  if (tt == 2) {
    if (!caps.pass_through)
      return fail(fr::kContextInvalid, fpd, "context entry TT=10b (pass-through) but ECAP.PT=0");
    c.pass_through = true;
    return c;
  }
  if (tt != 0)
    return fail(fr::kContextInvalid, fpd,
                fmt::format("context entry TT={:#b} is not supported (ECAP.DT=0; 11b is reserved)", tt));
  const uint64_t aw = fields::get(ce, dma::CE_AW);
  if (aw > 4 || ((caps.sagaw >> aw) & 1) == 0)
    return fail(fr::kContextInvalid, fpd,
                fmt::format("context entry AW={} is not in CAP.SAGAW={:#x}", aw, caps.sagaw));
  c.levels = dma::aw_levels(aw);
  c.agaw = dma::aw_bits(aw);
  c.slptptr = ce[0] & dma::CE_SLPTPTR.word_mask();
  return c;
}

std::expected<IoPage, DmaFault> walk_second_level(const GuestMemory& mem, const DmaContext& ctx,
                                                  uint64_t iova, bool write, const DmaCaps& caps,
                                                  std::vector<WalkStep>* steps) {
  if (ctx.pass_through) {
    IoPage p;
    p.iova_base = iova & ~uint64_t{0xFFF};
    p.pa_base = p.iova_base;
    p.read = p.write = true;
    p.level = 0;
    return p;
  }
  if (ctx.agaw < 64 && (iova >> ctx.agaw) != 0)
    return fail(fr::kAddressBeyondAw, ctx.fpd,
                fmt::format("address {:#x} is above the context's {}-bit address width", iova, ctx.agaw));
  uint64_t table = ctx.slptptr;
  bool r = true, w = true;
  for (unsigned level = ctx.levels; level >= 1; --level) {
    const unsigned shift = 12 + 9 * (level - 1);
    const uint64_t at = table + 8 * ((iova >> shift) & 0x1FF);
    const std::byte* p = mem.host_ptr(at, 8);
    if (p == nullptr)
      return fail(level == ctx.levels ? fr::kContextInvalid : fr::kPagingEntryAccess, ctx.fpd,
                  fmt::format("{} for {:#x} at {:#x} is outside guest RAM", kLevelName[level], iova, at));
    const uint64_t e = bits::load_le<uint64_t>(p);
    if (steps) steps->push_back({kLevelName[level], at, e, 0});
    r = r && fields::get(e, dma::SL_R);
    w = w && fields::get(e, dma::SL_W);
    if (write ? !w : !r)
      return fail(write ? fr::kWrite : fr::kRead, ctx.fpd,
                  fmt::format("{} of {:#x}: {} at {:#x} ({:#x}) grants no {} permission (R/W are "
                              "ANDed over the levels)",
                              write ? "write" : "read", iova, kLevelName[level], at, e,
                              write ? "write" : "read"));
    const bool ps = level > 1 && fields::get(e, dma::SL_PS) != 0;
    if (const uint64_t bad = e & sl_reserved_mask(level, ps, caps); bad != 0)
      return fail(fr::kPagingReserved, ctx.fpd,
                  fmt::format("{} at {:#x} ({:#x}) has reserved bits {:#x} set", kLevelName[level], at, e, bad));
    if (level == 1 || ps) {
      IoPage page;
      page.shift = shift;
      page.iova_base = iova & ~bits::mask(shift - 1, 0);
      page.pa_base = e & dma::SL_ADDR.word_mask() & ~bits::mask(shift - 1, 0);
      page.read = r;
      page.write = w;
      page.level = level;
      return page;
    }
    table = e & dma::SL_ADDR.word_mask();
  }
  return fail(fr::kPagingReserved, ctx.fpd, "walk ended without a leaf");  // unreachable: level 1 is a leaf
}

}  // namespace irqremap::vtd
