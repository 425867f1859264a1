// VT-d unit: construction, the register file (§11.4) and fault recording (§7.4.1).
// Translation is in unit_translate.cpp, queued invalidation in unit_qi.cpp.
#include "remap/vtd/unit.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <fmt/format.h>

#include "remap/vtd/cap_format.h"
#include "remap/vtd/dma_format.h"
#include "remap/vtd/dma_inv_format.h"
#include "remap/vtd/fault_format.h"
#include "remap/vtd/fault_reason.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/irta_format.h"
#include "remap/vtd/qi_format.h"

namespace irqremap::vtd {

namespace {
struct RegInfo {
  uint64_t off;
  unsigned width;  // bytes
  std::string_view name;
  const fields::Format* format;
};
constexpr RegInfo kRegs[] = {
    {reg::VER, 4, "VER", nullptr},          {reg::CAP, 8, "CAP", &cap::kCap},
    {reg::ECAP, 8, "ECAP", &cap::kEcap},    {reg::GCMD, 4, "GCMD", &gcmd::kGcmd},
    {reg::GSTS, 4, "GSTS", &gcmd::kGsts},   {reg::FSTS, 4, "FSTS", &fault::kFsts},
    {reg::FECTL, 4, "FECTL", &fault::kFectl}, {reg::FEDATA, 4, "FEDATA", &fault::kFedata},
    {reg::FEADDR, 4, "FEADDR", &fault::kFeaddr}, {reg::FEUADDR, 4, "FEUADDR", &fault::kFeuaddr},
    {reg::IQH, 8, "IQH", &qi::kIqh},        {reg::IQT, 8, "IQT", &qi::kIqt},
    {reg::IQA, 8, "IQA", &qi::kIqa},        {reg::ICS, 4, "ICS", &qi::kIcs},
    {reg::IECTL, 4, "IECTL", &fault::kFectl}, {reg::IEDATA, 4, "IEDATA", &fault::kFedata},
    {reg::IEADDR, 4, "IEADDR", &fault::kFeaddr}, {reg::IEUADDR, 4, "IEUADDR", &fault::kFeuaddr},
    {reg::IRTA, 8, "IRTA", &irta::kIrta},
    {reg::RTADDR, 8, "RTADDR", &dma::kRtaddr}, {reg::CCMD, 8, "CCMD", &dma_inv::kCcmd},
    {reg::IVA, 8, "IVA", &dma_inv::kIva},   {reg::IOTLB, 8, "IOTLB_REG", &dma_inv::kIotlb},
};

const RegInfo* find_reg(uint64_t off) {
  for (const RegInfo& r : kRegs)
    if (off >= r.off && off < r.off + r.width) return &r;
  return nullptr;
}

constexpr uint32_t bit32(const fields::Field& f) { return uint32_t(1) << f.lo; }
constexpr uint32_t kPfo = bit32(fault::PFO), kPpf = bit32(fault::PPF), kIqe = bit32(fault::IQE),
                   kIce = bit32(fault::ICE), kIte = bit32(fault::ITE);
constexpr uint32_t kFaultStatus = kPfo | kPpf | kIqe | kIce | kIte;
constexpr uint32_t kIm = bit32(fault::IM), kIp = bit32(fault::IP);

// "IRE=1 QIE=0x.." : the non-zero fields of a register value, for the trace.
std::string summarize(const fields::Format* format, uint64_t value) {
  if (format == nullptr) return {};
  std::string s;
  for (const fields::Field& f : format->fields) {
    if (f.access == fields::Access::Rsvd || f.word() != 0) continue;
    const uint64_t v = fields::get(value, f);
    if (v == 0) continue;
    if (!s.empty()) s += ' ';
    s += f.width() == 1 ? fmt::format("{}=1", f.name) : fmt::format("{}={:#x}", f.name, v);
  }
  return s.empty() ? "all fields 0" : s;
}
}  // namespace

Unit::Unit(GuestMemory& memory, ApicBus& bus, Trace& trace, Config config)
    : mem_(memory), bus_(bus), trace_(trace), config_(config), iec_(config.iec_entries),
      ctx_cache_(config.context_cache_entries), iotlb_(config.iotlb_entries) {
  config_.nfr = std::clamp(config_.nfr, 1u, reg::kMaxFaultRecords);
  config_.mhmv = std::min(config_.mhmv, 15u);
  config_.aw_bits = config_.aw_bits >= 48 ? 48 : 39;
  config_.sllps &= 0x3;
  // DMA remapping (§11.4.2): SAGAW bit 1 = 39-bit/3-level, bit 2 = 48-bit/4-level.
  dma_caps_.sagaw = config_.aw_bits == 48 ? 0x6 : 0x2;
  dma_caps_.sllps = config_.sllps;
  dma_caps_.haw = config_.aw_bits;
  dma_caps_.pass_through = config_.pass_through;
  cap_ = fields::set(cap_, cap::ND, reg::kNd);
  cap_ = fields::set(cap_, cap::SAGAW, dma_caps_.sagaw);
  cap_ = fields::set(cap_, cap::MGAW, config_.aw_bits - 1);
  cap_ = fields::set(cap_, cap::SLLPS, config_.sllps);
  cap_ = fields::set(cap_, cap::PSI, 1);
  cap_ = fields::set(cap_, cap::MAMV, reg::kMamv);
  // Requests complete synchronously, so every read and write is drained by the time an
  // invalidation finishes: draining is supported trivially.
  cap_ = fields::set(cap_, cap::DWD, 1);
  cap_ = fields::set(cap_, cap::DRD, 1);
  ecap_ = fields::set(ecap_, cap::ECAP_PT, config_.pass_through);
  ecap_ = fields::set(ecap_, cap::ECAP_IRO, reg::kIro);
  frcd_.assign(config_.nfr, {0, 0});
  cap_ = fields::set(cap_, cap::FRO, reg::kFro);
  cap_ = fields::set(cap_, cap::NFR, config_.nfr - 1);
  cap_ = fields::set(cap_, cap::PI, config_.posted);
  cap_ = fields::set(cap_, cap::ESIRTPS, config_.esirtps);
  ecap_ = fields::set(ecap_, cap::ECAP_C, config_.coherent);
  ecap_ = fields::set(ecap_, cap::ECAP_QI, 1);
  ecap_ = fields::set(ecap_, cap::ECAP_IR, 1);
  ecap_ = fields::set(ecap_, cap::ECAP_EIM, config_.eim);
  ecap_ = fields::set(ecap_, cap::ECAP_MHMV, config_.mhmv);
  ecap_ = fields::set(ecap_, cap::ECAP_SMTS, config_.smts);
  fectl_ = kIm;  // reset value: events masked (§11.4.6.2)
  iectl_ = kIm;
  ir_.posted = config_.posted;
}

void Unit::trace_write(std::string_view name, uint64_t value, const fields::Format* format) {
  trace_.emit_lazy([&] {
    return ev(EventKind::RegWrite, "vtd",
                 fmt::format("write {} = {:#x} ({})", name, value, summarize(format, value)),
                 {{"value", value}});
  });
}

uint64_t Unit::read_reg(uint64_t off) const {
  switch (off) {
    case reg::VER: return reg::kVersion;
    case reg::CAP: return cap_;
    case reg::ECAP: return ecap_;
    case reg::GCMD: return 0;  // write-only
    case reg::GSTS: return gsts_;
    case reg::FSTS: return fsts_;
    case reg::FECTL: return fectl_;
    case reg::FEDATA: return fedata_;
    case reg::FEADDR: return feaddr_;
    case reg::FEUADDR: return feuaddr_;
    case reg::IQH: return iqh_;
    case reg::IQT: return iqt_;
    case reg::IQA: return iqa_;
    case reg::ICS: return ics_;
    case reg::IECTL: return iectl_;
    case reg::IEDATA: return iedata_;
    case reg::IEADDR: return ieaddr_;
    case reg::IEUADDR: return ieuaddr_;
    case reg::IRTA: return irta_;
    case reg::RTADDR: return rtaddr_;
    case reg::CCMD: return ccmd_;
    case reg::IVA: return iva_;
    case reg::IOTLB: return iotlb_reg_;
    default: return 0;
  }
}

uint64_t Unit::mmio_read(uint64_t offset, unsigned size) {
  if ((size != 1 && size != 2 && size != 4 && size != 8) || offset + size > reg::kWindow) {
    trace_.emit_lazy([&] {
      return ev(EventKind::Note, "vtd",
                   fmt::format("read of {} bytes at {:#x} is not a register access; reads 0", size,
                               offset));
    });
    return 0;
  }
  uint64_t value = 0;
  std::string_view name;
  uint64_t base = 0;  // the register's own offset, so the trace names the byte within it
  std::optional<unsigned> record;  // which fault recording register (FRCD is an array)
  if (offset >= reg::FRCD && offset < reg::FRCD + 16 * frcd_.size()) {
    const unsigned i = unsigned((offset - reg::FRCD) / 16), byte = unsigned((offset - reg::FRCD) % 16);
    if (byte % 8 + size > 8) return 0;
    value = extract_read(frcd_[i][byte / 8], byte % 8, size);
    name = "FRCD";
    base = reg::FRCD + 16 * i;
    record = i;
  } else if (const RegInfo* r = find_reg(offset); r && offset + size <= r->off + r->width) {
    value = extract_read(read_reg(r->off), unsigned(offset - r->off), size);
    name = r->name;
    base = r->off;
  } else if (r && size == 8 && offset % 4 == 0) {
    // A 64-bit access spanning two 32-bit registers (FEADDR+FEUADDR): two halves.
    return mmio_read(offset, 4) | (mmio_read(offset + 4, 4) << 32);
  } else {
    trace_.emit_lazy([&] {
      return ev(EventKind::Note, "vtd",
                   fmt::format("read at {:#x}: no IR register there (RAZ)", offset));
    });
    return 0;
  }
  trace_.emit_lazy([&] {
    return ev(EventKind::RegRead, "vtd",
                 fmt::format("read {}{}+{:#x} ({} bytes) = {:#x}", name,
                             record ? fmt::format("[{}]", *record) : std::string(), offset - base, size,
                             value),
                 {{"offset", offset}, {"value", value}});
  });
  return value;
}

void Unit::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if ((size != 1 && size != 2 && size != 4 && size != 8) || offset + size > reg::kWindow) {
    trace_.emit_lazy([&] {
      return ev(EventKind::Note, "vtd",
                   fmt::format("write of {} bytes at {:#x} is not a register access; ignored",
                               size, offset));
    });
    return;
  }
  if (size < 8) value &= bits::mask(8 * size - 1, 0);
  if (offset >= reg::FRCD && offset < reg::FRCD + 16 * frcd_.size()) {
    write_frcd(unsigned((offset - reg::FRCD) / 16), unsigned((offset - reg::FRCD) % 16), size, value);
    return;
  }
  const RegInfo* r = find_reg(offset);
  if (r == nullptr || offset + size > r->off + r->width) {
    if (r != nullptr && size == 8 && offset % 4 == 0) {  // Xen writes FEADDR+FEUADDR at once
      mmio_write(offset, 4, value & 0xFFFFFFFF);
      mmio_write(offset + 4, 4, value >> 32);
      return;
    }
    trace_.emit_lazy([&] {
      return ev(EventKind::Note, "vtd",
                   fmt::format("write {:#x} at {:#x}: no register there (ignored)", value,
                               offset));
    });
    return;
  }
  const unsigned byte = unsigned(offset - r->off);
  // GCMD is write-only; a partial write keeps the persistent bits as GSTS reports them.
  const uint64_t old = r->off == reg::GCMD ? (gsts_ & gcmd::kOneShotMask) : read_reg(r->off);
  const uint64_t merged = merge_write(old, byte, size, value);
  const uint64_t written = merge_write(0, byte, size, value);
  trace_write(r->name, merged, r->format);
  write_reg(r->off, merged, written);
}

