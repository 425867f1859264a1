#include "arch/arm64/arm64_machine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "arch/arm64/fdt_virt.h"
#include "arch/common/pci/pci_testdev.h"
#include "arch/common/virtio/virtio_rng.h"
#include "arch/arm64/linux_image.h"
#include "arch/arm64/virt_boot.h"
#include "arch/common/engine_memory.h"
#include "arch/common/phase_marker.h"
#include "arch/common/image_loader.h"

namespace irqremap::arm64 {

Arm64Machine::Arm64Machine(const Arm64MachineConfig& cfg)
    : cfg_(cfg),
      gicd_(cfg.cpus),
      uart_(cfg.uart_out ? cfg.uart_out : [](char c) { std::fputc(c, stdout); std::fflush(stdout); }),
      psci_(cfg.cpus),
      mmio_(trace_),
      disasm_(arch::IsaKind::Arm64),
      sched_(cfg.quantum),
      time_(1, cfg.insns_per_tick) {}

Arm64Machine::~Arm64Machine() {
  cpus_.clear();  // hooks go before their engines
  rom_writes_.clear();
  for (uc_engine* uc : engines_) uc_close(uc);
}

std::expected<std::unique_ptr<Arm64Machine>, std::string> Arm64Machine::create(const Arm64MachineConfig& cfg) {
  if (cfg.cpus < 1 || cfg.cpus > virt::kMaxCpus)
    return std::unexpected(fmt::format("--smp {}: the arm64 machine has 1 to {} CPUs", cfg.cpus, virt::kMaxCpus));
  if (cfg.quantum == 0) return std::unexpected("scheduler quantum must be at least one instruction");
  if (cfg.insns_per_tick == 0) return std::unexpected("virtual time needs at least one instruction per counter tick");
  if (cfg.ram_size < 0x10'0000 || cfg.ram_size % 0x1000 != 0)
    return std::unexpected("RAM size must be a multiple of 4 KiB and at least 1 MiB");
  if (cfg.ram_size > virt::kRamWindowSize)
    return std::unexpected(fmt::format("RAM size {} MiB is more than the virt memory map holds ({} MiB from {:#x})",
                                       cfg.ram_size >> 20, virt::kRamWindowSize >> 20, virt::kRamBase));
  std::unique_ptr<Arm64Machine> m(new Arm64Machine(cfg));
  if (auto ok = m->init(); !ok) return std::unexpected(ok.error());
  return m;
}

std::expected<void, std::string> Arm64Machine::init() {
  if (auto ram = mem_.add_ram(virt::kRamBase, cfg_.ram_size, "ram"); !ram) return std::unexpected(ram.error());
  // The virt flash banks: ROM here (no CFI command set), which is all a -kernel boot
  // needs of them (QEMU loads ELF segments below RAM into them).
  for (unsigned b = 0; b < virt::kFlashBanks; ++b)
    if (auto rom = mem_.add_rom(virt::kFlashBase + b * virt::kFlashBankSize, virt::kFlashBankSize,
                                fmt::format("flash{}", b));
        !rom)
      return std::unexpected(rom.error());
  rds_ = std::make_unique<Redistributors>(mem_, cfg_.cpus, virt::kGicrBase);
  its::ItsConfig ic = cfg_.its;
  ic.base = virt::kItsBase;
  its_ = std::make_unique<its::Its>(mem_, *rds_, ic);
  // EnableLPIs=0 at a redistributor drops the ITS's cached translations (its.h).
  rds_->set_on_enable_change([this](uint32_t, bool enabled) {
    if (!enabled) its_->invalidate_all();
  });
  // A change of pending state or configuration at the running CPU's redistributor ends
  // its quantum so a newly signalled LPI is taken promptly.
  rds_->set_on_change([this](uint32_t cpu) {
    if (running_cpu_ < 0) return;
    if (cpu == uint32_t(running_cpu_)) cpus_[cpu]->kick();
    // An interrupt for another CPU (an SGI, an LPI moved or raised there): end this
    // quantum so that CPU gets its turn and takes it promptly.
    else if (cpu < cpus_.size() && cpus_[cpu]->state() != arch::VcpuState::Off) cpus_[running_cpu_]->end_quantum();
  });
  // An SPI's state changed (a device's line, a GICD register): it may be routed to any
  // CPU, so the running one looks again now and ends its quantum for the others.
  // The PL011's interrupt is SPI 1 (INTID 33), as the device tree says.
  uart_.set_irq([this](bool level) { gicd_.set_spi_level(32 + virt::kUartSpi, level); });
  uart_.set_source(cfg_.uart_in);
  gicd_.set_on_change([this] {
    if (running_cpu_ < 0) return;
    cpus_[running_cpu_]->kick();
    if (cpus_.size() > 1) cpus_[running_cpu_]->end_quantum();
  });
  for (unsigned c = 0; c < cfg_.cpus; ++c) {
    uc_engine* uc = nullptr;
    if (uc_err e = uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
    engines_.push_back(uc);
    uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_A57);
    if (auto ok = arch::map_guest_memory(uc, mem_); !ok) return ok;
    rom_writes_.push_back(std::make_unique<arch::RomWrites>(uc, mem_, trace_, fmt::format("cpu{}", c)));
    gics_.push_back(std::make_unique<GicCpuInterface>(c, *rds_, gicd_, trace_));
    gics_.back()->set_on_ack([this, c](uint32_t intid) { acks_.push_back(Ack{c, intid}); });
    cpus_.push_back(std::make_unique<Arm64Vcpu>(c, uc, mem_, *gics_.back(), virt::mpidr_affinity(c), trace_));
    Arm64Vcpu& v = *cpus_.back();
    timers_.push_back(std::make_unique<GenericTimer>(
        c, time_, [this, c](uint32_t intid, bool level) { (*rds_)[c].set_ppi_level(intid, level); }, trace_));
    v.set_timer(*timers_.back());
    pmus_.push_back(std::make_unique<Pmu>([this, c](bool level) { (*rds_)[c].set_ppi_level(pmu::kPpi, level); }));
    v.set_pmu(*pmus_.back());
    v.set_hvc_handler([this](Arm64Vcpu& cpu, uint16_t imm) { hvc(cpu, imm); });
    // One CPU has no other engine to tell: its IC IVAUs are then not translated at all.
    if (cfg_.cpus > 1)
      v.set_maintenance_handler([this](Arm64Vcpu& from, Broadcast kind, const uc_arm64_cp_reg& op, uint64_t pa) {
        for (auto& other : cpus_)
          if (other.get() != &from) other->apply_remote_maintenance(kind, op, pa);
      });
    for (auto [base, dev] : {std::pair<uint64_t, MmioDevice*>{virt::kGicdBase, &gicd_},
                             {virt::kItsBase, its_.get()},
                             {virt::kGicrBase, rds_.get()},
                             {virt::kUartBase, &uart_}})
      if (auto ok = mmio_.bind(uc, c, base, *dev); !ok) return ok;
  }
  // A counter read inside a quantum counts the running CPU's instructions so far.
  time_.set_in_flight([this]() -> uint64_t {
    return running_cpu_ >= 0 ? cpus_[unsigned(running_cpu_)]->executed_in_quantum() : 0;
  });
  if (cfg_.device) {
    device::DeviceConfig dc = cfg_.device_config;
    dc.source = virt::kDeviceId;
    device_ = std::make_unique<device::MsgDevice>(mem_, *this, dc);
    if (auto ok = attach_mmio(virt::kDeviceBase, *device_); !ok) return ok;
  }
  pcie_ = std::make_unique<pci::EcamHost>(pci::EcamHost::Layout{virt::kPcieEcamSize, virt::kPcieMmioBase,
                                                                 virt::kPcieMmioSize, virt::kPciePioSize,
                                                                 virt::kPcieMmioHighBase, virt::kPcieMmioHighSize});
  pcie_->add(0, 0, pcie_root_);
  for (const std::string& name : cfg_.pci_devices) {
    if (name == "pci-testdev") {
      pci_functions_.push_back(std::make_unique<pci::PciTestdev>());
    } else if (name == "virtio-rng-pci") {
      // Transitional device ID 1005h, class 00FFh "other", as QEMU's virtio-rng-pci.
      virtio_devices_.push_back(std::make_unique<virtio::VirtioRng>(cfg_.rng_seed + virtio_devices_.size()));
      auto f = std::make_unique<virtio::VirtioPci>(*virtio_devices_.back(), 0x1005, 0x00FF00, mem_, nullptr, *this);
      virtio_pci_.push_back(f.get());
      pci_functions_.push_back(std::move(f));
    } else {
      return std::unexpected(
          fmt::format("--device {}: no such device on the arm64 machine (known: pci-testdev, virtio-rng-pci)", name));
    }
    const auto slot = pcie_->add_next_free(*pci_functions_.back());
    if (!slot) return std::unexpected(fmt::format("--device {}: PCI bus 0 is full", name));
    // INTx: slot s, pin p (1 = INTA) drives SPI kPcieIrqBase + (s + p - 1) % 4, the swizzle
    // of the device tree's interrupt-map (fdt_virt.cpp), as QEMU's gpex wires it.
    if (const unsigned pin = pci_functions_.back()->config().get8(pci::cfg::INTERRUPT_PIN); pin >= 1 && pin <= 4) {
      const uint32_t intid = 32 + virt::kPcieIrqBase + (*slot + pin - 1) % 4;
      pci_functions_.back()->connect_intx([this, intid](bool level) { gicd_.set_spi_level(intid, level); });
    }
    if (!virtio_pci_.empty() && virtio_pci_.back() == pci_functions_.back().get())
      virtio_pci_.back()->set_requester_id(make_rid(0, *slot, 0));
  }
  for (auto [base, dev] : {std::pair<uint64_t, MmioDevice*>{virt::kPcieEcamBase, &pcie_->ecam()},
                           {virt::kPcieMmioBase, &pcie_->mmio()},
                           {virt::kPciePioBase, &pcie_->pio()},
                           {virt::kPcieMmioHighBase, &pcie_->mmio_high()}})
    if (auto ok = attach_mmio(base, *dev); !ok) return ok;
  return {};
}

std::expected<void, std::string> Arm64Machine::attach_mmio(uint64_t base, MmioDevice& dev) {
  const uint64_t size = (dev.mmio_size() + 0xFFF) & ~uint64_t{0xFFF};
  for (unsigned c = 0; c < engines_.size(); ++c) {
    // Once a CPU has run, its engine's unbacked space holds every free address.
    if (auto ok = cpus_[c]->carve_unbacked_space(base, size); !ok) return ok;
    if (auto ok = mmio_.bind(engines_[c], c, base, dev); !ok) return ok;
  }
  return {};
}

void Arm64Machine::set_trace_instructions(bool on) {
  trace_insns_ = on;
  // Only a traced run pays for a per-instruction callback into the machine.
  for (auto& cpu : cpus_) {
    const unsigned c = cpu->index();
    cpu->set_on_insn(on ? std::function<void(uint64_t)>([this, c](uint64_t pc) {
      if (trace_.on())
        trace_.emit(Event{EventKind::GuestInsn, fmt::format("cpu{}", c),
                          fmt::format("{:#x}: {}", pc, disassemble(pc)), {{"pc", pc}}});
    })
                        : std::function<void(uint64_t)>());
  }
}

void Arm64Machine::attach(TraceSink* sink) {
  trace_.attach(sink);
  gicd_.trace().attach(sink);
  rds_->trace().attach(sink);
  its_->trace().attach(sink);
  if (device_) device_->trace().attach(sink);
  pcie_->trace().attach(sink);
  for (virtio::VirtioPci* f : virtio_pci_) f->trace().attach(sink);
}

void Arm64Machine::detach(TraceSink* sink) {
  trace_.detach(sink);
  gicd_.trace().detach(sink);
  rds_->trace().detach(sink);
  its_->trace().detach(sink);
  if (device_) device_->trace().detach(sink);
  pcie_->trace().detach(sink);
  for (virtio::VirtioPci* f : virtio_pci_) f->trace().detach(sink);
}

std::string Arm64Machine::msix_report() const {
  std::string out;
  for (const virtio::VirtioPci* f : virtio_pci_) {
    const unsigned devfn = f->requester_id() & 0xFF;
    const pci::MsixCapability& x = f->msix();
    out += fmt::format("{} at 00:{:02x}.{:x}: MSI-X {}{}, message store (the table, written by the guest):\n",
                       f->pci_name(), devfn >> 3, devfn & 7, x.enabled() ? "enabled" : "disabled",
                       x.function_masked() ? " (function masked)" : "");
    for (unsigned v = 0; v < x.vectors(); ++v) {
      const MsiWrite m = x.message(v);
      const auto& c = x.counters(v);
      out += fmt::format("  vector {}: address {:#x} data {:#x} DeviceID {:#x}{}: {} message writes, {} while live, "
                         "{} MSIs sent\n",
                         v, m.address, m.data, m.source, x.vector_masked(v) ? " (masked)" : "", c.message_writes,
                         c.rewrites_live, c.sent);
    }
  }
  return out;
}

void Arm64Machine::msi_write(const MsiWrite& msi) {
  if (msi.address == virt::kGitsTranslater) {
    its_->deliver(msi);  // the ITS traces the translation or the drop
    return;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Fault, "arm64",
                 fmt::format("MSI to {:#x} dropped: only GITS_TRANSLATER ({:#x}) takes MSIs on this machine",
                             msi.address, virt::kGitsTranslater),
                 {{"address", msi.address}, {"data", msi.data}}};
  });
}

