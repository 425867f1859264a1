#include "arch/arm64/exception_entry.h"

#include <fmt/format.h>

#include <array>

namespace irqremap::arm64 {

namespace {

// Vector table base offsets by where the exception comes from (Arm ARM D1.10.2,
// Table D1-7); each kind adds 0x80 within its group.
enum class VectorGroup : uint8_t { CurrentSp0, CurrentSpx, LowerA64, LowerA32 };
constexpr std::array<uint64_t, 4> kGroupOffset = {0x000, 0x200, 0x400, 0x600};
constexpr uint64_t kKindStride = 0x80;

std::expected<VectorGroup, std::string> group_for(uint64_t ps) {
  const uint64_t mode = ps & pstate::kModeMask;
  switch (mode) {
    case pstate::kEl0t: return VectorGroup::LowerA64;
    case pstate::kEl1t: return VectorGroup::CurrentSp0;
    case pstate::kEl1h: return VectorGroup::CurrentSpx;
    default: break;
  }
  if (mode & 0x10) return std::unexpected(fmt::format("exception from AArch32 state (PSTATE mode {:#x}) is not modelled", mode));
  return std::unexpected(fmt::format("exception from EL{} (PSTATE mode {:#x}): only EL0 and EL1 are modelled", pstate::el(ps), mode));
}

}  // namespace

std::expected<uint64_t, std::string> vector_offset(uint64_t pstate_before, ExceptionKind kind) {
  auto g = group_for(pstate_before);
  if (!g) return std::unexpected(g.error());
  return kGroupOffset[size_t(*g)] + kKindStride * uint64_t(kind);
}

std::expected<ExceptionEntry, std::string> plan_exception_entry(const ExceptionSource& from, ExceptionKind kind) {
  auto g = group_for(from.pstate);
  if (!g) return std::unexpected(g.error());
  ExceptionEntry e;
  e.vector_offset = kGroupOffset[size_t(*g)] + kKindStride * uint64_t(kind);
  // VBAR_EL1 bits [10:0] are RES0 (Arm ARM D17.2.150).
  e.vector = (from.vbar & ~uint64_t{0x7FF}) + e.vector_offset;
  e.elr = from.return_address;
  // SPSR_EL1 is PSTATE at the time of the exception (Arm ARM D1.10.1 "PSTATE is saved").
  e.spsr = from.pstate;
  // The handler runs at EL1 on SP_EL1 with D, A, I, F masked; the condition flags are
  // not changed by exception entry (Arm ARM D1.10.1, pseudocode AArch64.TakeException).
  e.pstate = (from.pstate & pstate::kNzcv) | pstate::kDaif | pstate::kEl1h;
  e.from_el0 = *g == VectorGroup::LowerA64;
  e.from_sp_el0 = *g != VectorGroup::CurrentSpx;
  return e;
}

}  // namespace irqremap::arm64