// merged: the register after the write; written: only the bytes written (for W1C bits).
void Unit::write_reg(uint64_t off, uint64_t merged, uint64_t written) {
  const auto m32 = uint32_t(merged);
  switch (off) {
    case reg::GCMD: write_gcmd(m32); return;
    case reg::FSTS: write_fsts(uint32_t(written)); return;
    case reg::FECTL:
      fectl_ = (fectl_ & ~kIm) | (m32 & kIm);
      if (!(fectl_ & kIm) && (fectl_ & kIp)) send_event("fault event", fectl_, fedata_, feaddr_, feuaddr_);
      return;
    case reg::FEDATA: fedata_ = m32; return;
    case reg::FEADDR: feaddr_ = m32 & ~3u; return;
    case reg::FEUADDR: feuaddr_ = m32; return;
    case reg::IQT:
      iqt_ = merged & bits::mask(18, 4);
      process_queue();
      return;
    case reg::IQA:
      iqa_ = merged & ~fields::reserved_mask(qi::kIqaFields, 0);
      if (gsts_ & bit32(gcmd::QIES))
        trace_.emit_lazy([&] {
          return ev(EventKind::Hazard, "vtd",
                       "IQA written while GSTS.QIES=1: the queue keeps its latched base/size "
                       "until QIE is cleared and set again (§11.4.9.3)");
        });
      return;
    case reg::ICS:
      if (written & bit32(qi::IWC)) {
        ics_ &= ~bit32(qi::IWC);
        iectl_ &= ~kIp;  // clearing IWC clears a pending completion event (§11.4.9.5)
      }
      return;
    case reg::IECTL:
      iectl_ = (iectl_ & ~kIm) | (m32 & kIm);
      if (!(iectl_ & kIm) && (iectl_ & kIp))
        send_event("invalidation completion event", iectl_, iedata_, ieaddr_, ieuaddr_);
      return;
    case reg::IEDATA: iedata_ = m32; return;
    case reg::IEADDR: ieaddr_ = m32 & ~3u; return;
    case reg::IEUADDR: ieuaddr_ = m32; return;
    case reg::IRTA: irta_ = merged & ~fields::reserved_mask(irta::kIrtaFields, 0); return;
    case reg::RTADDR: rtaddr_ = merged & ~fields::reserved_mask(dma::kRtaddrFields, 0); return;
    case reg::CCMD: write_ccmd(merged); return;
    case reg::IVA: iva_ = merged & ~fields::reserved_mask(dma_inv::kIvaFields, 0); return;
    case reg::IOTLB: write_iotlb(merged); return;
    default:
      trace_.emit_lazy([&] {
        return ev(EventKind::Note, "vtd",
                     fmt::format("write to read-only register at {:#x} ignored", off));
      });
      return;
  }
}

