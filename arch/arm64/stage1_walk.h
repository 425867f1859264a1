#pragma once
// The EL1&0 stage 1 translation (Arm ARM D8.2 "Translation process", VMSAv8-64, 4 KB
// granule) as a pure function over a physical-memory reader. Unicorn translates on its
// own; the machine walks only to say *why* an access failed that Unicorn reported as
// unmapped (a translation fault, or a valid mapping onto a physical address with
// nothing behind it: a synchronous external abort).
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>

namespace irqremap::arm64 {

struct TranslationRegs {
  uint64_t sctlr = 0;  // SCTLR_EL1 (M, bit 0: stage 1 enabled)
  uint64_t tcr = 0;    // TCR_EL1
  uint64_t ttbr0 = 0;  // TTBR0_EL1
  uint64_t ttbr1 = 0;  // TTBR1_EL1
};

struct WalkFault {
  enum class Kind : uint8_t {
    Translation,     // invalid descriptor, or the VA is outside both TTBR ranges
    AccessFlag,      // AF = 0 in the final descriptor
    ExternalOnWalk,  // a descriptor read hit nothing
    Unsupported,     // a granule other than 4 KB (not modelled)
  };
  Kind kind = Kind::Translation;
  unsigned level = 0;
  // ISS.xFSC for this fault (Arm ARM D17.2.37); not meaningful for Unsupported.
  uint32_t fsc() const;
};

// Reads one 64-bit little-endian descriptor at a physical address; nullopt if nothing
// is there.
using PhysRead64 = std::function<std::optional<uint64_t>(uint64_t pa)>;

struct Translation {
  uint64_t pa = 0;
  unsigned level = 3;  // the level of the final descriptor (for a permission fault's FSC)
};

// The physical address of `va`, or the fault. With SCTLR_EL1.M = 0 the address is flat.
std::expected<Translation, WalkFault> stage1_translate(uint64_t va, const TranslationRegs& regs, const PhysRead64& read);

}  // namespace irqremap::arm64
