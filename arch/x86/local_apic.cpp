#include "arch/x86/local_apic.h"

#include <fmt/format.h>

namespace irqremap::x86 {

using namespace apic;

namespace {

// LVT entries by register offset, in the order of LocalApic::lvt_.
constexpr uint64_t kLvtOffsets[] = {LVT_CMCI, LVT_TIMER, LVT_THERMAL, LVT_PMC,
                                    LVT_LINT0, LVT_LINT1, LVT_ERROR};
int lvt_index(uint64_t offset) {
  for (int i = 0; i < 7; ++i)
    if (kLvtOffsets[i] == offset) return i;
  return -1;
}

std::string_view dlm_name(uint8_t dlm) { return kIcrDlm[dlm & 7].label; }

}  // namespace

LocalApic::LocalApic(uint32_t apic_id, bool bsp)
    : id_(apic_id), bsp_(bsp),
      base_(fields::set(fields::set(kDefaultBase, BASE_EN, 1), BASE_BSP, bsp ? 1 : 0)) {
  reset_registers();
}

void LocalApic::reset_registers() {
  // Power-up / disable reset state (§11.4.7.1): TPR, LDR, ISR/IRR/TMR zero, DFR all ones,
  // SVR 0xFF (software disabled), every LVT entry masked.
  xapic_id_reg_ = (id_ & 0xFF) << 24;
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xFFFF'FFFF;
  svr_ = 0xFF;
  esr_ = esr_pending_ = 0;
  icr_lo_ = icr_hi_ = 0;
  lvt_.fill(kLvtMasked);
  timer_ = ApicTimer{};
  irr_.fill(0);
  isr_.fill(0);
  tmr_.fill(0);
  nmi_pending_ = init_pending_ = false;
  sipi_.reset();
}

std::string LocalApic::unit() const { return fmt::format("lapic{}", id_); }

void LocalApic::emit_note(EventKind kind, NoteText n) const {
  n.values.emplace_back("apic", id_);
  trace_.emit(Event{kind, unit(), std::move(n.text), std::move(n.values)});
}

int LocalApic::highest(const Bits256& b) {
  for (int w = 7; w >= 0; --w)
    if (b[w] != 0) return w * 32 + (31 - std::countl_zero(b[w]));
  return -1;
}

bool LocalApic::timer_expiry_matters() const {
  const uint32_t lvt = lvt_[1];
  return (lvt & kLvtMasked) == 0 && !test(irr_, uint8_t(lvt));
}

void LocalApic::update_timer() {
  if (!timer_.expire(now())) return;
  const uint32_t lvt = lvt_[1];
  const uint8_t vector = uint8_t(lvt);
  note(EventKind::Device, [&] {
    return NoteText{fmt::format("timer expired ({}): vector {:#04x}{}",
                                timer_.mode() == ApicTimerMode::TscDeadline ? "TSC deadline"
                                : timer_.mode() == ApicTimerMode::Periodic  ? "periodic"
                                                                            : "one-shot",
                                vector, (lvt & kLvtMasked) ? ", masked" : ""),
                    {{"vector", vector}}};
  });
  if ((lvt & kLvtMasked) != 0) return;
  ApicDelivery self;
  self.dest = id_;
  self.vector = vector;
  self.remapped = false;
  accept(self);  // fixed, edge; an illegal vector (< 16) sets ESR as any other source's
}

void LocalApic::write_tsc_deadline(uint64_t tsc, uint64_t clock) {
  const ChangeNotice n{*this};
  timer_.write_deadline(tsc, clock);
  // §11.5.4.1: a deadline already passed raises the interrupt at once, so the vector is
  // pending before the next instruction (kvm-unit-tests' "tsc deadline timer" looks right
  // after a serializing CPUID).
  update_timer();
}

bool LocalApic::accepts_extint() const {
  const uint32_t lint0 = lvt_[4];
  return mode_ == ApicMode::Disabled ||
         ((lint0 & kLvtMasked) == 0 && ((lint0 >> 8) & 7) == uint32_t(DeliveryMode::ExtInt));
}

void LocalApic::set_virtual_wire() {
  ChangeNotice n{*this};
  lvt_[4] = uint32_t(DeliveryMode::ExtInt) << 8;
}

void LocalApic::write_cr8(uint64_t value) {
  const ChangeNotice n{*this};  // a lower TPR may let a pending interrupt through
  tpr_ = uint32_t(value & 0xF) << 4;
}

bool LocalApic::software_enabled() const { return fields::get(svr_, SVR_ENABLE) != 0; }

uint8_t LocalApic::ppr() const {
  // §11.8.3.1: PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0.
  const int isrv = highest(isr_);
  const uint32_t isr_class = isrv < 0 ? 0 : uint32_t(isrv) & 0xF0;
  return (tpr_ & 0xF0) >= isr_class ? uint8_t(tpr_) : uint8_t(isr_class);
}

uint32_t LocalApic::logical_id() const {
  if (mode_ == ApicMode::X2Apic)  // §11.12.10.2: cluster ID 31:16, one bit in 15:0
    return ((id_ >> 4) << 16) | (1u << (id_ & 0xF));
  return ldr_;
}

bool LocalApic::matches_logical(uint32_t dest) const {
  if (mode_ == ApicMode::Disabled) return false;
  if (mode_ == ApicMode::X2Apic) {
    if (dest == 0xFFFF'FFFF) return true;  // broadcast
    const uint32_t ldr = logical_id();
    return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF) != 0;
  }
  const uint32_t mda = dest & 0xFF, lid = ldr_ >> 24;
  if (mda == 0xFF) return true;  // broadcast to all
  if ((dfr_ >> 28) == 0xF) return (mda & lid) != 0;  // flat model (§11.6.2.2)
  // Cluster model: cluster in 7:4 must match, then any common bit in 3:0.
  return (mda >> 4) == (lid >> 4) && (mda & lid & 0xF) != 0;
}

// --- register file ----------------------------------------------------------------------

std::optional<uint32_t> LocalApic::read_reg(uint64_t offset, bool x2) const {
  if (offset >= ISR0 && offset < ISR0 + 0x80) return isr_[(offset - ISR0) / 16];
  if (offset >= TMR0 && offset < TMR0 + 0x80) return tmr_[(offset - TMR0) / 16];
  if (offset >= IRR0 && offset < IRR0 + 0x80) return irr_[(offset - IRR0) / 16];
  if (const int l = lvt_index(offset); l >= 0) return lvt_[l];
  switch (offset) {
    case ID: return x2 ? id_ : xapic_id_reg_;
    case VERSION: return kVersion | (kMaxLvt << 16);
    case TPR: return tpr_;
    case PPR: return ppr();
    case APR: return x2 ? std::optional<uint32_t>{} : 0u;  // APR is absent in x2APIC
    case RRD: return x2 ? std::optional<uint32_t>{} : 0u;  // remote read not supported
    case EOI: return x2 ? std::optional<uint32_t>{} : 0u;  // write-only
    case LDR: return logical_id();
    case DFR: return x2 ? std::optional<uint32_t>{} : dfr_;
    case SVR: return svr_;
    case ESR: return esr_;
    case ICR_LO: return icr_lo_;  // Delivery Status 0: an IPI is sent at once
    case ICR_HI: return x2 ? std::optional<uint32_t>{} : icr_hi_;
    case TIMER_ICR: return timer_.initial_count();
    case TIMER_CCR: return timer_.current_count(now());
    case TIMER_DCR: return timer_.divide();
    case SELF_IPI: return x2 ? std::optional<uint32_t>{} : 0u;  // x2APIC: write-only
    default: return x2 ? std::optional<uint32_t>{} : 0u;
  }
}

bool LocalApic::write_reg(uint64_t offset, uint32_t value, bool x2) {
  if (const int l = lvt_index(offset); l >= 0) {
    // While software-disabled the mask bits stay set (§11.4.7.2).
    lvt_[l] = software_enabled() ? value : (value | kLvtMasked);
    if (offset == LVT_TIMER) {
      // Timer mode, bits 18:17 (§11.5.4); 11b is reserved and taken as one-shot.
      const uint32_t m = (value >> 17) & 3;
      timer_.set_mode(m == 1 ? ApicTimerMode::Periodic : m == 2 ? ApicTimerMode::TscDeadline : ApicTimerMode::OneShot,
                      now());
    }
    return true;
  }
  switch (offset) {
    case ID:
      if (x2) return false;  // x2APIC ID is read-only (§11.12.5.1)
      xapic_id_reg_ = value & 0xFF00'0000;
      return true;
    case TPR: tpr_ = value & 0xFF; return true;
    case EOI:
      if (x2 && value != 0) return false;  // §11.12.1.2: non-zero EOI write is #GP
      eoi();
      return true;
    case LDR:
      if (x2) return false;
      ldr_ = value & 0xFF00'0000;
      return true;
    case DFR:
      if (x2) return false;
      dfr_ = value | 0x0FFF'FFFF;
      return true;
    case SVR: {
      uint32_t v = value & 0x3FF;
      svr_ = v;
      if (!software_enabled())
        for (auto& e : lvt_) e |= kLvtMasked;
      note(EventKind::RegWrite, [&] {
        return NoteText{fmt::format("SVR <- {:#x}: APIC Software Enable={} spurious vector {:#04x}", v,
                                    fields::get(v, SVR_ENABLE), fields::get(v, SVR_VECTOR)),
                        {{"svr", v}}};
      });
      return true;
    }
    case ESR:
      if (x2 && value != 0) return false;
      // A write latches the errors found since the last write (§11.5.3).
      esr_ = esr_pending_;
      esr_pending_ = 0;
      return true;
    case ICR_LO:
      if (x2) return false;  // x2APIC sends through MSR 830h (handled by msr_write)
      icr_lo_ = value & ~uint32_t(fields::get(~uint64_t{0}, ICR_DS) << 12);
      send_icr((uint64_t(icr_hi_) << 32) | icr_lo_, false);
      return true;
    case ICR_HI:
      if (x2) return false;
      icr_hi_ = value & 0xFF00'0000;
      return true;
    case TIMER_ICR: timer_.write_initial_count(value, now()); return true;
    case TIMER_DCR: timer_.write_divide(value); return true;
    case SELF_IPI:
      if (!x2) return true;  // reserved in xAPIC: WI
      if ((value & ~0xFFu) != 0) return false;  // §11.12.11: bits 31:8 reserved (#GP)
      send_icr(fields::set(fields::set(0, ICR_VECTOR, value & 0xFF), ICR_SHORTHAND, 1), true);
      return true;
    default:
      // Read-only registers (Version, PPR, ISR/TMR/IRR, APR, RRD, TMCCT) and holes.
      return !x2;
  }
}

uint64_t LocalApic::mmio_read(uint64_t offset, unsigned size) {
  // §11.4.3: a hardware-disabled APIC is as if absent; §11.12.2: in x2APIC mode the page
  // behaves as with a disabled APIC. Nothing decodes the address then, and a read nothing
  // claims returns all ones on a PC (as an unclaimed PCI memory read does).
  if (mode_ != ApicMode::XApic) return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  const uint64_t reg = offset & ~uint64_t{0xF}, byte = offset & 0xF;
  if (byte >= 4) return 0;
  const uint32_t v = read_reg(reg, false).value_or(0);
  note(EventKind::RegRead, [&] {
    return NoteText{fmt::format("read {:#05x} -> {:#x}", reg, v), {{"offset", reg}}};
  });
  return extract_read(v, unsigned(byte), std::min(size, 4u - unsigned(byte)));
}

void LocalApic::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  if (mode_ != ApicMode::XApic) return;
  const ChangeNotice notice{*this};  // whatever happens below, the machine hears of it
  const uint64_t reg = offset & ~uint64_t{0xF};
  if ((offset & 0xF) != 0 || size < 4) {
    // §11.4.1: registers take aligned 32-bit stores only; anything else is ignored.
    note(EventKind::Note, [&] {
      return NoteText{fmt::format("ignored {}-byte write at {:#05x}", size, offset), {}};
    });
    return;
  }
  note(EventKind::RegWrite, [&] {
    return NoteText{fmt::format("write {:#05x} <- {:#x}", reg, uint32_t(value)),
                    {{"offset", reg}, {"value", uint32_t(value)}}};
  });
  write_reg(reg, uint32_t(value), false);
}