void Unit::write_gcmd(uint32_t v) {
  const uint32_t persistent = bit32(gcmd::TE) | bit32(gcmd::QIE) | bit32(gcmd::IRE) | bit32(gcmd::CFI);
  const uint32_t oneshot = bit32(gcmd::SRTP) | bit32(gcmd::WBF) | bit32(gcmd::SIRTP);
  const uint32_t changed = (v ^ gsts_) & persistent;
  const uint32_t commands = v & oneshot;
  const auto note = [&](EventKind k, std::string text) {
    trace_.emit_lazy([&] { return ev(k, "vtd", std::move(text)); });
  };
  if (std::popcount(changed) + std::popcount(commands) > 1)
    note(EventKind::Hazard,
         fmt::format("GCMD write {:#x} changes {} bits at once; §11.4.4.1 asks for one bit per "
                     "write (carried out in the order SIRTP, QIE, IRE, CFI)",
                     v, std::popcount(changed) + std::popcount(commands)));
  if (commands & bit32(gcmd::SIRTP)) {
    const bool eime = fields::get(irta_, irta::EIME) != 0;
    if (eime && !config_.eim)
      note(EventKind::Hazard, "IRTA.EIME=1 but ECAP.EIM=0: EIME treated as 0");
    if (gsts_ & bit32(gcmd::IRES))
      note(EventKind::Hazard, "SIRTP while GSTS.IRES=1: the table changes under live interrupts");
    ir_.irt_base = irta_ & bits::mask(63, 12);
    ir_.irt_entries = irta::entries(irta_);
    ir_.eime = eime && config_.eim;
    ++epoch_;
    gsts_ |= bit32(gcmd::IRTPS);
    note(EventKind::Note, fmt::format("SIRTP: IRT at {:#x}, {} entries, EIME={} latched (GSTS.IRTPS=1)",
                                      ir_.irt_base, ir_.irt_entries, ir_.eime ? 1 : 0));
    if (config_.esirtps) invalidate_all();
  }
  if (changed & bit32(gcmd::QIE)) {
    if (v & bit32(gcmd::QIE)) {
      iq_dw_ = fields::get(iqa_, qi::DW) != 0;
      if (iq_dw_ && !config_.smts) {
        note(EventKind::Hazard, "IQA.DW=1 but ECAP.SMTS=0: 128-bit descriptors used");
        iq_dw_ = false;
      }
      iq_base_ = iqa_ & bits::mask(63, 12);
      iq_entries_ = qi::entries(iqa_, iq_dw_);
      iqh_ = 0;
      gsts_ |= bit32(gcmd::QIES);
      note(EventKind::Note, fmt::format("QIE: invalidation queue at {:#x}, {} {}-bit descriptors "
                                        "(GSTS.QIES=1, IQH=0)",
                                        iq_base_, iq_entries_, iq_dw_ ? 256 : 128));
      if (iqt_ != 0) {
        note(EventKind::Hazard, "QI enabled with IQT != 0 (the spec asks for IQT=0); "
                                "processing the queue up to IQT");
        process_queue();
      }
    } else if (iqh_ != iqt_) {
      note(EventKind::Hazard, "QIE=0 refused: the queue is not empty (IQH != IQT); GSTS.QIES stays 1");
    } else {
      gsts_ &= ~bit32(gcmd::QIES);
      note(EventKind::Note, "QI disabled (GSTS.QIES=0)");
    }
  }
  if (changed & bit32(gcmd::IRE)) {
    if (v & bit32(gcmd::IRE)) {
      if (!(gsts_ & bit32(gcmd::IRTPS))) {
        note(EventKind::Hazard,
             "IRE=1 ignored: no interrupt remapping table latched (GSTS.IRTPS=0); perform SIRTP "
             "before IRE (§11.4.4.1)");
      } else {
        gsts_ |= bit32(gcmd::IRES);
        ir_.ire = true;
        note(EventKind::Note, "interrupt remapping enabled (GSTS.IRES=1)");
      }
    } else {
      gsts_ &= ~bit32(gcmd::IRES);
      ir_.ire = false;
      note(EventKind::Note, "interrupt remapping disabled (GSTS.IRES=0)");
      if (config_.esirtps) invalidate_all();
    }
  }
  if (changed & bit32(gcmd::CFI)) {
    const bool on = (v & bit32(gcmd::CFI)) != 0;
    gsts_ = on ? gsts_ | bit32(gcmd::CFIS) : gsts_ & ~bit32(gcmd::CFIS);
    ir_.cfis = on;
    note(on ? EventKind::Hazard : EventKind::Note,
         on ? std::string("CFI=1: compatibility-format interrupts bypass remapping while EIME=0 "
                          "(GSTS.CFIS=1)")
            : std::string("CFI=0: compatibility-format interrupts are blocked (GSTS.CFIS=0)"));
  }
  // SRTP before TE, so "SRTP then TE" in one write works as two writes would.
  if (commands & bit32(gcmd::SRTP)) {
    const uint64_t ttm = fields::get(rtaddr_, dma::RTADDR_TTM);
    if (ttm != 0)
      note(EventKind::Hazard, fmt::format("RTADDR.TTM={:#b} but only legacy mode (00b) is "
                                          "implemented: the table is walked as legacy", ttm));
    if (dma_.te)
      note(EventKind::Hazard, "SRTP while GSTS.TES=1: the root table changes under live DMA");
    dma_.root_table = rtaddr_ & dma::RTADDR_RTA.word_mask();
    gsts_ |= bit32(gcmd::RTPS);
    note(EventKind::Note, fmt::format("SRTP: root table at {:#x} latched (GSTS.RTPS=1)", dma_.root_table));
  }
  if (changed & bit32(gcmd::TE)) {
    if (v & bit32(gcmd::TE)) {
      if (!(gsts_ & bit32(gcmd::RTPS))) {
        note(EventKind::Hazard, "TE=1 ignored: no root table latched (GSTS.RTPS=0); perform SRTP "
                                "before TE (§11.4.4.1)");
      } else {
        dma_.te = true;
        gsts_ |= bit32(gcmd::TES);
        note(EventKind::Note, "DMA remapping enabled (GSTS.TES=1)");
      }
    } else {
      dma_.te = false;
      gsts_ &= ~bit32(gcmd::TES);
      note(EventKind::Note, "DMA remapping disabled (GSTS.TES=0): requests pass untranslated");
    }
  }
  if (commands & bit32(gcmd::WBF)) note(EventKind::Note, "WBF: nothing buffered (CAP.RWBF=0)");
}