std::expected<uint64_t, std::string> Arm64Machine::load(std::span<const std::byte> image,
                                                       std::optional<std::span<const std::byte>> initrd) {
  // Not an ELF: a Linux arm64 Image loads where its header says (linux_image.h), any
  // other file raw at virt::kKernelLoad; both are Linux kernels to the boot protocol. An
  // Image's end is load + image_size, its .bss included, which the initrd and the tree
  // must clear.
  uint64_t raw_base = virt::kKernelLoad;
  std::optional<uint64_t> kernel_end;
  if (!(image.size() >= 4 && std::memcmp(image.data(), "\x7f" "ELF", 4) == 0)) {
    auto header = parse_linux_image(image);
    if (!header) return std::unexpected(header.error().message);
    if (*header) {
      auto at = place_linux_image(**header, image.size(), virt::kRamBase, cfg_.ram_size);
      if (!at) return std::unexpected(at.error().message);
      raw_base = at->load;
      kernel_end = at->end;
    }
  }
  auto r = arch::load_image(mem_, image, arch::kEmAarch64, raw_base);
  if (!r) return std::unexpected(r.error());
  const ImageSpan span{r->elf, r->low, std::max(r->high, kernel_end.value_or(0))};
  auto place = place_boot_fdt(span, cfg_.ram_size, kVirtFdtSize,
                              initrd ? std::optional<uint64_t>(initrd->size()) : std::nullopt);
  if (!place) return std::unexpected(place.error());
  VirtFdtConfig tree{cfg_.cpus, cfg_.ram_size, cfg_.bootargs, cfg_.device};
  if (place->initrd) {
    if (!mem_.write(*place->initrd, *initrd))
      return std::unexpected(fmt::format("the initrd at {:#x} is outside guest RAM", *place->initrd));
    tree.initrd = std::pair{*place->initrd, *place->initrd + initrd->size()};
  }
  auto fdt = build_virt_fdt_packed(tree);
  if (!fdt) return std::unexpected(fdt.error());
  if (place->fdt) {
    // Through the host pointer: the tree may go into flash, which guest writes cannot change.
    std::byte* host = mem_.host_ptr(*place->fdt, kVirtFdtSize);
    if (host == nullptr)
      return std::unexpected(fmt::format("the device tree at {:#x} is outside guest memory", *place->fdt));
    // The packed tree opened into the cleared window, as build_virt_fdt() does into a
    // zeroed buffer (tests/arm64/boot_test.cpp compares them): the same bytes, zeros after
    // them, totalsize = kVirtFdtSize. Clearing gives pages back rather than writing them.
    mem_.zero(*place->fdt, kVirtFdtSize);
    if (auto opened = open_virt_fdt(*fdt, host); !opened) return std::unexpected(opened.error());
  }
  fdt_address_ = place->fdt;
  boot_x0_ = place->x0;
  return r->entry;
}

