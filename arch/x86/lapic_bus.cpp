#include "arch/x86/lapic_bus.h"

#include <fmt/format.h>

#include "snapshot/state_io.h"

namespace irqremap::x86 {

LapicBus::LapicBus(unsigned cpus) {
  for (unsigned c = 0; c < cpus; ++c) {
    apics_.push_back(std::make_unique<LocalApic>(c, c == 0));
    apics_.back()->set_ipi_sender([this](const Ipi& ipi) { send_ipi(ipi); });
  }
}

int LapicBus::cpu_of(uint32_t apic_id) const {
  for (unsigned c = 0; c < apics_.size(); ++c)
    if (apics_[c]->apic_id() == apic_id) return int(c);
  return -1;
}

void LapicBus::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "lapics");
  for (unsigned c = 0; c < apics_.size(); ++c) {
    snapshot::Io::Group cpu(io, fmt::format("cpu{}", c));
    apics_[c]->state(io);
  }
}

void LapicBus::attach(TraceSink* sink) {
  trace_.attach(sink);
  for (auto& a : apics_) a->trace().attach(sink);
}

void LapicBus::detach(TraceSink* sink) {
  trace_.detach(sink);
  for (auto& a : apics_) a->trace().detach(sink);
}

std::vector<unsigned> LapicBus::targets(const ApicDelivery& r) const {
  std::vector<unsigned> out;
  for (unsigned c = 0; c < apics_.size(); ++c) {
    const LocalApic& a = *apics_[c];
    if (a.mode() == ApicMode::Disabled) continue;
    bool hit;
    if (r.dest_logical) {
      hit = a.matches_logical(r.dest);
    } else if (a.mode() == ApicMode::X2Apic) {
      hit = r.dest == 0xFFFF'FFFF || r.dest == a.physical_id();
    } else {
      const uint32_t d = r.dest & 0xFF;
      hit = d == 0xFF || d == a.physical_id();
    }
    if (hit) out.push_back(c);
  }
  // Lowest priority, or a logical request with RH=1: one APIC of the set (SDM §11.6.2.4,
  // VT-d §5.1.4.1). Lowest TPR wins; ties go to the lowest CPU index.
  const bool pick_one = r.delivery_mode == uint8_t(apic::DeliveryMode::LowestPriority) ||
                        (r.redirection_hint && r.dest_logical);
  if (pick_one && out.size() > 1) {
    unsigned best = out.front();
    for (unsigned c : out)
      if (apics_[c]->tpr() < apics_[best]->tpr()) best = c;
    out = {best};
  }
  return out;
}

std::vector<unsigned> LapicBus::hand_to(const std::vector<unsigned>& cpus, const ApicDelivery& r,
                                        std::string_view from) {
  std::vector<unsigned> accepted;
  for (unsigned c : cpus)
    if (apics_[c]->accept(r)) accepted.push_back(c);
  if (trace_.on()) {
    if (cpus.empty()) {
      trace_.emit(Event{EventKind::Fault, "apicbus",
                        fmt::format("{} vector {:#04x} to {} {:#x}: no APIC matches, dropped",
                                    from, r.vector, r.dest_logical ? "logical" : "APIC", r.dest),
                        {{"vector", r.vector}, {"dest", r.dest}}});
    }
    for (unsigned c : accepted)
      trace_.emit(Event{EventKind::Delivery, "apicbus",
                        fmt::format("{} vector {:#04x} -> cpu{} (APIC {:#x})", from, r.vector, c,
                                    apics_[c]->apic_id()),
                        {{"vector", r.vector}, {"cpu", c}, {"dest", apics_[c]->apic_id()}}});
  }
  return accepted;
}

std::vector<unsigned> LapicBus::route(const ApicDelivery& r) {
  return hand_to(targets(r), r, r.remapped ? "remapped" : "interrupt");
}

void LapicBus::deliver(const ApicDelivery& request) { route(request); }

std::vector<unsigned> LapicBus::send_ipi(const Ipi& ipi) {
  std::vector<unsigned> cpus;
  const int self = cpu_of(ipi.source);
  switch (ipi.shorthand) {
    case 0: cpus = targets(ipi.request); break;
    case 1:
      if (self >= 0) cpus.push_back(unsigned(self));
      break;
    case 2:
    case 3:
      for (unsigned c = 0; c < apics_.size(); ++c)
        if (apics_[c]->mode() != ApicMode::Disabled && (ipi.shorthand == 2 || int(c) != self))
          cpus.push_back(c);
      break;
    default: break;
  }
  return hand_to(cpus, ipi.request, "IPI");
}

}  // namespace irqremap::x86
