#include "remap/vtd/irte_walk.h"

#include "remap/vtd/fault_reason.h"
#include "remap/vtd/irte_format.h"
#include "remap/vtd/msi_format.h"
#include "remap/vtd/pid_format.h"

namespace irqremap::vtd {

namespace {
constexpr uint64_t kRemappedRsvd0 = fields::reserved_mask(irte::kRemappedFields, 0);
constexpr uint64_t kRemappedRsvd1 = fields::reserved_mask(irte::kRemappedFields, 1);
constexpr uint64_t kPostedRsvd0 = fields::reserved_mask(irte::kPostedFields, 0);
constexpr uint64_t kPostedRsvd1 = fields::reserved_mask(irte::kPostedFields, 1);

RequestDecode fault(uint8_t reason, std::string_view why) {
  RequestDecode r;
  r.kind = RequestDecode::Kind::Fault;
  r.reason = reason;
  r.why = why;
  return r;
}
IrteOutcome irte_fault(uint8_t reason, bool fpd, std::string_view why) {
  IrteOutcome o;
  o.reason = reason;
  o.fpd = fpd;
  o.why = why;
  return o;
}
}  // namespace

ApicDelivery compat_delivery(uint64_t address, uint32_t data) {
  ApicDelivery d;
  // Destination ID in address 19:12; an x2APIC-capable platform carries the upper 24
  // bits in the upper address dword (as QEMU's x86_iommu_irq_to_msi_message does).
  d.dest = uint32_t(fields::get(address, msi::CADDR_DEST)) | uint32_t((address >> 32) & 0xFFFFFF00);
  d.dest_logical = fields::get(address, msi::CADDR_DM) != 0;
  d.redirection_hint = fields::get(address, msi::CADDR_RH) != 0;
  d.vector = uint8_t(fields::get(data, msi::CDATA_VECTOR));
  d.delivery_mode = uint8_t(fields::get(data, msi::CDATA_DLM));
  d.level = fields::get(data, msi::CDATA_TM) != 0;
  d.remapped = false;
  return d;
}

RequestDecode decode_request(uint64_t address, uint32_t data, const IrState& ir) {
  if (!ir.ire) {
    // IR disabled (GSTS.IRES=0): requests go to the APICs untranslated (§5.1; ECAP.IRREQ
    // is 0, so no 2Bh). The APIC ignores the format bit.
    RequestDecode r;
    r.kind = RequestDecode::Kind::Pass;
    r.pass = compat_delivery(address, data);
    r.why = "interrupt remapping disabled (GSTS.IRES=0)";
    return r;
  }
  if ((address >> 32) != 0 || fields::get(address, msi::ADDR_FEE) != msi::kInterruptWindow)
    return fault(fault_reason::kRequestReserved,
                 "request address outside the 0xFEEx_xxxx interrupt window");
  if (!msi::is_remappable(address)) {
    if (ir.eime)
      return fault(fault_reason::kCompatBlocked,
                   "compatibility-format request blocked: IRTA.EIME=1 (§5.1.4)");
    if (!ir.cfis)
      return fault(fault_reason::kCompatBlocked,
                   "compatibility-format request blocked: GSTS.CFIS=0 (§5.1.4)");
    RequestDecode r;
    r.kind = RequestDecode::Kind::Pass;
    r.pass = compat_delivery(address, data);
    r.why = "compatibility format passed through (GSTS.CFIS=1)";
    return r;
  }
  const msi::RemappableIndex ri = msi::remappable_index(address, data);
  if (ri.shv && fields::get(data, msi::DATA_RSVD) != 0)
    return fault(fault_reason::kRequestReserved,
                 "SHV=1 with reserved data bits 31:16 set (§5.1.2.2)");
  if (ri.index >= ir.irt_entries) {
    RequestDecode r = fault(fault_reason::kIndexOver, "interrupt index beyond the IRT (IRTA.S)");
    r.index = ri.index;
    return r;
  }
  RequestDecode r;
  r.kind = RequestDecode::Kind::Remap;
  r.index = ri.index;
  return r;
}

IrteOutcome check_source(const IrteOutcome& entry, const Irte& e, uint16_t sid) {
  if (entry.kind == IrteOutcome::Kind::Fault || source_id_ok(e, sid)) return entry;
  return irte_fault(fault_reason::kSourceId, entry.fpd, "source-ID verification failed (SVT/SQ/SID)");
}

IrteOutcome check_irte(const Irte& e, uint16_t sid, const IrState& ir) {
  return check_source(check_irte_entry(e, ir), e, sid);
}

IrteOutcome check_irte_entry(const Irte& e, const IrState& ir) {
  const bool fpd = fields::get(e, irte::FPD) != 0;
  if (fields::get(e, irte::P) == 0)
    return irte_fault(fault_reason::kNotPresent, fpd, "IRTE not present (P=0)");
  const bool posted = fields::get(e, irte::IM_POSTED) != 0;
  if (posted) {
    if (!ir.posted)
      return irte_fault(fault_reason::kIrteReserved, fpd,
                        "IRTE IM=1 but posted interrupts are not supported (CAP.PI=0)");
    if ((e[0] & kPostedRsvd0) != 0 || (e[1] & kPostedRsvd1) != 0)
      return irte_fault(fault_reason::kIrteReserved, fpd, "reserved bits set in posted IRTE");
  } else {
    if ((e[0] & kRemappedRsvd0) != 0 || (e[1] & kRemappedRsvd1) != 0)
      return irte_fault(fault_reason::kIrteReserved, fpd, "reserved bits set in IRTE");
    if (!ir.eime && (e[0] & irte::kXapicDstReserved) != 0)
      return irte_fault(fault_reason::kIrteReserved, fpd,
                        "xAPIC DST (EIME=0) with reserved bits 39:32 or 63:48 set");
    const uint64_t dlm = fields::get(e, irte::DLM);
    if (dlm == 3 || dlm == 6)
      return irte_fault(fault_reason::kIrteReserved, fpd, "reserved delivery mode in IRTE DLM");
  }
  if (fields::get(e, irte::SVT) == 3)
    return irte_fault(fault_reason::kIrteReserved, fpd, "reserved SVT=11b in IRTE");
  IrteOutcome o;
  o.fpd = fpd;
  if (posted) {
    o.kind = IrteOutcome::Kind::Posted;
    o.pda = (fields::get(e, irte::PDA_H) << 32) | (fields::get(e, irte::PDA_L) << 6);
    o.vv = uint8_t(fields::get(e, irte::VV));
    o.urgent = fields::get(e, irte::URG) != 0;
    return o;
  }
  o.kind = IrteOutcome::Kind::Remapped;
  ApicDelivery& d = o.delivery;
  d.dest = apic_id(uint32_t(fields::get(e, irte::DST)), ir.eime);
  d.dest_logical = fields::get(e, irte::DM) != 0;
  d.redirection_hint = fields::get(e, irte::RH) != 0;
  d.vector = uint8_t(fields::get(e, irte::V));
  d.delivery_mode = uint8_t(fields::get(e, irte::DLM));
  d.level = fields::get(e, irte::TM) != 0;
  d.remapped = true;
  return o;
}

PostOutcome post(Pid& pid, uint8_t vv, bool urgent) {
  PostOutcome r;
  for (unsigned w = 0; w < pid.size(); ++w)
    if ((pid[w] & fields::reserved_mask(pid::kPidFields, w)) != 0) {
      r.reserved_set = true;
      return r;
    }
  pid[vv / 64] |= uint64_t{1} << (vv % 64);
  const bool on = fields::get(pid, pid::ON) != 0, sn = fields::get(pid, pid::SN) != 0;
  if (!on && (urgent || !sn)) {
    fields::set(pid, pid::ON, 1);
    r.notify = true;
  }
  r.nv = uint8_t(fields::get(pid, pid::NV));
  r.ndst = uint32_t(fields::get(pid, pid::NDST));
  return r;
}

}  // namespace irqremap::vtd