void Arm64Machine::hvc(Arm64Vcpu& cpu, uint16_t imm) {
  const uint64_t x0 = cpu.reg(UC_ARM64_REG_X0), x1 = cpu.reg(UC_ARM64_REG_X1),
                 x2 = cpu.reg(UC_ARM64_REG_X2), x3 = cpu.reg(UC_ARM64_REG_X3);
  if (imm != 0) {
    // SMCCC: HVC #0 only; other immediates are not PSCI calls.
    cpu.set_reg(UC_ARM64_REG_X0, uint64_t(psci::NOT_SUPPORTED));
    return;
  }
  if (x0 == arch::phase_marker::kArmBegin || x0 == arch::phase_marker::kArmEnd) {
    if (trace_.on())
      trace_.emit(x0 == arch::phase_marker::kArmBegin
                      ? arch::phase_marker::begin(cpu.index(), arch::phase_marker::read_name(mem_, x1))
                      : arch::phase_marker::end(cpu.index()));
    cpu.set_reg(UC_ARM64_REG_X0, uint64_t(psci::SUCCESS));
    return;
  }
  const PsciResult r = psci_.call(cpu.index(), x0, x1, x2, x3);
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", cpu.index()),
                 fmt::format("PSCI call {:#x}({:#x}, {:#x}, {:#x}) -> {:#x}", x0, x1, x2, x3, r.x0),
                 {{"function", x0}, {"result", r.x0}}};
  });
  switch (r.effect.kind) {
    case PsciEffect::Kind::None:
      cpu.set_reg(UC_ARM64_REG_X0, r.x0);
      break;
    case PsciEffect::Kind::CpuOn: {
      cpu.set_reg(UC_ARM64_REG_X0, r.x0);
      Arm64Vcpu& t = *cpus_.at(r.effect.target);
      t.power_on(r.effect.entry, r.effect.context_id);
      psci_.started(r.effect.target);
      cpu.end_quantum();  // the new CPU runs from the next round
      break;
    }
    case PsciEffect::Kind::CpuOff:
      cpu.power_off();
      break;
    case PsciEffect::Kind::SystemOff:
      power_ = arch::StopRequest{arch::StopKind::SystemOff, "PSCI SYSTEM_OFF", 0};
      cpu.request_stop(*power_);
      break;
    case PsciEffect::Kind::SystemReset:
      power_ = arch::StopRequest{arch::StopKind::SystemOff, "PSCI SYSTEM_RESET (the run ends)", 0};
      cpu.request_stop(*power_);
      break;
  }
}

