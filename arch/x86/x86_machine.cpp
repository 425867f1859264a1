#include "arch/x86/x86_machine.h"

#include <capstone/capstone.h>
#include <fmt/format.h>
#include <unicorn/unicorn.h>

#include <cstdio>
#include <cstring>

#include "arch/x86/compat_msi.h"
#include "arch/x86/interrupt_entry.h"
#include "arch/x86/irte_check.h"

namespace irqremap::x86 {

namespace {

// ELF64 little-endian header fields (System V gABI, "ELF Header" / "Program Header").
constexpr uint16_t kEmX86_64 = 62;
constexpr uint32_t kPtLoad = 1;

template <typename T>
T le(std::span<const std::byte> b, size_t off) {
  return T(bits::load_le_n(b.data() + off, sizeof(T)));
}

}  // namespace

X86Machine::X86Machine(const X86MachineConfig& cfg)
    : cfg_(cfg),
      bus_(cfg.cpus),
      uart_(cfg.uart_out ? cfg.uart_out : [](char c) { std::fputc(c, stdout); std::fflush(stdout); }),
      mailbox_(cfg.cpus, [this](uint32_t apic, uint64_t vec) { return wake(apic, vec); }) {}

X86Machine::~X86Machine() {
  cpus_.clear();  // hooks go before their engines
  for (uc_engine* uc : engines_) uc_close(uc);
  if (capstone_ != 0) cs_close(&capstone_);
}

std::expected<std::unique_ptr<X86Machine>, std::string> X86Machine::create(const X86MachineConfig& cfg) {
  if (cfg.cpus < 1 || cfg.cpus > map::kMaxCpus)
    return std::unexpected(fmt::format("--smp {}: the x86 machine has 1 to {} CPUs", cfg.cpus, map::kMaxCpus));
  if (cfg.quantum == 0) return std::unexpected("scheduler quantum must be at least one instruction");
  std::unique_ptr<X86Machine> m(new X86Machine(cfg));
  if (auto ok = m->init(); !ok) return std::unexpected(ok.error());
  return m;
}

std::expected<void, std::string> X86Machine::init() {
  auto ram = mem_.add_ram(map::kRamBase, cfg_.ram_size, "ram");
  if (!ram) return std::unexpected(ram.error());
  std::string err;
  if (!io_.add(map::kCom1Port, uart_, &err) || !io_.add(map::kDebugExitPort, debug_exit_, &err) ||
      !io_.add(PmControl::kPort, pm_, &err))
    return std::unexpected(err);
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &capstone_) != CS_ERR_OK) capstone_ = 0;
  for (unsigned c = 0; c < cfg_.cpus; ++c) {
    uc_engine* uc = nullptr;
    if (uc_err e = uc_open(UC_ARCH_X86, UC_MODE_64, &uc); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
    engines_.push_back(uc);
    if (uc_err e = uc_mem_map_ptr(uc, ram->base, ram->size, UC_PROT_ALL, ram->host); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: mapping RAM: {}", uc_strerror(e)));
    cpus_.push_back(std::make_unique<X86Vcpu>(c, uc, mem_, bus_.apic(c), io_));
    running_.push_back(false);
    X86Vcpu& v = *cpus_.back();
    v.set_after_out([this, uc] {
      if (debug_exit_.exit_requested() || pm_.power_off_requested()) uc_emu_stop(uc);
    });
    v.set_on_insn([this, c](uint64_t address, uint32_t) {
      ++insns_;
      if (trace_insns_ && trace_.on())
        trace_.emit(Event{EventKind::GuestInsn, fmt::format("cpu{}", c),
                          fmt::format("{:#x}: {}", address, disassemble(c, address)),
                          {{"pc", address}}});
    });
    if (auto ok = map_mmio(c, map::kLapicBase, bus_.apic(c)); !ok) return ok;
    if (auto ok = map_mmio(c, map::kWakeupMailbox, mailbox_); !ok) return ok;
  }
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
    if (auto ok = attach_mmio(map::kDeviceBase, *device_); !ok) return ok;
  }
  return {};
}

void X86Machine::attach(TraceSink* sink) {
  trace_.attach(sink);
  bus_.attach(sink);
  mailbox_.trace().attach(sink);
  if (device_) device_->trace().attach(sink);
  for (auto& c : cpus_) c->trace().attach(sink);
}

void X86Machine::detach(TraceSink* sink) {
  trace_.detach(sink);
  bus_.detach(sink);
  mailbox_.trace().detach(sink);
  if (device_) device_->trace().detach(sink);
  for (auto& c : cpus_) c->trace().detach(sink);
}