std::optional<uint64_t> LocalApic::msr_read(uint32_t msr) const {
  if (msr == IA32_APIC_BASE) return base_;
  if (!handles_msr(msr) || mode_ != ApicMode::X2Apic) return std::nullopt;
  if (msr == X2APIC_ICR) return (uint64_t(icr_hi_) << 32) | icr_lo_;
  return read_reg(mmio_offset(msr), true);
}

bool LocalApic::msr_write(uint32_t msr, uint64_t value) {
  const ChangeNotice notice{*this};  // whatever happens below, the machine hears of it
  if (msr == IA32_APIC_BASE) {
    uint64_t rsvd = fields::reserved_mask(kApicBaseFields, 0);
    if (!x2apic_supported_) rsvd |= uint64_t{1} << BASE_EXTD.lo;
    if (max_phys_bits_ < 52) rsvd |= ((uint64_t{1} << 52) - 1) & ~((uint64_t{1} << max_phys_bits_) - 1);
    if ((value & rsvd) != 0) return false;
    const bool en = fields::get(value, BASE_EN) != 0, extd = fields::get(value, BASE_EXTD) != 0;
    const ApicMode next = !en ? ApicMode::Disabled : extd ? ApicMode::X2Apic : ApicMode::XApic;
    // §11.12.5, Figure 11-26: EXTD without EN, x2APIC -> xAPIC and disabled -> x2APIC are
    // invalid transitions (#GP).
    if (!en && extd) return false;
    if (mode_ == ApicMode::X2Apic && next == ApicMode::XApic) return false;
    if (mode_ == ApicMode::Disabled && next == ApicMode::X2Apic) return false;
    const uint64_t old_address = base_address();
    base_ = fields::set(value, BASE_BSP, bsp_ ? 1 : 0);  // BSP is not software-writable
    if (base_address() != old_address && on_base_change_) on_base_change_(base_address());
    if (next != mode_) {
      if (next == ApicMode::Disabled) reset_registers();
      mode_ = next;
      note(EventKind::RegWrite, [&] {
        return NoteText{fmt::format("IA32_APIC_BASE <- {:#x}: {}", base_,
                                    next == ApicMode::Disabled ? "disabled"
                                    : next == ApicMode::XApic  ? "xAPIC mode"
                                                               : "x2APIC mode"),
                        {{"mode", uint64_t(next)}}};
      });
    }
    return true;
  }
  if (!handles_msr(msr) || mode_ != ApicMode::X2Apic) return false;
  note(EventKind::RegWrite, [&] {
    return NoteText{fmt::format("WRMSR {:#x} <- {:#x}", msr, value), {{"msr", msr}, {"value", value}}};
  });
  if (msr == X2APIC_ICR) {
    if ((value & fields::reserved_mask(kIcrFields, 0)) != 0) return false;
    icr_lo_ = uint32_t(value);
    icr_hi_ = uint32_t(value >> 32);
    send_icr(value, true);
    return true;
  }
  if ((value >> 32) != 0) return false;  // §11.12.1.2: upper half reserved except ICR
  return write_reg(mmio_offset(msr), uint32_t(value), true);
}