void Unit::write_fsts(uint32_t w1c) {
  const bool iqe_cleared = (fsts_ & kIqe) && (w1c & kIqe);
  fsts_ &= ~(w1c & (kPfo | kIqe | kIce | kIte));
  if ((fsts_ & kFaultStatus) == 0) fectl_ &= ~kIp;
  // Software fixed (or replaced) the bad descriptor: fetching resumes at IQH (§6.5.2.10).
  if (iqe_cleared && (gsts_ & bit32(gcmd::QIES))) process_queue();
}

void Unit::write_frcd(unsigned index, unsigned byte, unsigned size, uint64_t value) {
  if (byte % 8 + size > 8) return;
  // Only F (bit 127, i.e. bit 63 of the high word) is writable: write 1 to clear.
  const uint64_t written = merge_write(0, byte % 8, size, value);
  trace_.emit_lazy([&] {
    return ev(EventKind::RegWrite, "vtd",
                 fmt::format("write FRCD[{}] word {} = {:#x}{}", index, byte / 8, written,
                             byte / 8 == 1 && (written >> 63) ? " (F=1: clear the record)" : ""),
                 {{"index", index}, {"value", written}});
  });
  if (byte / 8 == 1 && (written >> 63)) {
    frcd_[index][1] &= ~(uint64_t{1} << 63);
    update_ppf();
    if ((fsts_ & kFaultStatus) == 0) fectl_ &= ~kIp;
  }
}