uint64_t X86Machine::mmio_read_cb(uc_struct*, uint64_t off, unsigned size, void* user) {
  auto* b = static_cast<MmioBinding*>(user);
  const uint64_t v = b->dev->mmio_read(off, size);
  b->machine->trace_.emit_lazy([&] {
    return Event{EventKind::RegRead, fmt::format("cpu{}", b->cpu),
                 fmt::format("MMIO read {} {:#x} ({}+{:#x}, {} bytes) -> {:#x}", b->dev->mmio_name(),
                             b->base + off, b->dev->mmio_name(), off, size, v),
                 {{"address", b->base + off}, {"value", v}}};
  });
  return v;
}

void X86Machine::mmio_write_cb(uc_struct*, uint64_t off, unsigned size, uint64_t value, void* user) {
  auto* b = static_cast<MmioBinding*>(user);
  b->machine->trace_.emit_lazy([&] {
    return Event{EventKind::RegWrite, fmt::format("cpu{}", b->cpu),
                 fmt::format("MMIO write {} {:#x} ({}+{:#x}, {} bytes) <- {:#x}", b->dev->mmio_name(),
                             b->base + off, b->dev->mmio_name(), off, size, value),
                 {{"address", b->base + off}, {"value", value}}};
  });
  b->dev->mmio_write(off, size, value);
}

std::expected<void, std::string> X86Machine::map_mmio(unsigned cpu, uint64_t base, MmioDevice& dev) {
  const uint64_t size = (dev.mmio_size() + 0xFFF) & ~uint64_t{0xFFF};
  bindings_.push_back(MmioBinding{this, &dev, cpu, base});
  MmioBinding* b = &bindings_.back();
  if (uc_err e = uc_mmio_map(engines_[cpu], base, size, &X86Machine::mmio_read_cb, b,
                             &X86Machine::mmio_write_cb, b);
      e != UC_ERR_OK)
    return std::unexpected(fmt::format("mapping {} at {:#x}: {}", dev.mmio_name(), base, uc_strerror(e)));
  return {};
}