// --- interrupt acceptance, priority, acknowledge, EOI -----------------------------------

bool LocalApic::accept(const ApicDelivery& r) {
  const ChangeNotice notice{*this};  // whatever happens below, the machine hears of it
  if (mode_ == ApicMode::Disabled) {
    note(EventKind::Note, [&] {
      return NoteText{fmt::format("dropped vector {:#04x}: APIC globally disabled", r.vector), {}};
    });
    return false;
  }
  switch (DeliveryMode(r.delivery_mode)) {
    case DeliveryMode::Fixed:
    case DeliveryMode::LowestPriority: {
      if (r.vector < 16) {  // §11.5.3 Receive Illegal Vector
        esr_pending_ |= ESR_RECV_ILLEGAL_VECTOR;
        note(EventKind::Fault, [&] {
          return NoteText{fmt::format("illegal vector {:#04x} dropped (ESR bit 6)", r.vector),
                          {{"vector", r.vector}}};
        });
        return false;
      }
      const bool coalesced = test(irr_, r.vector);
      put(irr_, r.vector, true);
      put(tmr_, r.vector, r.level);
      note(EventKind::Delivery, [&] {
        return NoteText{
            fmt::format("IRR set vector {:#04x} {} {}{}", r.vector, dlm_name(r.delivery_mode),
                        r.level ? "level" : "edge", coalesced ? " (coalesced: already pending)" : ""),
            {{"vector", r.vector}, {"coalesced", coalesced ? 1u : 0u}}};
      });
      return true;
    }
    case DeliveryMode::Nmi:
      nmi_pending_ = true;
      note(EventKind::Delivery, [&] { return NoteText{"NMI pending", {}}; });
      return true;
    case DeliveryMode::Init:
      init_pending_ = true;
      sipi_.reset();  // a Start Up that came before the INIT is overtaken by it
      note(EventKind::Delivery, [&] { return NoteText{"INIT pending", {}}; });
      return true;
    case DeliveryMode::StartUp:
      sipi_ = r.vector;
      note(EventKind::Delivery, [&] {
        return NoteText{fmt::format("Start Up IPI vector {:#04x}", r.vector), {{"vector", r.vector}}};
      });
      return true;
    default:
      note(EventKind::Note, [&] {
        return NoteText{fmt::format("{} delivery not modelled: dropped", dlm_name(r.delivery_mode)), {}};
      });
      return false;
  }
}