void Unit::update_ppf() {
  bool any = false;
  for (const auto& r : frcd_) any |= fields::get(r, fault::FRCD_F) != 0;
  fsts_ = any ? fsts_ | kPpf : fsts_ & ~kPpf;
}

Unit::NotRecorded Unit::record_fault(uint8_t reason, uint16_t sid, uint64_t fi, bool read) {
  if (fsts_ & kPfo) return NotRecorded::Overflow;
  for (const auto& r : frcd_)
    if (fields::get(r, fault::FRCD_F) && fields::get(r, fault::FRCD_SID) == sid &&
        fields::get(r, fault::FRCD_FR) == reason)
      return NotRecorded::Collapsed;
  auto& rec = frcd_[next_frcd_];
  const uint32_t old = fsts_;
  if (fields::get(rec, fault::FRCD_F)) {
    fsts_ |= kPfo;  // every record is still pending: primary fault overflow (§7.4.1)
    status_raised(old);
    return NotRecorded::Overflow;
  }
  rec = {fi & fault::FRCD_FI.word_mask(), 0};
  fields::set(rec, fault::FRCD_T, read);
  fields::set(rec, fault::FRCD_SID, sid);
  fields::set(rec, fault::FRCD_FR, reason);
  fields::set(rec, fault::FRCD_F, 1);
  if (!(fsts_ & kPpf)) fsts_ = uint32_t(fields::set(fsts_, fault::FRI, next_frcd_));
  const unsigned slot = next_frcd_;
  next_frcd_ = (next_frcd_ + 1) % unsigned(frcd_.size());
  update_ppf();
  trace_.emit_lazy([&] {
    return ev(EventKind::Note, "vtd",
                 fmt::format("fault {:#x} recorded in FRCD[{}] (FSTS={:#x})", reason, slot, fsts_),
                 {{"frcd", slot}, {"reason", reason}});
  });
  status_raised(old);
  return NotRecorded::No;
}

