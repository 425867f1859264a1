// The local APIC's part of a machine snapshot (local_apic.h).
#include "snapshot/state_io.h"
#include "arch/x86/local_apic.h"

namespace irqremap::x86 {

void LocalApic::state(snapshot::Io& io) {
  // The initial APIC ID and BSP flag are the machine's configuration (LapicBus), not saved.
  io.field("IA32_APIC_BASE", base_);
  io.field("mode", mode_);
  io.check(mode_ == ApicMode::Disabled || mode_ == ApicMode::XApic || mode_ == ApicMode::X2Apic,
           "APIC mode is not disabled, xAPIC or x2APIC");
  // Register names as SDM vol. 3A Table 11-1 spells them.
  io.field("ID", xapic_id_reg_);
  io.field("TPR", tpr_);
  io.field("LDR", ldr_);
  io.field("DFR", dfr_);
  io.field("SVR", svr_);
  io.field("ESR", esr_);
  io.field("ESR_pending", esr_pending_);  // errors since the last ESR write (§11.5.3)
  io.field("ICR_LO", icr_lo_);
  io.field("ICR_HI", icr_hi_);
  static constexpr const char* kLvt[] = {"LVT_CMCI", "LVT_TIMER", "LVT_THERMAL", "LVT_PMC",
                                         "LVT_LINT0", "LVT_LINT1", "LVT_ERROR"};
  for (size_t i = 0; i < lvt_.size(); ++i) io.field(kLvt[i], lvt_[i]);
  timer_.state(io);  // TMICT, TDCR, the count's start, IA32_TSC_DEADLINE (apic_timer.h)
  io.bytes("IRR", std::as_writable_bytes(std::span(irr_)));
  io.bytes("ISR", std::as_writable_bytes(std::span(isr_)));
  io.bytes("TMR", std::as_writable_bytes(std::span(tmr_)));
  // Accepted and not yet taken by the CPU (§11.6.1: NMI, INIT, Start Up).
  io.field("NMI_pending", nmi_pending_);
  io.field("INIT_pending", init_pending_);
  bool sipi = sipi_.has_value();
  uint8_t vector = sipi_.value_or(0);
  io.field("SIPI_pending", sipi);
  io.field("SIPI_vector", vector);
  if (io.loading()) {
    if (sipi) sipi_ = vector;
    else sipi_.reset();
  }
}

}  // namespace irqremap::x86