std::optional<uint8_t> LocalApic::deliverable() const {
  if (mode_ == ApicMode::Disabled || !software_enabled()) return std::nullopt;
  const int v = highest(irr_);
  if (v < 0) return std::nullopt;
  // §11.8.3.1: only a priority class above PPR's is delivered.
  if ((uint32_t(v) & 0xF0) <= (ppr() & 0xF0u)) return std::nullopt;
  return uint8_t(v);
}

std::optional<uint8_t> LocalApic::acknowledge() {
  const auto v = deliverable();
  if (!v) return std::nullopt;
  put(irr_, *v, false);
  put(isr_, *v, true);
  note(EventKind::Delivery, [&] {
    return NoteText{fmt::format("acknowledge vector {:#04x}: IRR -> ISR", *v), {{"vector", *v}, {"ack", 1}}};
  });
  return v;
}

void LocalApic::eoi() {
  const int v = highest(isr_);
  if (v < 0) {
    note(EventKind::Note, [&] { return NoteText{"EOI with no interrupt in service: ignored", {}}; });
    return;
  }
  put(isr_, uint8_t(v), false);
  // TMR keeps the vector's trigger mode until the vector is accepted again (§11.8.4:
  // set or cleared "upon acceptance"; EOI does not change it).
  const bool level = test(tmr_, uint8_t(v));
  note(EventKind::Delivery, [&] {
    return NoteText{fmt::format("EOI vector {:#04x}{}", v, level ? " (level: broadcast to the I/O APIC)" : ""),
                    {{"vector", uint64_t(v)}, {"eoi", 1}}};
  });
  // §11.8.5: for a level-triggered interrupt the EOI goes on to every I/O APIC.
  if (level && eoi_broadcast_) eoi_broadcast_(uint8_t(v));
}