uint64_t Arm64Machine::quantum_limit(uint64_t n) const {
  for (const auto& t : timers_)
    if (auto d = t->next_deadline()) n = std::min(n, std::max<uint64_t>(time_.insns_until(*d), 1));
  // A PMU counter with its overflow interrupt enabled ends the quantum where it overflows
  // (pmu.h). The running CPU's PMU only: the others' count nothing while it runs.
  if (running_cpu_ >= 0)
    if (auto o = pmus_[unsigned(running_cpu_)]->insns_to_overflow()) n = std::min(n, std::max<uint64_t>(*o, 1));
  return n;
}

bool Arm64Machine::advance_idle_time() {
  // The PL011's idle point (pl011.h): a guest waiting on its console gets the next input
  // byte before time moves; its interrupt wakes a CPU.
  if (uart_.feed_at_idle()) return true;
  std::optional<uint64_t> next;
  unsigned who = 0;
  for (unsigned c = 0; c < timers_.size(); ++c) {
    if (cpus_[c]->state() == arch::VcpuState::Off) continue;
    if (auto d = timers_[c]->next_deadline(); d && (!next || *d < *next)) {
      next = d;
      who = c;
    }
  }
  if (!next) return false;
  const uint64_t from = time_.now();
  if (!time_.advance_to(*next)) return false;
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, "arm64",
                 fmt::format("every CPU waits: virtual time {:#x} -> {:#x} (cpu{}'s timer deadline)", from, *next, who),
                 {{"from", from}, {"to", *next}, {"cpu", who}}};
  });
  for (auto& t : timers_) t->update();
  return true;
}

