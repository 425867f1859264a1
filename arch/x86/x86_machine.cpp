#include "arch/x86/x86_machine.h"

#include "arch/x86/bios_interrupts.h"

#include <fmt/format.h>
#include <unicorn/unicorn.h>

#include <cstdio>
#include <cstring>

#include "arch/common/engine_memory.h"
#include "arch/common/image_loader.h"
#include "arch/common/multiboot.h"
#include "arch/x86/engine_cpuid.h"
#include "arch/x86/boot_rom.h"
#include "arch/x86/compat_msi.h"
#include "arch/x86/interrupt_entry.h"
#include "arch/x86/irte_check.h"
#include "arch/x86/pci/seabios_q35.h"

namespace irqremap::x86 {


X86Machine::X86Machine(const X86MachineConfig& cfg)
    : cfg_(cfg),
      bus_(cfg.cpus),
      uart_(cfg.uart_out ? cfg.uart_out : [](char c) { std::fputc(c, stdout); std::fflush(stdout); }),
      mailbox_(cfg.cpus, [this](uint32_t apic, uint64_t vec) { return wake(apic, vec); }),
      scheduler_(cfg.quantum) {}

X86Machine::~X86Machine() {
  cpus_.clear();  // hooks go before their engines
  for (uc_engine* uc : engines_) uc_close(uc);
}

std::expected<std::unique_ptr<X86Machine>, std::string> X86Machine::create(const X86MachineConfig& cfg) {
  if (cfg.cpus < 1 || cfg.cpus > map::kMaxCpus)
    return std::unexpected(fmt::format("--smp {}: the x86 machine has 1 to {} CPUs", cfg.cpus, map::kMaxCpus));
  if (cfg.quantum == 0) return std::unexpected("scheduler quantum must be at least one instruction");
  if (cfg.ram_size < map::kMinRamSize || cfg.ram_size > map::kMaxRamSize)
    return std::unexpected(fmt::format("--mem {}: the x86 machine has {} to {} MiB of RAM (below its MMIO window)",
                                       cfg.ram_size >> 20, map::kMinRamSize >> 20, map::kMaxRamSize >> 20));
  std::unique_ptr<X86Machine> m(new X86Machine(cfg));
  if (auto ok = m->init(); !ok) return std::unexpected(ok.error());
  return m;
}

std::expected<void, std::string> X86Machine::init() {
  // Memory files behind RAM and ROM, so a VA alias can hold physically scattered pages
  // side by side (arch/common/va_aliases.h).
  mem_.set_file_backed(true);
  auto ram = mem_.add_ram(map::kRamBase, cfg_.ram_size, "ram");
  if (!ram) return std::unexpected(ram.error());
  auto rom = mem_.add_rom(boot_rom::kBase, boot_rom::kSize, "bootrom");
  if (!rom) return std::unexpected(rom.error());
  boot_rom::build({rom->host, rom->size});
  std::string err;
  if (!io_.add(map::kCom1Port, uart_, &err) || !io_.add(map::kDebugExitPort, debug_exit_, &err) ||
      !io_.add(PmControl::kPort, pm_, &err) || !io_.add(FwCfg::kPort, fw_cfg_, &err) ||
      !io_.add(arch::phase_marker::kX86Port, phase_port_, &err))
    return std::unexpected(err);
  // The items QEMU 7.2's q35 has for firmware (hw/nvram/fw_cfg.c fw_cfg_common_init,
  // hw/i386/fw_cfg.c fw_cfg_arch_create): APIC IDs are the CPU indices, so the APIC ID
  // limit (MAX_CPUS) is the CPU count.
  fw_cfg_.set(FwCfg::SIGNATURE, {'Q', 'E', 'M', 'U'});
  fw_cfg_.set_u32(FwCfg::ID, FwCfg::kIdTraditional);
  fw_cfg_.set(FwCfg::UUID, std::vector<uint8_t>(16, 0));
  fw_cfg_.set_u16(FwCfg::NOGRAPHIC, 1);
  fw_cfg_.set_u16(FwCfg::BOOT_MENU, 0);
  fw_cfg_.set_u16(FwCfg::NB_CPUS, uint16_t(cfg_.cpus));
  fw_cfg_.set_u16(FwCfg::MAX_CPUS, uint16_t(cfg_.cpus));
  fw_cfg_.set_u64(FwCfg::RAM_SIZE, cfg_.ram_size);
  for (unsigned c = 0; c < cfg_.cpus; ++c) {
    uc_engine* uc = nullptr;
    if (uc_err e = uc_open(UC_ARCH_X86, UC_MODE_64, &uc); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
    engines_.push_back(uc);
    if (auto ok = arch::map_guest_memory(uc, mem_); !ok) return ok;
    cpus_.push_back(std::make_unique<X86Vcpu>(c, uc, mem_, bus_.apic(c), io_));
    X86Vcpu& v = *cpus_.back();
    v.set_alias_pieces(arch::VaAliases::kX86MachinePieces / cfg_.cpus);
    v.set_after_out([this, uc, c] {
      if (auto phase = phase_port_.take(); phase && trace_.on())
        trace_.emit(*phase ? arch::phase_marker::begin(c, arch::phase_marker::read_name(mem_, *phase))
                           : arch::phase_marker::end(c));
      if (debug_exit_.exit_requested() || pm_.power_off_requested()) uc_emu_stop(uc);
    });
    v.set_clock([this] { return tsc_now(); });
    bus_.apic(c).set_on_change([this] { ++attention_; });
    bus_.apic(c).set_clock([this] { return tsc_now(); });
    v.set_attention(&attention_, [this, c] { return others_need_turn(c); });
    // The xAPIC page at IA32_APIC_BASE, wherever the guest moves it (lapic_window.h).
    if (const unsigned bits = engine_cpuid(0x8000'0008, 0).eax & 0xFF; bits >= 36 && bits <= 52)
      bus_.apic(c).set_max_phys_bits(bits);  // MAXPHYADDR: Unicorn's qemu64 says 40
    lapic_windows_.emplace_back(c, LapicWindow(bus_.apic(c), map::kLapicBase));
    if (auto ok = bindings_.bind(engines_[c], c, map::kLapicBase, lapic_windows_.back().second); !ok) return ok;
    bus_.apic(c).set_on_base_change([this, c](uint64_t) { bind_lapic_window(c); });
    bus_.apic(c).set_x2apic_supported(cfg_.features.x2apic);
    v.set_features(cfg_.features);
    if (auto ok = bindings_.bind(engines_[c], c, map::kWakeupMailbox, mailbox_); !ok) return ok;
    if (auto ok = bindings_.bind(engines_[c], c, boot_rom::kStartupPointer, v.startup_page()); !ok) return ok;
    v.set_alias_mmio([this, uc](uint64_t va_page, uint64_t pa_page) {
      return bindings_.bind_alias(uc, va_page, pa_page).has_value();
    });
  }
  // A counter read inside a quantum counts the running CPU's instructions so far, and the
  // delay of its PAUSEs (pause_latency.h).
  time_.set_in_flight(
      [this]() -> uint64_t { return running_cpu_ >= 0 ? cpus_[unsigned(running_cpu_)]->executed_in_step() : 0; },
      [this]() -> uint64_t { return running_cpu_ >= 0 ? cpus_[unsigned(running_cpu_)]->stall_in_step() : 0; });
  if (cfg_.vtd) {
    vtd_ = std::make_unique<vtd::Unit>(mem_, bus_, trace_, cfg_.vtd_config);
    if (auto ok = attach_mmio(map::kVtdBase, *vtd_); !ok) return ok;
  }
  if (cfg_.device) {
    device::DeviceConfig dc;
    dc.name = "dev0";
    dc.slots = cfg_.device_slots;
    dc.source = map::kDeviceRid;
    device_ = std::make_unique<device::MsgDevice>(mem_, *this, dc);
  }
  return init_pci();
}

// PCI, edu, the common device's PCI face and the I/O APIC (arch/x86/README.md).
std::expected<void, std::string> X86Machine::init_pci() {
  ioapic_ = std::make_unique<IoApic>(*this, cfg_.ioapic_source_id ? *cfg_.ioapic_source_id : kNoSourceId);
  if (auto ok = attach_mmio(map::kIoApicBase, *ioapic_); !ok) return ok;
  // Each local APIC's EOI of a level-triggered vector is broadcast to the I/O APIC
  // (SDM vol. 3A §11.8.5), which clears Remote IRR of the entries with that vector.
  for (unsigned c = 0; c < cpus_.size(); ++c)
    bus_.apic(c).set_eoi_broadcast([this](uint8_t vector) { ioapic_->eoi(vector); });
  // COM1 on ISA IRQ 4, which reaches I/O APIC input 4 (only IRQ 0 is moved, to input 2).
  uart_.set_source(cfg_.uart_in);
  uart_.set_irq([this](bool level) {
    ioapic_->set_irq(Uart16550::kIsaIrq, level);
    pic_.set_irq(Uart16550::kIsaIrq, level);
  });
  testdev_.set_isa_irq([this](unsigned line, bool level) { pic_.set_irq(line, level); });
  std::string err;
  if (!io_.add(PcTestdev::kPortBase, testdev_.ports(), &err) || !io_.add(PcTestdev::kIrqBase, testdev_.irq_ports(), &err))
    return std::unexpected(err);
  if (auto ok = attach_mmio(PcTestdev::kIomemBase, testdev_.iomem()); !ok) return ok;
  if (!io_.add(map::kPciConfigPort, pci_, &err)) return std::unexpected(err);
  if (!io_.add(Pic8259Pair::kMasterPort, pic_.master_ports(), &err) ||
      !io_.add(Pic8259Pair::kSlavePort, pic_.slave_ports(), &err) ||
      !io_.add(Pic8259Pair::kElcrPort, pic_.elcr_ports(), &err) || !io_.add(Pit8254::kPort, pit_.ports(), &err))
    return std::unexpected(err);
  // As SeaBIOS leaves a PC (bios_interrupts.h): the real-mode vector table and its
  // handlers, the PICs with only the timer and the cascade unmasked, the PIT ticking at
  // 18.2 Hz, and CPU 0's LINT0 in virtual wire mode, where the PICs' INTR goes.
  if (!bios::install(mem_)) return std::unexpected("the x86 machine's RAM does not hold the BIOS area below 1 MiB");
  pic_.bios_setup(1u << 0 | 1u << Pic8259Pair::kCascadeIr);
  pit_.bios_setup();
  bus_.apic(0).set_virtual_wire();
  pic_.set_on_change([this] { ++attention_; });
  cpus_[0]->set_extint([this] { return pic_.intr() && bus_.apic(0).accepts_extint(); },
                       [this] { return pic_.acknowledge(); });
  pci_.add(0, 0, host_bridge_);
  std::vector<pci::BarPlacement> bars;
  if (cfg_.edu) {
    edu_ = std::make_unique<pci::EduDevice>(mem_, *this, *this, map::kEduRid);
    pci_.add(map::kEduRid >> 3, 0, *edu_);
    bars.push_back({map::kEduRid & 0xFF, 0, map::kEduBar0});
  }
  if (device_) {
    device_fn_ = std::make_unique<pci::MsgDeviceFunction>(*device_);
    pci_.add((map::kDeviceRid >> 3) & 0x1F, map::kDeviceRid & 7, *device_fn_);
    bars.push_back({map::kDeviceRid & 0xFF, 0, map::kDeviceBase});
  }
  pci::seabios_q35_setup(pci_, bars);
  // INTx: on q35 the Interrupt Line SeaBIOS writes is also the I/O APIC input the pin is
  // wired to; the wiring is fixed here, whatever software later writes to the register.
  for (unsigned devfn = 0; devfn < 256; ++devfn)
    if (pci::PciFunction* f = pci_.function(devfn); f && f->config().get8(pci::cfg::INTERRUPT_PIN))
      f->connect_intx([this, gsi = f->config().get8(pci::cfg::INTERRUPT_LINE)](bool level) {
        ioapic_->set_irq(gsi, level);
      });
  if (auto ok = attach_mmio(map::kPciWindow, pci_); !ok) return ok;
  return {};
}

void X86Machine::attach(TraceSink* sink) {
  trace_.attach(sink);
  bus_.attach(sink);
  mailbox_.trace().attach(sink);
  if (device_) device_->trace().attach(sink);
  if (edu_) edu_->trace().attach(sink);
  pci_.trace().attach(sink);
  ioapic_->trace().attach(sink);
  for (auto& c : cpus_) c->trace().attach(sink);
}

void X86Machine::detach(TraceSink* sink) {
  trace_.detach(sink);
  bus_.detach(sink);
  mailbox_.trace().detach(sink);
  if (device_) device_->trace().detach(sink);
  if (edu_) edu_->trace().detach(sink);
  pci_.trace().detach(sink);
  ioapic_->trace().detach(sink);
  for (auto& c : cpus_) c->trace().detach(sink);
}

std::expected<void, std::string> X86Machine::attach_mmio(uint64_t base, MmioDevice& dev) {
  for (unsigned c = 0; c < cpus_.size(); ++c)
    if (auto ok = bindings_.bind(engines_[c], c, base, dev); !ok) return ok;
  return {};
}


void X86Machine::msi_write(const MsiWrite& msi) {
  if (vtd_) {
    const Translation t = vtd_->translate(msi);  // the unit traces and delivers into bus_
    if (auto h = remap_hazard(mem_, vtd_->ir_state(), msi, t)) {
      hazards_.push_back(*h);
      trace_.emit_lazy([&] {
        return Event{EventKind::Hazard, "x86", *h, {{"address", msi.address}, {"data", msi.data}}};
      });
    }
    return;
  }
  auto d = decode_compat_msi(msi);
  if (!d) {
    trace_.emit_lazy([&] {
      return Event{EventKind::Fault, "x86", fmt::format("MSI dropped: {}", d.error()),
                   {{"address", msi.address}, {"data", msi.data}}};
    });
    return;
  }
  trace_.emit_lazy([&] {
    return Event{EventKind::Translation, "x86",
                 fmt::format("compatibility MSI {:#x}/{:#x} from {:#06x} (remapping off) -> APIC {:#x} vector {:#04x}",
                             msi.address, msi.data, msi.source, d->dest, d->vector),
                 {{"vector", d->vector}, {"dest", d->dest}}};
  });
  bus_.deliver(*d);
}

std::expected<pci::DmaTranslator::Mapping, std::string> X86Machine::dma_translate(
    uint16_t rid, uint64_t iova, uint64_t size, bool write) {
  if (!vtd_) return Mapping{iova, size};
  auto m = vtd_->translate_dma(rid, iova, size, write);
  if (!m) return std::unexpected(fmt::format("VT-d fault {:#x}: {}", m.error().reason, m.error().why));
  return Mapping{m->pa, m->length};
}

std::expected<uint64_t, std::string> X86Machine::load(std::span<const std::byte> img,
                                                      std::optional<std::span<const std::byte>> initrd) {
  const auto header = arch::multiboot::find_header(img);
  const bool elf64 = img.size() > 4 && std::memcmp(img.data(), "\x7f" "ELF", 4) == 0 &&
                     std::to_integer<uint8_t>(img[4]) == 2;
  if (header && !(elf64 && (header->flags & arch::multiboot::kHeaderFlagAddress) == 0)) {
    arch::multiboot::Params p;
    p.ram_size = cfg_.ram_size;
    p.cmdline = cfg_.kernel_name.empty() ? cfg_.bootargs : cfg_.kernel_name + " " + cfg_.bootargs;
    if (initrd) p.module = arch::multiboot::Module{*initrd, cfg_.initrd_name};
    auto m = arch::multiboot::load(mem_, img, *header, p);
    if (!m) return std::unexpected(m.error());
    multiboot_info_ = m->info_addr;
    if (const GuestMemory::Region* rom = mem_.region_at(boot_rom::kBase))
      boot_rom::set_multiboot_entry({rom->host, rom->size}, m->entry);
    // What QEMU's multiboot loader hands its option ROM (hw/i386/multiboot.c): the kernel
    // bytes and the information structure, readable through fw_cfg as on QEMU.
    std::vector<uint8_t> kernel(m->high - m->low);
    if (const std::byte* k = mem_.host_ptr(m->low, kernel.size())) std::memcpy(kernel.data(), k, kernel.size());
    fw_cfg_.set_u32(FwCfg::KERNEL_ENTRY, m->entry);
    fw_cfg_.set_u32(FwCfg::KERNEL_ADDR, uint32_t(m->low));
    fw_cfg_.set_u32(FwCfg::KERNEL_SIZE, uint32_t(kernel.size()));
    fw_cfg_.set(FwCfg::KERNEL_DATA, std::move(kernel));
    std::vector<uint8_t> info(arch::multiboot::kInfoSize);
    if (const std::byte* i = mem_.host_ptr(m->info_addr, info.size())) std::memcpy(info.data(), i, info.size());
    fw_cfg_.set_u32(FwCfg::INITRD_ADDR, m->info_addr);
    fw_cfg_.set_u32(FwCfg::INITRD_SIZE, uint32_t(info.size()));
    fw_cfg_.set(FwCfg::INITRD_DATA, std::move(info));
    return m->entry;
  }
  if (initrd)
    return std::unexpected("an initrd goes to a multiboot kernel as its module; this image is not multiboot");
  auto r = arch::load_image(mem_, img, arch::kEmX86_64, map::kKernelLoad);
  if (!r) return std::unexpected(r.error());
  return r->entry;
}

void X86Machine::bind_lapic_window(unsigned c) {
  const uint64_t base = bus_.apic(c).base_address();
  for (const auto& [cpu, w] : lapic_windows_)
    if (cpu == c && w.base() == base) return;
  auto& [cpu, w] = lapic_windows_.emplace_back(c, LapicWindow(bus_.apic(c), base));
  if (auto ok = bindings_.bind(engines_[c], c, base, w); !ok) {
    lapic_windows_.pop_back();
    trace_.emit_lazy([&] {
      return Event{EventKind::Note, fmt::format("cpu{}", c),
                   fmt::format("APIC base {:#x}: no window there ({})", base, ok.error()), {}};
    });
  }
}

bool X86Machine::wake(uint32_t apic_id, uint64_t vector) {
  const int c = bus_.cpu_of(apic_id);
  if (c < 0 || cpus_[c]->state() != arch::VcpuState::Off) return false;
  cpus_[c]->reset(vector, 0);
  ++attention_;  // it runs now: a CPU running alone ends its long quantum
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", c),
                 fmt::format("started at {:#x} in 64-bit mode (wakeup mailbox)", vector),
                 {{"cpu", uint64_t(c)}, {"entry", vector}}};
  });
  return true;
}

std::optional<uint64_t> X86Machine::next_timer_event(bool idle) const {
  std::optional<uint64_t> at;
  auto consider = [&](std::optional<uint64_t> t) {
    if (t && (!at || *t < *at)) at = t;
  };
  // An idle machine jumps only to an event that changes something: not to a PIT edge
  // while IRQ 0 is latched at the 8259, nor to a timer whose vector is masked or pending
  // already (otherwise a CPU halted with interrupts off would be jumped past for ever).
  if (!idle || (pic_.irr(0) & 1) == 0) consider(pit_.next_edge());
  for (unsigned c = 0; c < cpus_.size(); ++c)
    if (!idle || bus_.apic(c).timer_expiry_matters()) consider(bus_.apic(c).timer_expiry());
  return at;
}

bool X86Machine::others_need_turn(unsigned running) const {
  for (unsigned o = 0; o < cpus_.size(); ++o) {
    if (o == running) continue;
    const arch::VcpuState st = cpus_[o]->state();
    if (st == arch::VcpuState::Running && solo_) return true;
    if (st == arch::VcpuState::WaitingForInterrupt && cpus_[o]->halted() &&
        (bus_.apic(o).wake_pending() || cpus_[o]->extint_pending()))
      return true;
    if (st == arch::VcpuState::WaitingForInterrupt && !cpus_[o]->halted()) return true;  // INIT or Start Up pending
  }
  return false;
}

std::string X86Machine::disassemble(unsigned /*cpu*/, uint64_t pc) const {
  return disassembler_.at(mem_, pc);
}

std::optional<arch::StopRequest> X86Machine::machine_stop() const {
  if (pm_.power_off_requested())
    return arch::StopRequest{arch::StopKind::SystemOff, "power off (PM1a_CNT SLP_EN)", 0};
  if (auto st = debug_exit_.exit_requested())
    return arch::StopRequest{arch::StopKind::Exit, fmt::format("isa-debug-exit: status {:#x}", *st),
                             int(*st & 0xFF)};
  return std::nullopt;
}

arch::RunResult X86Machine::run(uint64_t entry, uint64_t max_insns) {
  if (!started_) {
    started_ = true;
    if (multiboot_info_)
      cpus_[0]->start_in_boot_rom(boot_rom::Path::Multiboot, *multiboot_info_);  // entry is in the ROM
    else
      cpus_[0]->reset(entry, 0);
  }
  // Each CPU wrapped so the machine knows which one runs (its clock counts that one's
  // instructions in flight) and how many run side by side (virtual_time.h).
  struct Tracked final : arch::Vcpu {
    X86Machine* m;
    X86Vcpu* v;
    unsigned index() const override { return v->index(); }
    arch::VcpuState state() const override { return v->state(); }
    void service_interrupts() override {
      // The PIT's edges and this CPU's APIC timer expiries due by now come first.
      m->pit_.update();
      m->bus_.apic(v->index()).update_timer();
      v->service_interrupts();
    }
    arch::StepResult step(uint64_t n, bool exact) override {
      unsigned running = 0;
      for (const auto& c : m->cpus_) running += c->state() == arch::VcpuState::Running;
      m->time_.set_sharing(running);
      m->running_cpu_ = int(v->index());
      // A quantum ends where the next timer event is due (the PIT's edge, any CPU's APIC
      // timer), so its interrupt is raised at the instruction boundary where the clock
      // reaches it (as the AArch64 timers are).
      uint64_t limit = n;
      if (const auto at = m->next_timer_event(false)) limit = std::min(limit, std::max<uint64_t>(1, m->time_.insns_until(*at)));
      auto r = v->step(limit, exact && limit == n);
      if (!r.stop) v->take_nmi_at_boundary();  // x86_vcpu.h: an NMI does not wait for the next turn
      m->running_cpu_ = -1;
      m->time_.retire(r.executed, v->stall_of_step());
      return r;
    }
    uint64_t pc() const override { return v->pc(); }
  };
  std::vector<Tracked> tracked(cpus_.size());
  std::vector<arch::Vcpu*> cpus;
  for (unsigned c = 0; c < cpus_.size(); ++c) {
    tracked[c].m = this;
    tracked[c].v = cpus_[c].get();
    cpus.push_back(&tracked[c]);
  }
  scheduler_.set_quantum_policy([this](unsigned c) {
    solo_ = true;
    for (unsigned o = 0; o < cpus_.size(); ++o)
      if (o != c && cpus_[o]->state() == arch::VcpuState::Running) solo_ = false;
    return solo_ ? std::max(cfg_.quantum, cfg_.solo_quantum) : cfg_.quantum;
  });
  arch::RunResult r = scheduler_.run(
      cpus, max_insns, [this] { return machine_stop(); },
      [this](unsigned cpu, uint64_t pc) { return disassemble(cpu, pc); },
      // The 16550's idle point (uart16550.h): a guest halted waiting on COM1 gets the next
      // input byte; its interrupt wakes a CPU. Otherwise time moves to the PIT's next edge,
      // unless IRQ 0 is already latched at the PIC (another edge would change nothing:
      // a CPU that waits with interrupts off is a deadlock, not an endless jump).
      [this] {
        if (uart_.feed_at_idle()) return true;
        const auto at = next_timer_event(true);
        if (!at || !time_.advance_to(*at)) return false;
        pit_.update();
        for (unsigned c = 0; c < cpus_.size(); ++c) bus_.apic(c).update_timer();
        return true;
      });
  // A pause is not a stop: the run goes on with the next run() (or in the machine restored
  // from a snapshot taken here), so the trace says nothing and the two runs trace alike.
  if (r.stop == arch::StopKind::Paused) return r;
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, "x86", fmt::format("stop ({}): {}", arch::to_string(r.stop), r.message),
                 {{"pc", r.pc}, {"status", uint64_t(r.exit_status)}}};
  });
  return r;
}

void X86Machine::set_trace_instructions(bool on) {
  trace_insns_ = on;
  for (auto& cpu : cpus_) {
    const unsigned c = cpu->index();
    cpu->set_on_insn(on ? std::function<void(uint64_t, uint32_t)>([this, c](uint64_t address, uint32_t) {
      if (trace_.on())
        trace_.emit(Event{EventKind::GuestInsn, fmt::format("cpu{}", c),
                          fmt::format("{:#x}: {}", address, disassemble(c, address)), {{"pc", address}}});
    })
                        : std::function<void(uint64_t, uint32_t)>());
  }
}

}  // namespace irqremap::x86
