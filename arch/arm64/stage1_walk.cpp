#include "arch/arm64/stage1_walk.h"

#include "arch/arm64/exception_entry.h"

namespace irqremap::arm64 {

namespace {

constexpr uint64_t bits(uint64_t v, unsigned hi, unsigned lo) { return (v >> lo) & ((uint64_t{1} << (hi - lo + 1)) - 1); }

// TCR_EL1 fields (Arm ARM D17.2.131).
constexpr unsigned kT0szLo = 0, kT1szLo = 16;
constexpr uint64_t kEpd0 = uint64_t{1} << 7, kEpd1 = uint64_t{1} << 23;
constexpr unsigned kTg0Lo = 14, kTg1Lo = 30;
constexpr uint64_t kTg0_4k = 0b00, kTg1_4k = 0b10;
// Descriptor bits (Arm ARM D8.3): valid, table/page, AF; output address bits [47:12].
constexpr uint64_t kValid = 1, kTable = 2, kAf = uint64_t{1} << 10;
constexpr uint64_t kOaMask = 0x0000'FFFF'FFFF'F000ull;
constexpr unsigned kGranuleShift = 12, kStride = 9;

}  // namespace

uint32_t WalkFault::fsc() const {
  switch (kind) {
    case Kind::Translation: return fsc::translation(level);
    case Kind::AccessFlag: return fsc::access_flag(level);
    case Kind::ExternalOnWalk: return fsc::external_on_walk(level);
    case Kind::Unsupported: break;
  }
  return fsc::kSyncExternal;
}

std::expected<Translation, WalkFault> stage1_translate(uint64_t va, const TranslationRegs& r, const PhysRead64& read) {
  if ((r.sctlr & 1) == 0) return Translation{va, 3};
  // Bit 55 selects the TTBR (Arm ARM D8.2.3: VA ranges for EL1&0).
  const bool upper = (va >> 55) & 1;
  const unsigned tsz = unsigned(bits(r.tcr, upper ? kT1szLo + 5 : kT0szLo + 5, upper ? kT1szLo : kT0szLo));
  const uint64_t tg = upper ? bits(r.tcr, kTg1Lo + 1, kTg1Lo) : bits(r.tcr, kTg0Lo + 1, kTg0Lo);
  if (tg != (upper ? kTg1_4k : kTg0_4k)) return std::unexpected(WalkFault{WalkFault::Kind::Unsupported, 0});
  if (r.tcr & (upper ? kEpd1 : kEpd0)) return std::unexpected(WalkFault{WalkFault::Kind::Translation, 0});
  const unsigned input_bits = 64 - tsz;
  // The bits above the input range must all equal bit 55 (the top-byte is checked
  // too: TBI is not modelled here).
  const uint64_t top = input_bits >= 64 ? 0 : va >> input_bits;
  const uint64_t expect = upper ? (input_bits >= 64 ? 0 : (~uint64_t{0} >> input_bits)) : 0;
  if (top != expect) return std::unexpected(WalkFault{WalkFault::Kind::Translation, 0});
  // Start level from the input size (Arm ARM D8.2.6, 4 KB granule: 9 bits per level).
  unsigned level = 4 - (input_bits - kGranuleShift + kStride - 1) / kStride;
  uint64_t table = (upper ? r.ttbr1 : r.ttbr0) & kOaMask;
  for (;; ++level) {
    const unsigned shift = kGranuleShift + kStride * (3 - level);
    const uint64_t index = (va >> shift) & ((uint64_t{1} << kStride) - 1);
    auto d = read(table + index * 8);
    if (!d) return std::unexpected(WalkFault{WalkFault::Kind::ExternalOnWalk, level});
    if ((*d & kValid) == 0 || (level == 3 && (*d & kTable) == 0))
      return std::unexpected(WalkFault{WalkFault::Kind::Translation, level});
    if (level < 3 && (*d & kTable)) {
      table = *d & kOaMask;
      continue;
    }
    // Block (level 1 or 2) or page (level 3).
    if (level == 0) return std::unexpected(WalkFault{WalkFault::Kind::Translation, level});
    if ((*d & kAf) == 0) return std::unexpected(WalkFault{WalkFault::Kind::AccessFlag, level});
    const uint64_t size_mask = (uint64_t{1} << shift) - 1;
    return Translation{(*d & kOaMask & ~size_mask) | (va & size_mask), level};
  }
}

}  // namespace irqremap::arm64