void LocalApic::init_reset() {
  const std::optional<uint8_t> sipi = sipi_;
  reset_registers();
  sipi_ = sipi;
  note(EventKind::Note, [&] {
    return NoteText{"INIT reset: registers to power-up values, waiting for Start Up", {}};
  });
}

bool LocalApic::take_nmi() { return std::exchange(nmi_pending_, false); }
bool LocalApic::take_init() { return std::exchange(init_pending_, false); }
std::optional<uint8_t> LocalApic::take_startup() { return std::exchange(sipi_, std::nullopt); }

void LocalApic::send_icr(uint64_t icr, bool x2) {
  Ipi ipi;
  ipi.source = id_;
  ipi.shorthand = uint8_t(fields::get(icr, ICR_SHORTHAND));
  ApicDelivery& d = ipi.request;
  d.vector = uint8_t(fields::get(icr, ICR_VECTOR));
  d.delivery_mode = uint8_t(fields::get(icr, ICR_DLM));
  d.dest_logical = fields::get(icr, ICR_DM) != 0;
  d.level = fields::get(icr, ICR_TM) != 0;
  d.dest = uint32_t(x2 ? fields::get(icr, ICR_DEST_X2APIC) : fields::get(icr, ICR_DEST_XAPIC));
  d.remapped = false;
  const auto dlm = DeliveryMode(d.delivery_mode);
  if (dlm == DeliveryMode::Init && fields::get(icr, ICR_LEVEL) == 0 && d.level) {
    note(EventKind::Note, [&] { return NoteText{"INIT level de-assert IPI: no effect (§11.6.1)", {}}; });
    return;
  }
  if ((dlm == DeliveryMode::Fixed || dlm == DeliveryMode::LowestPriority) && d.vector < 16) {
    esr_pending_ |= ESR_SEND_ILLEGAL_VECTOR;  // §11.5.3 Send Illegal Vector
    note(EventKind::Fault, [&] {
      return NoteText{fmt::format("IPI with illegal vector {:#04x} not sent (ESR bit 5)", d.vector), {}};
    });
    return;
  }
  note(EventKind::Command, [&] {
    return NoteText{
        fmt::format("IPI {} vector {:#04x} to {} {:#x} ({})", dlm_name(d.delivery_mode), d.vector,
                    d.dest_logical ? "logical" : "APIC", d.dest, kIcrShorthand[ipi.shorthand].label),
        {{"vector", d.vector}, {"dest", d.dest}, {"shorthand", ipi.shorthand}}};
  });
  if (send_) send_(ipi);
}

}  // namespace irqremap::x86