Arm64RunResult Arm64Machine::run(uint64_t entry, uint64_t max_insns) {
  if (!started_) {  // a machine restored from a snapshot is started: `entry` is ignored
    started_ = true;
    // The boot protocol's registers (virt_boot.h): x0 = tree (raw image) or 0, x1..x3 = 0.
    cpus_[0]->power_on(entry, boot_x0_);
    for (uc_arm64_reg r : {UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3}) cpus_[0]->set_reg(r, 0);
  }
  // Wrap each CPU so the machine knows which one is running (for kicks from devices).
  struct Tracked final : arch::Vcpu {
    Arm64Machine* m;
    Arm64Vcpu* v;
    unsigned index() const override { return v->index(); }
    arch::VcpuState state() const override { return v->state(); }
    void service_interrupts() override {
      // Time passed since this CPU's last turn: its timers may have reached their deadline.
      m->timers_[v->index()]->update();
      v->service_interrupts();
    }
    arch::StepResult step(uint64_t n, bool exact) override {
      m->running_cpu_ = int(v->index());
      unsigned running = 0;
      for (const auto& c : m->cpus_) running += c->state() == arch::VcpuState::Running;
      m->time_.set_sharing(running);
      const uint64_t limit = m->quantum_limit(n);
      auto r = v->step(limit, exact && limit == n);
      m->running_cpu_ = -1;
      m->time_.retire(r.executed);
      return r;
    }
    uint64_t pc() const override { return v->pc(); }
  };
  std::vector<Tracked> tracked;
  tracked.reserve(cpus_.size());
  for (auto& c : cpus_) {
    Tracked t;
    t.m = this;
    t.v = c.get();
    tracked.push_back(t);
  }
  std::vector<arch::Vcpu*> order;
  for (auto& t : tracked) order.push_back(&t);
  // A CPU that runs alone (every other one off or in WFI) gets long quanta: nothing waits
  // for its turn to end, and each quantum is a uc_emu_start. Timers still bound it
  // (quantum_limit), and an interrupt or CPU_ON for another CPU ends it (end_quantum).
  sched_.set_quantum_policy([this](unsigned c) {
    for (unsigned o = 0; o < cpus_.size(); ++o)
      if (o != c && cpus_[o]->state() == arch::VcpuState::Running) return cfg_.quantum;
    return std::max(cfg_.quantum, cfg_.solo_quantum);
  });
  arch::RunResult r = sched_.run(
      order, max_insns, [this]() { return power_; },
      [this](unsigned, uint64_t pc) { return disassemble(pc); }, [this]() { return advance_idle_time(); });
  // A pause is not an end: the next run() (or a machine restored from a snapshot taken
  // here) goes on, and the trace reads as one run.
  if (r.stop != arch::StopKind::Paused)
    trace_.emit_lazy([&] { return Event{EventKind::Note, "arm64", "stop: " + r.message, {{"pc", r.pc}}}; });
  return r;
}

}  // namespace irqremap::arm64