std::expected<void, std::string> X86Machine::attach_mmio(uint64_t base, MmioDevice& dev) {
  for (unsigned c = 0; c < cpus_.size(); ++c)
    if (auto ok = map_mmio(c, base, dev); !ok) return ok;
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

std::expected<uint64_t, std::string> X86Machine::load(std::span<const std::byte> img) {
  const bool elf = img.size() >= 64 && std::memcmp(img.data(), "\x7f" "ELF", 4) == 0;
  if (!elf) {
    if (img.empty()) return std::unexpected("empty image");
    if (auto w = mem_.write(map::kKernelLoad, img); !w)
      return std::unexpected(fmt::format("raw image: {}", w.error().describe()));
    return map::kKernelLoad;
  }
  if (le<uint8_t>(img, 4) != 2 || le<uint8_t>(img, 5) != 1)
    return std::unexpected("ELF: not a 64-bit little-endian image");
  if (le<uint16_t>(img, 18) != kEmX86_64)
    return std::unexpected(fmt::format("ELF: machine {} is not x86-64 (62)", le<uint16_t>(img, 18)));
  const uint64_t entry = le<uint64_t>(img, 24), phoff = le<uint64_t>(img, 32);
  const uint16_t phentsize = le<uint16_t>(img, 54), phnum = le<uint16_t>(img, 56);
  if (phentsize < 56 || phoff > img.size() || uint64_t(phnum) * phentsize > img.size() - phoff)
    return std::unexpected("ELF: program headers lie outside the file");
  unsigned loaded = 0;
  for (unsigned i = 0; i < phnum; ++i) {
    const size_t ph = phoff + size_t(i) * phentsize;
    if (le<uint32_t>(img, ph) != kPtLoad) continue;
    const uint64_t off = le<uint64_t>(img, ph + 8), paddr = le<uint64_t>(img, ph + 24),
                   filesz = le<uint64_t>(img, ph + 32), memsz = le<uint64_t>(img, ph + 40);
    if (filesz > memsz || off > img.size() || filesz > img.size() - off)
      return std::unexpected(fmt::format("ELF: segment {} lies outside the file", i));
    if (!mem_.contains(paddr, memsz ? memsz : 1))
      return std::unexpected(fmt::format("ELF: segment {} at {:#x} ({:#x} bytes) is outside RAM", i, paddr, memsz));
    (void)mem_.write(paddr, img.subspan(off, filesz));
    if (memsz > filesz) std::memset(mem_.host_ptr(paddr, memsz) + filesz, 0, memsz - filesz);
    ++loaded;
  }
  if (loaded == 0) return std::unexpected("ELF: no PT_LOAD segment");
  return entry;
}

bool X86Machine::wake(uint32_t apic_id, uint64_t vector) {
  const int c = bus_.cpu_of(apic_id);
  if (c < 0 || running_[c]) return false;
  running_[c] = true;
  cpus_[c]->reset(vector, 0);
  trace_.emit_lazy([&] {
    return Event{EventKind::Note, fmt::format("cpu{}", c),
                 fmt::format("started at {:#x} in 64-bit mode (wakeup mailbox)", vector),
                 {{"cpu", uint64_t(c)}, {"entry", vector}}};
  });
  return true;
}

std::string X86Machine::disassemble(unsigned cpu, uint64_t pc) const {
  (void)cpu;
  const std::byte* p = nullptr;
  size_t n = 15;
  while (n > 0 && (p = mem_.host_ptr(pc, n)) == nullptr) --n;
  if (p == nullptr || capstone_ == 0) return "";
  cs_insn* insn = nullptr;
  const size_t count = cs_disasm(capstone_, reinterpret_cast<const uint8_t*>(p), n, pc, 1, &insn);
  if (count == 0) return "(undecodable)";
  std::string s = fmt::format("{} {}", insn[0].mnemonic, insn[0].op_str);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  cs_free(insn, count);
  return s;
}

X86RunResult X86Machine::stop(X86Stop why, unsigned cpu, std::string what) {
  X86RunResult r;
  r.stop = why;
  r.cpu = cpu;
  r.pc = cpus_[cpu]->rip();
  r.insn = disassemble(cpu, r.pc);
  r.instructions = insns_;
  r.exit_status = 1;
  r.message = fmt::format("{} (cpu{}, PC {:#x}: {})", what, cpu, r.pc, r.insn.empty() ? "?" : r.insn);
  trace_.emit_lazy([&] { return Event{EventKind::Note, "x86", "stop: " + r.message, {{"pc", r.pc}}}; });
  return r;
}

X86RunResult X86Machine::run(uint64_t entry, uint64_t max_insns) {
  if (!started_) {
    started_ = true;
    running_[0] = true;
    cpus_[0]->reset(entry, 0);
  }
  for (;;) {
    bool progressed = false;
    for (unsigned c = 0; c < cpus_.size(); ++c) {
      if (pm_.power_off_requested()) {
        X86RunResult r;
        r.stop = X86Stop::PowerOff;
        r.cpu = c;
        r.instructions = insns_;
        r.message = "power off (PM1a_CNT SLP_EN)";
        return r;
      }
      if (auto st = debug_exit_.exit_requested()) {
        X86RunResult r;
        r.stop = X86Stop::DebugExit;
        r.exit_status = int(*st & 0xFF);
        r.instructions = insns_;
        r.message = fmt::format("isa-debug-exit: status {:#x}", *st);
        return r;
      }
      if (!running_[c]) continue;
      X86Vcpu& v = *cpus_[c];
      v.service_interrupts();
      if (auto e = v.take_error()) return stop(X86Stop::GuestFault, c, *e);
      if (v.halted()) continue;
      if (insns_ >= max_insns)
        return stop(X86Stop::Budget, c, fmt::format("instruction budget of {} exhausted", max_insns));
      const uint64_t q = std::min(cfg_.quantum, max_insns - insns_);
      const uc_err e = uc_emu_start(engines_[c], v.rip(), 0, 0, q);
      progressed = true;
      if (auto err = v.take_error()) return stop(X86Stop::GuestFault, c, *err);
      if (e == UC_ERR_INSN_INVALID)
        return stop(X86Stop::Unsupported, c, "invalid or unsupported instruction");
      if (e != UC_ERR_OK)
        return stop(X86Stop::GuestFault, c, fmt::format("guest fault: {}", uc_strerror(e)));
    }
    if (!progressed && !pm_.power_off_requested() && !debug_exit_.exit_requested()) {
      // Nobody ran: every running CPU is halted. Wake-able ones are serviced next round;
      // if none can be woken, nothing ever will.
      bool wakeable = false;
      for (unsigned c = 0; c < cpus_.size(); ++c)
        if (running_[c] && (cpus_[c]->rflags() & kRflagsIF) != 0 && bus_.apic(c).wake_pending())
          wakeable = true;
      if (!wakeable) {
        unsigned first = 0;
        while (first + 1 < cpus_.size() && !running_[first]) ++first;
        return stop(X86Stop::Deadlock, first,
                    "every running CPU is halted and no interrupt can wake one");
      }
    }
  }
}

}  // namespace irqremap::x86