void Unit::status_raised(uint32_t old_fsts) {
  // An event is generated only on the first pending status (§7.4.1; QEMU
  // vtd_generate_fault_event): none of PFO/PPF/IQE/ICE/ITE were set before.
  if ((old_fsts & kFaultStatus) != 0 || (fsts_ & kFaultStatus) == 0) return;
  fectl_ |= kIp;
  if (fectl_ & kIm) {
    trace_.emit_lazy([&] {
      return ev(EventKind::Note, "vtd", "fault event pending (FECTL.IM=1, IP=1)");
    });
    return;
  }
  send_event("fault event", fectl_, fedata_, feaddr_, feuaddr_);
}

void Unit::send_event(std::string_view what, uint32_t& ctl, uint32_t data, uint32_t addr,
                      uint32_t uaddr) {
  ApicDelivery d = compat_delivery(addr | (uint64_t{uaddr} << 32), data);
  ctl &= ~kIp;
  trace_.emit_lazy([&] {
    return ev(EventKind::Delivery, "vtd",
                 fmt::format("{}: vector {:#x} to APIC {:#x} (data {:#x}, address {:#x})", what,
                             d.vector, d.dest, data, addr),
                 {{"vector", d.vector}, {"dest", d.dest}});
  });
  bus_.deliver(d);
}

}  // namespace irqremap::vtd
