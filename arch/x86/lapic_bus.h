#pragma once
// The x86 machine's interrupt fabric: it owns one LocalApic per CPU and routes every
// interrupt request to the APIC(s) it names (Intel SDM vol. 3A §11.6.2 "Determining IPI
// Destination"; §11.12.10 for x2APIC). It is the irqremap::vtd::ApicBus the VT-d unit
// delivers remapped interrupts, fault events and invalidation-completion events into,
// and the ICR of every APIC sends its IPIs through it.
//
// Routing rules:
//  - physical: an APIC whose ID equals dest (xAPIC compares 8 bits, x2APIC 32), or all
//    APICs for the broadcast ID (0xFF xAPIC, 0xFFFF_FFFF x2APIC);
//  - logical: every APIC whose LDR/DFR (xAPIC flat or cluster) or x2APIC logical ID
//    matches (LocalApic::matches_logical);
//  - lowest priority (DLM=001b), or RH=1 with logical destination (VT-d §5.1.4.1, SDM
//    §11.12.3): one APIC of the matching set, the one with the lowest TPR, ties to the
//    lowest CPU index, so runs stay deterministic;
//  - IPI shorthands: self, all including self, all excluding self.
// A request that matches no APIC is dropped and traced as a fault on unit "apicbus".
#include <memory>
#include <vector>

#include "arch/x86/local_apic.h"
#include "remap/vtd/apic_bus.h"

namespace irqremap::x86 {

class LapicBus final : public vtd::ApicBus {
 public:
  // cpus APICs with APIC IDs 0..cpus-1; CPU 0 is the bootstrap processor.
  explicit LapicBus(unsigned cpus);

  void deliver(const ApicDelivery& request) override;

  // The CPUs (indices) a request reaches; each of them accepted it. Empty: dropped.
  std::vector<unsigned> route(const ApicDelivery& request);
  // An IPI from an ICR write.
  std::vector<unsigned> send_ipi(const Ipi& ipi);

  unsigned cpus() const { return unsigned(apics_.size()); }
  LocalApic& apic(unsigned cpu) { return *apics_.at(cpu); }
  const LocalApic& apic(unsigned cpu) const { return *apics_.at(cpu); }
  // The CPU index whose APIC ID is `apic_id`, or -1.
  int cpu_of(uint32_t apic_id) const;

  // Every APIC's part of a machine snapshot, one group per CPU ("cpu0", ...); the bus
  // itself holds nothing but its wiring.
  void state(snapshot::Io& io);

  // Attach a sink to the bus and to every APIC.
  void attach(TraceSink* sink);
  void detach(TraceSink* sink);
  Trace& trace() { return trace_; }

 private:
  std::vector<unsigned> targets(const ApicDelivery& r) const;
  std::vector<unsigned> hand_to(const std::vector<unsigned>& cpus, const ApicDelivery& r,
                                std::string_view from);

  std::vector<std::unique_ptr<LocalApic>> apics_;
  Trace trace_;
};

}  // namespace irqremap::x86
