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
#include <cstdint>
#include <optional>

namespace irqremap::its {

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
};

}  // namespace irqremap::its
