#pragma once
// LpiTarget: the ITS's view of the redistributors (GICv3 §5.3, "The ITS"). The ITS turns
// (DeviceID, EventID) into (collection -> redistributor, pINTID) and hands the LPI over;
// commands that act on pending state or cached configuration (MOVI, MOVALL, DISCARD,
// CLEAR, INV, INVALL) reach the redistributor through the same interface. The AArch64
// machine implements it with its redistributors (arch/arm64, plain C++); tests implement
// it with a recorder.
//
// Redistributors are named by processor number (GITS_TYPER.PTA = 0, RDbase = the PE's
// GICR_TYPER.Processor_Number). With PTA = 1 the ITS resolves a physical RDbase address
// through rd_by_address().
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "remap/trace.h"

namespace irqremap::its {

// A redistributor's pending table as the ITS may read it (issue 13: a GITS_TRANSLATER
// delivery in a few ns). An LPI has no count (IHI0069 §5.1), so setting one that is
// already pending changes nothing: when the bit is set the ITS is done with one load,
// and only an LPI that becomes pending goes through set_pending() (summary, highest
// pending, IRQ line). The redistributor keeps the view current; `limit` is 0 while it
// cannot take LPIs (EnableLPIs=0), and a listening `trace` wants every set reported.
struct PendingTableView {
  const std::byte* table = nullptr;  // bit n = INTID n, from INTID 0 (IHI0069 §5.1.2)
  uint64_t limit = 0;                // one past the highest LPI INTID in range
  const Trace* trace = nullptr;
};

class LpiTarget {
 public:
  virtual ~LpiTarget() = default;
  // Redistributors 0..count-1 exist.
  virtual uint32_t redistributor_count() const = 0;
  // PTA = 1: the redistributor whose RD_base frame is at `rdbase`, if any.
  virtual std::optional<uint32_t> rd_by_address(uint64_t rdbase) const = 0;
  // Make `intid` pending at redistributor `rd` (a translated MSI, or INT). Returns false
  // when the redistributor cannot take it (GICR_CTLR.EnableLPIs = 0, or intid beyond
  // GICR_PROPBASER.IDbits): the LPI is dropped, as the architecture allows.
  virtual bool set_pending(uint32_t rd, uint32_t intid) = 0;
  // CLEAR and DISCARD: the pending state of `intid` at `rd` is removed.
  virtual void clear_pending(uint32_t rd, uint32_t intid) = 0;
  // MOVI: a pending `intid` moves from `from` to `to` (GICv3 §6.3.x: pending state follows).
  virtual void move_pending(uint32_t from, uint32_t to, uint32_t intid) = 0;
  // MOVALL: every pending LPI at `from` moves to `to`.
  virtual void move_all_pending(uint32_t from, uint32_t to) = 0;
  // INV: `rd` re-reads the configuration byte of `intid` from the LPI configuration table.
  virtual void reload_config(uint32_t rd, uint32_t intid) = 0;
  // INVALL: `rd` re-reads the configuration of every LPI.
  virtual void reload_all_config(uint32_t rd) = 0;
  // Views of the pending tables of redistributors 0..n-1 (n may be 0: no shortcut, every
  // LPI goes through set_pending). The span and the views it points at must live as long
  // as the target; the views' contents may change at any time.
  virtual std::span<const PendingTableView* const> pending_views() const { return {}; }
};

}  // namespace irqremap::its
