// The AArch64 machine's snapshot (Arm64Machine::state, snapshot_configuration).
#include <fmt/format.h>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/generic_timer.h"
#include "arch/common/snapshot/memory_state.h"

namespace irqremap::arm64 {

std::string Arm64Machine::snapshot_configuration() const {
  const its::ItsConfig& ic = cfg_.its;
  std::string pci;
  for (const std::string& d : cfg_.pci_devices) pci += (pci.empty() ? "" : ",") + d;
  std::string dev = "none";
  if (cfg_.device) {
    const device::DeviceConfig& d = cfg_.device_config;
    dev = fmt::format("{} slots={} layout={} eager_mask={} unsplit={} one_shot={} ctx_ro={} ctx_rw={}", d.name, d.slots,
                      unsigned(d.layout), d.eager_mask, d.unsplit_context, d.one_shot, d.ctx_ro_bytes, d.ctx_rw_bytes);
  }
  return fmt::format(
      "arm64 virt cpus={} ram={:#x} quantum={} solo_quantum={} insns_per_tick={} cntfrq={} "
      "its=(devbits={} idbits={} cil={} cidbits={} pta={} lpi_bits={} cache={} cache_entries={} policy={}) "
      "device=({}) pci=({}) rng_seed={}",
      cfg_.cpus, cfg_.ram_size, cfg_.quantum, cfg_.solo_quantum, cfg_.insns_per_tick, cnt::kFrequency, ic.devbits,
      ic.idbits, ic.cil, ic.cidbits, ic.pta, ic.lpi_bits, ic.cache, ic.cache_entries, unsigned(ic.policy), dev, pci,
      cfg_.rng_seed);
}

void Arm64Machine::state(snapshot::Io& io) {
  if (io.loading() && started_) {
    io.fail("a snapshot is restored into a machine that never ran");
    return;
  }
  if (io.saving() && running_cpu_ >= 0) {
    io.fail("the machine is inside a quantum: save between runs (a pause)");
    return;
  }
  {
    snapshot::Io::Group g(io, "memory");
    snapshot::memory_state(io, mem_);
  }
  {
    snapshot::Io::Group g(io, "machine");
    bool started = started_;
    io.field("started", started);
    bool powered_off = power_.has_value();
    arch::StopRequest p = power_.value_or(arch::StopRequest{});
    io.field("power_off", powered_off);
    io.field("power_off.kind", p.kind);
    io.check(p.kind <= arch::StopKind::Paused, "no such stop kind");
    io.text("power_off.what", p.what, 256);
    io.field("power_off.status", p.exit_status);
    uint64_t fdt = fdt_address_.value_or(0);
    bool has_fdt = fdt_address_.has_value();
    io.field("fdt", has_fdt);
    io.field("fdt_address", fdt);
    io.field("boot_x0", boot_x0_);
    {
      snapshot::Io::Group a(io, "acks");
      const size_t n = io.count("count", acks_.size(), size_t{1} << 26);
      if (io.loading()) acks_.assign(n, Ack{});
      for (Ack& k : acks_) {
        io.field("cpu", k.cpu);
        io.field("intid", k.intid);
        io.check(k.cpu < cpus_.size(), "an acknowledgement on a CPU the machine does not have");
      }
    }
    if (io.loading() && io.ok()) {
      started_ = started;
      power_ = powered_off ? std::optional<arch::StopRequest>(p) : std::nullopt;
      fdt_address_ = has_fdt ? std::optional<uint64_t>(fdt) : std::nullopt;
    }
  }
  {
    snapshot::Io::Group g(io, "time");
    time_.state(io);
  }
  {
    snapshot::Io::Group g(io, "scheduler");
    sched_.state(io);
  }
  gicd_.state(io);
  {
    snapshot::Io::Group g(io, "gicr");
    rds_->state(io);
  }
  its_->state(io);
  uart_.state(io);
  psci_.state(io);
  for (unsigned c = 0; c < cpus_.size(); ++c) {
    snapshot::Io::Group g(io, fmt::format("cpu{}", c));
    cpus_[c]->state(io);
    gics_[c]->state(io);
    timers_[c]->state(io);
    pmus_[c]->state(io);
    rom_writes_[c]->state(io);
  }
  if (device_) {
    snapshot::Io::Group g(io, "device");
    device_->state(io);
  }
  {
    snapshot::Io::Group g(io, "pcie");
    {
      snapshot::Io::Group r(io, "gpex-root");
      pcie_root_.state(io);
    }
    for (auto& f : pci_functions_) f->state(io);
  }
}

}  // namespace irqremap::arm64
