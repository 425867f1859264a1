// The x86 machine's snapshot (x86_machine.h "Machine snapshots"): its own fields, the
// scheduler and the clock, then every part in a fixed order, then guest memory.
#include <fmt/format.h>

#include "arch/common/snapshot/memory_state.h"
#include "snapshot/state_io.h"
#include "arch/x86/x86_machine.h"

namespace irqremap::x86 {

std::string X86Machine::snapshot_configuration() const {
  std::string vtd = "off";
  if (vtd_) {
    const vtd::Config& v = vtd_->config();
    vtd = fmt::format("on(nfr={} iec={} posted={} mhmv={} smts={} eim={} esirtps={} coherent={} aw={} sllps={:#x} "
                      "pt={} context_cache={} iotlb={})",
                      v.nfr, v.iec_entries, int(v.posted), v.mhmv, int(v.smts), int(v.eim), int(v.esirtps),
                      int(v.coherent), v.aw_bits, v.sllps, int(v.pass_through), v.context_cache_entries,
                      v.iotlb_entries);
  }
  return fmt::format("x86-64 q35: cpus={} ram={:#x} quantum={} solo_quantum={} tsc={}Hz tsc_ticks_per_insn={} "
                     "vtd={} device={} edu={} ioapic_source_id={}",
                     cfg_.cpus, cfg_.ram_size, cfg_.quantum, cfg_.solo_quantum, kTscHz, kTscTicksPerInsn, vtd,
                     device_ ? fmt::format("on(slots={})", cfg_.device_slots) : std::string("off"),
                     edu_ ? "on" : "off",
                     cfg_.ioapic_source_id ? fmt::format("{:#06x}", *cfg_.ioapic_source_id) : std::string("none")) +
         // Only a CPU with features taken away says so: files of the full CPU stay as they were.
         (cfg_.features == CpuFeatures{} ? std::string()
                                         : fmt::format(" cpu=qemu64{}{}{}", cfg_.features.x2apic ? "" : ",-x2apic",
                                                       cfg_.features.tsc_deadline ? "" : ",-tsc-deadline",
                                                       cfg_.features.umip ? "" : ",-umip"));
}

void X86Machine::state(snapshot::Io& io) {
  if (running_cpu_ >= 0) {
    io.fail("the x86 machine is in the middle of a quantum: pause it first (Scheduler::pause_at)");
    return;
  }
  {
    snapshot::Io::Group g(io, "machine");
    io.field("started", started_);
    bool multiboot = multiboot_info_.has_value();
    uint32_t info = multiboot_info_.value_or(0);
    io.field("multiboot", multiboot);
    io.field("multiboot_info", info);  // EBX of the boot ROM's multiboot entry
    if (io.loading()) multiboot_info_ = multiboot ? std::optional<uint32_t>(info) : std::nullopt;
    // The remapping hazards seen so far (irte_check.h), each one line.
    const size_t n = io.count("hazards", hazards_.size(), size_t{1} << 20);
    if (io.loading()) hazards_.assign(n, {});
    for (std::string& h : hazards_) io.text("hazard", h, 4096);
    // Not saved: running_cpu_ and solo_ (a quantum's, and there is none between quanta),
    // attention_ (a counter each quantum compares with itself), trace_insns_ (the host's
    // choice, set_trace_instructions).
  }
  scheduler_.state(io);
  time_.state(io);
  for (auto& cpu : cpus_) cpu->state(io);
  bus_.state(io);
  if (io.loading())  // an APIC page the saved machine had moved (lapic_window.h)
    for (unsigned c = 0; c < cpus_.size(); ++c) bind_lapic_window(c);
  ioapic_->state(io);
  uart_.state(io);
  debug_exit_.state(io);
  phase_port_.state(io);
  pm_.state(io);
  mailbox_.state(io);
  fw_cfg_.state(io);
  testdev_.state(io);
  pic_.state(io);
  pit_.state(io);
  pci_.state(io);  // the host bridge, edu and the common device's PCI function
  if (vtd_) vtd_->state(io);
  if (device_) device_->state(io);
  snapshot::memory_state(io, mem_);
}

}  // namespace irqremap::x86
