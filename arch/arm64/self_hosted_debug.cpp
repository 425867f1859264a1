#include "arch/arm64/self_hosted_debug.h"

#include <fmt/format.h>

#include <algorithm>

namespace irqremap::arm64 {

namespace {

struct Decoded {
  unsigned n;
  unsigned op2;  // 4 BVR, 5 BCR, 6 WVR, 7 WCR
};

std::optional<Decoded> decode(uint32_t enc) {
  const uint32_t op0 = (enc >> 14) & 3, op1 = (enc >> 11) & 7, crn = (enc >> 7) & 0xF, crm = (enc >> 3) & 0xF,
                 op2 = enc & 7;
  if (op0 != 2 || op1 != 0 || crn != 0 || op2 < 4) return std::nullopt;
  const unsigned count = op2 < 6 ? SelfHostedDebug::kBreakpoints : SelfHostedDebug::kWatchpoints;
  if (crm >= count) return std::nullopt;
  return Decoded{crm, op2};
}

// Writable bits (D13.3): DBGBCR: BT 23:20, LBN 19:16, SSC 15:14, HMC 13, BAS 8:5, PMC
// 2:1, E 0; DBGWCR: MASK 28:24, WT 20, LBN 19:16, SSC 15:14, HMC 13, BAS 12:5, LSC 4:3,
// PAC 2:1, E 0. Value registers: VA[48:2] (DBGBVR) / VA[48:2] (DBGWVR), bits 63:49
// sign-extend bit 48 (RESS). A context-aware DBGBVR holds a Context ID in bits 31:0 when
// its BT is a context type (BT may be written after BVR), so bits 1:0 are kept there too.
constexpr uint64_t kBcrMask = 0x00FF'E1E7, kWcrMask = 0x1F1F'FFFF;
constexpr uint64_t va_field(uint64_t v) {
  const uint64_t low = v & 0x0001'FFFF'FFFF'FFFC;
  return (low & (uint64_t{1} << 48)) ? (low | 0xFFFE'0000'0000'0000) : low;
}

}  // namespace

bool SelfHostedDebug::handles(uint32_t enc) { return decode(enc).has_value(); }

std::string SelfHostedDebug::name(uint32_t enc) {
  const auto d = decode(enc);
  if (!d) return "?";
  static constexpr const char* kNames[] = {"DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR"};
  return fmt::format("{}{}_EL1", kNames[d->op2 - 4], d->n);
}

uint64_t SelfHostedDebug::read(uint32_t enc) const {
  const auto d = decode(enc);
  if (!d) return 0;
  switch (d->op2) {
    case 4: return bvr_[d->n];
    case 5: return bcr_[d->n];
    case 6: return wvr_[d->n];
    default: return wcr_[d->n];
  }
}

bool SelfHostedDebug::write(uint32_t enc, uint64_t value) {
  const auto d = decode(enc);
  if (!d) return false;
  const auto before = breakpoint_addresses();
  switch (d->op2) {
    case 4:
      bvr_[d->n] = va_field(value) | (d->n >= kBreakpoints - kContextAware ? value & 3 : 0);
      break;
    case 5: bcr_[d->n] = value & kBcrMask; break;
    case 6: wvr_[d->n] = va_field(value) & ~uint64_t{3}; break;
    default: wcr_[d->n] = value & kWcrMask; break;
  }
  return breakpoint_addresses() != before;
}

std::vector<uint64_t> SelfHostedDebug::breakpoint_addresses() const {
  std::vector<uint64_t> out;
  for (unsigned n = 0; n < kBreakpoints; ++n) {
    const uint64_t bcr = bcr_[n];
    const unsigned bt = unsigned(bcr >> 20) & 0xF, bas = unsigned(bcr >> 5) & 0xF;
    // E = 1, an address match, unlinked (BT 0b0000) or linked (0b0001: whether its context
    // matches is decided when the instruction comes), covering the whole A64 instruction.
    if ((bcr & 1) && bt <= 1 && bas == 0xF) out.push_back(bvr_[n] & ~uint64_t{3});
  }
  return out;
}

bool SelfHostedDebug::linked_context_matches(unsigned lbn, uint32_t contextidr) const {
  if (lbn >= kBreakpoints || lbn < kBreakpoints - kContextAware) return false;  // not context-aware
  const uint64_t bcr = bcr_[lbn];
  const unsigned bt = unsigned(bcr >> 20) & 0xF;
  return (bcr & 1) && bt == 0b0011 && uint32_t(bvr_[lbn]) == contextidr;
}

std::optional<unsigned> SelfHostedDebug::breakpoint_hit(uint64_t va, unsigned el, uint64_t mdscr, bool d,
                                                        uint32_t contextidr) const {
  constexpr uint64_t kMde = 1u << 15, kKde = 1u << 13;
  if (!(mdscr & kMde)) return std::nullopt;
  // From EL1 (the debug target EL here) only with KDE set and PSTATE.D clear (D2.1).
  if (el == 1 && (!(mdscr & kKde) || d)) return std::nullopt;
  if (el > 1) return std::nullopt;
  for (unsigned n = 0; n < kBreakpoints; ++n) {
    const uint64_t bcr = bcr_[n];
    const unsigned bt = unsigned(bcr >> 20) & 0xF, bas = unsigned(bcr >> 5) & 0xF, pmc = unsigned(bcr >> 1) & 3;
    if (!(bcr & 1) || bt > 1 || bas != 0xF) continue;
    if (!(pmc & (el == 1 ? 1u : 2u))) continue;  // PMC 0b01 EL1, 0b10 EL0, 0b11 both
    if ((bvr_[n] & ~uint64_t{3}) != (va & ~uint64_t{3})) continue;
    if (bt == 1 && !linked_context_matches(unsigned(bcr >> 16) & 0xF, contextidr)) continue;
    return n;
  }
  return std::nullopt;
}

bool SelfHostedDebug::any_watchpoint() const {
  for (uint64_t wcr : wcr_)
    if (wcr & 1) return true;
  return false;
}

std::optional<SelfHostedDebug::WatchHit> SelfHostedDebug::watchpoint_hit(uint64_t va, unsigned size, bool write,
                                                                         unsigned el, uint64_t mdscr, bool d,
                                                                         uint32_t contextidr) const {
  constexpr uint64_t kMde = 1u << 15, kKde = 1u << 13;
  if (!(mdscr & kMde) || size == 0 || el > 1) return std::nullopt;
  if (el == 1 && (!(mdscr & kKde) || d)) return std::nullopt;
  const uint64_t last = va + (size - 1);  // inclusive: an access may end at 2^64 - 1
  std::optional<WatchHit> best;
  for (unsigned n = 0; n < kWatchpoints; ++n) {
    const uint64_t wcr = wcr_[n];
    const unsigned pac = unsigned(wcr >> 1) & 3, lsc = unsigned(wcr >> 3) & 3, bas = unsigned(wcr >> 5) & 0xFF,
                   wt = unsigned(wcr >> 20) & 1, mask = unsigned(wcr >> 24) & 0x1F;
    if (!(wcr & 1)) continue;
    if (wt == 1 && !linked_context_matches(unsigned(wcr >> 16) & 0xF, contextidr)) continue;
    if (!(pac & (el == 1 ? 1u : 2u))) continue;
    if (!(lsc & (write ? 2u : 1u))) continue;
    // The watched bytes as one range [lo, hi] (BAS selects contiguous bytes in practice;
    // a gap is covered by checking each selected byte below).
    std::optional<uint64_t> hit;
    if (mask >= 3) {
      const uint64_t block = ~uint64_t{0} << mask;
      const uint64_t lo = wvr_[n] & block, hi = lo | ~block;
      if (last >= lo && va <= hi) hit = std::max(va, lo);
    } else if (mask == 0) {
      const bool word = (wvr_[n] & 4) != 0;
      const uint64_t base = wvr_[n] & ~uint64_t(word ? 3 : 7);
      for (unsigned i = 0; i < (word ? 4u : 8u) && !hit; ++i) {
        const uint64_t byte = base + i;
        if ((bas >> i) & 1 && byte >= va && byte <= last) hit = byte;
      }
    }
    if (hit && (!best || *hit < best->far)) best = WatchHit{n, *hit};
  }
  return best;
}

}  // namespace irqremap::arm64

namespace irqremap::arm64 {

void SelfHostedDebug::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "debug");
  for (unsigned n = 0; n < kBreakpoints; ++n) {
    io.field(fmt::format("DBGBVR{}_EL1", n), bvr_[n]);
    io.field(fmt::format("DBGBCR{}_EL1", n), bcr_[n]);
  }
  for (unsigned n = 0; n < kWatchpoints; ++n) {
    io.field(fmt::format("DBGWVR{}_EL1", n), wvr_[n]);
    io.field(fmt::format("DBGWCR{}_EL1", n), wcr_[n]);
  }
}

}  // namespace irqremap::arm64
