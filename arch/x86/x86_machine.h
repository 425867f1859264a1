#pragma once
// The x86-64 machine (docs/DESIGN.md "Machines"; issue 7): N Unicorn x86-64 vCPUs sharing one
// GuestMemory, a local APIC per CPU behind LapicBus, COM1, isa-debug-exit, ACPI PM1a
// power-off, the ACPI multiprocessor wakeup mailbox, and slots for the VT-d unit and the
// common device. Memory and I/O map: x86_map.h.
//
// Running: CPU 0 starts at the image's entry in 64-bit mode; APs start through the
// mailbox. A deterministic round-robin scheduler runs each running CPU for a quantum of
// instructions, vectoring pending interrupts between quanta; halted CPUs wait for one.
// The run stops at power-off (status 0), isa-debug-exit ((value << 1) | 1), the
// instruction budget, a guest fault or unsupported instruction, or when every CPU waits
// for an interrupt that cannot come; each non-power-off stop says what and where (CPU,
// PC, disassembled instruction).
//
// MSIs (MsiSink): with the VT-d unit present every MSI goes through vtd::Unit::translate,
// which remaps (IRE=1), passes compatibility format through (IRE=0, or CFIS=1) or faults,
// and delivers into the LapicBus; its fault and invalidation-completion events reach the
// APICs the same way. Without a unit, MSIs take the compatibility path (compat_msi.h).
#include <cstdint>
#include <deque>
#include <optional>
#include <expected>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "arch/common/disassembler.h"
#include "arch/common/mmio_binding.h"
#include "arch/common/scheduler.h"
#include "arch/common/virtual_time.h"
#include "arch/x86/debug_exit.h"
#include "arch/x86/phase_port.h"
#include "arch/x86/fw_cfg.h"
#include "arch/x86/io_port.h"
#include "arch/x86/ioapic.h"
#include "arch/x86/pci/edu.h"
#include "arch/x86/pci/host_bridge.h"
#include "arch/x86/pci/msg_device_function.h"
#include "arch/x86/pci/pci_bus.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/lapic_window.h"
#include "arch/x86/pc_testdev.h"
#include "arch/x86/pic8259.h"
#include "arch/x86/pit8254.h"
#include "arch/x86/pm_control.h"
#include "arch/x86/uart16550.h"
#include "arch/x86/wakeup_mailbox.h"
#include "arch/x86/x86_map.h"
#include "arch/x86/x86_vcpu.h"
#include "device/msg_device.h"
#include "remap/guest_memory.h"
#include "remap/mmio.h"
#include "remap/msi.h"
#include "remap/remapper.h"
#include "remap/trace.h"
#include "remap/vtd/unit.h"

struct uc_struct;

namespace irqremap::x86 {

struct X86MachineConfig {
  unsigned cpus = 1;                      // 1..map::kMaxCpus
  uint64_t ram_size = map::kRamSize;
  std::function<void(char)> uart_out;     // COM1 transmit (default: stdout)
  Uart16550::Source uart_in;              // COM1 receive (uart16550.h; default: no input)
  uint64_t quantum = 200;                 // instructions per CPU per scheduling round
  // The same for a CPU that runs alone (every other one off or halted): nothing waits for
  // its turn to end, and each quantum is a uc_emu_start. Whatever lets another CPU run (an
  // IPI, an MSI, a mailbox wake-up) ends it at its next block boundary (x86_vcpu.h).
  uint64_t solo_quantum = 1'000'000;
  // The VT-d unit at map::kVtdBase (on by default, as q35 with intel-iommu,intremap=on).
  // The interrupt entry cache is on, as on hardware, so a missing IEC invalidation shows.
  bool vtd = true;
  vtd::Config vtd_config{.nfr = 4, .iec_entries = 64};
  // The common device at map::kDeviceBase with requester ID map::kDeviceRid (00:03.0).
  bool device = true;
  unsigned device_slots = 8;
  // Multiboot command line as QEMU builds it: "<kernel_name> <bootargs>" (-kernel, -append).
  std::string kernel_name;
  std::string bootargs;
  // What the CPUs offer beyond Unicorn's own CPUID (cpuid_leaves.h): all of it unless
  // taken away (`run --cpu qemu64,-x2apic`, as QEMU's -cpu).
  CpuFeatures features;
  // The string a multiboot module (load()'s `initrd`) carries: QEMU gives the -initrd
  // file's name.
  std::string initrd_name;
  // PCI bus 0 (mechanism #1), the q35 host bridge at 00:00.0, QEMU's edu at 00:01.0, the
  // common device at 00:03.0, all left as SeaBIOS leaves them (pci/seabios_q35.h).
  bool edu = true;
  // The I/O APIC's requester ID: none by default, as QEMU sends I/O APIC interrupts (VT-d
  // then skips source-ID verification; README "Interrupts"); a value gives it a verified
  // source ID, as on hardware where the DMAR table's device scope names it.
  std::optional<uint16_t> ioapic_source_id;
};

// Stops (arch::RunResult): SystemOff = PM1a_CNT SLP_EN (status 0); Exit = isa-debug-exit
// (status (value << 1) | 1, low 8 bits); Budget; GuestFault (exception, #GP from an APIC
// MSR, bad IDT gate, unmapped access); Unsupported (an instruction Unicorn cannot
// execute); Deadlock (every running CPU halted with nothing that can wake it).

class X86Machine final : public MsiSink, public pci::DmaTranslator {
 public:
  static std::expected<std::unique_ptr<X86Machine>, std::string> create(const X86MachineConfig& cfg);
  ~X86Machine() override;
  X86Machine(const X86Machine&) = delete;
  X86Machine& operator=(const X86Machine&) = delete;

  // Loads a multiboot kernel (an ELF32, or any image whose multiboot header has address
  // fields; arch/common/multiboot.h) to be entered in 32-bit protected mode through the
  // boot ROM with EBX = the information structure, as QEMU -kernel does; otherwise an
  // ELF64 x86-64 executable (PT_LOAD segments at their physical addresses) or, when `image`
  // is not an ELF, a raw image at map::kKernelLoad (arch::load_image), entered in 64-bit
  // mode. Returns the entry point. `initrd` (QEMU -initrd with a multiboot kernel) becomes
  // the kernel's one multiboot module; kvm-unit-tests reads its environment from it. An
  // image that is not multiboot takes no initrd.
  std::expected<uint64_t, std::string> load(std::span<const std::byte> image,
                                            std::optional<std::span<const std::byte>> initrd = std::nullopt);
  // Runs until a stop (see above) with the common scheduler; CPU 0 starts at `entry` on
  // the first call. The budget counts over all CPUs and across calls.
  arch::RunResult run(uint64_t entry, uint64_t max_insns);

  // The VT-d unit, or nullptr when configured without one.
  vtd::Unit* vtd() { return vtd_.get(); }
  // The common device, or nullptr when configured without one.
  device::MsgDevice* device() { return device_.get(); }
  // Hazards the machine's watch saw on remapped deliveries (irte_check.h); each is also
  // emitted as EventKind::Hazard on unit "x86".
  const std::vector<std::string>& hazards() const { return hazards_; }
  // Attaches an MMIO device (the common device at map::kDeviceBase).
  std::expected<void, std::string> attach_mmio(uint64_t base, MmioDevice& dev);

  // MsiSink: an MSI from a device (see above).
  void msi_write(const MsiWrite& msi) override;
  // DmaTranslator: a bus master's DMA through VT-d DMA remapping (untranslated without a
  // unit or with GSTS.TES=0).
  std::expected<Mapping, std::string> dma_translate(uint16_t rid, uint64_t iova, uint64_t size,
                                                    bool write) override;
  pci::PciBus& pci() { return pci_; }
  IoApic& ioapic() { return *ioapic_; }
  PcTestdev& testdev() { return testdev_; }
  Pic8259Pair& pic() { return pic_; }
  Pit8254& pit() { return pit_; }
  // QEMU's edu device at 00:01.0, or nullptr when configured without it.
  pci::EduDevice* edu() { return edu_.get(); }

  GuestMemory& memory() { return mem_; }
  FwCfg& fw_cfg() { return fw_cfg_; }
  // Whether load() took the multiboot path (CPU 0 then starts in the boot ROM).
  bool multiboot() const { return multiboot_info_.has_value(); }
  LapicBus& apics() { return bus_; }
  X86Vcpu& cpu(unsigned i) { return *cpus_.at(i); }
  unsigned cpu_count() const { return unsigned(cpus_.size()); }
  bool cpu_running(unsigned i) const { return cpus_.at(i)->state() != arch::VcpuState::Off; }
  uint64_t instructions() const { return scheduler_.instructions(); }
  // A debugger's hook between quanta (arch/x86/gdb_x86.h) goes here.
  arch::Scheduler& scheduler() { return scheduler_; }
  // Deterministic virtual time: instructions retired by every CPU, the running step's
  // included (timelines stamp events with it; tools/timeline_sink.h).
  uint64_t now() const { return time_.timeline_now(); }
  // The time-stamp counter's clock (time_stamp_counter.h): kTscTicksPerInsn ticks for
  // every instruction one CPU retires, shared between the CPUs that run (virtual_time.h).
  uint64_t tsc_now() const { return time_.now(); }
  static constexpr uint64_t kTscTicksPerInsn = 1;
  static constexpr uint64_t kTscHz = 1'000'000'000;
  // The machine's own events (guest instructions when tracing, MMIO, MSIs, stops) and
  // those of the APICs, vCPUs and mailbox.
  void attach(TraceSink* sink);
  void detach(TraceSink* sink);
  Trace& trace() { return trace_; }
  // Emit one GuestInsn event per instruction (expensive; --trace).
  // Only a traced run pays for a callback per instruction into the machine.
  void set_trace_instructions(bool on);

  std::string disassemble(unsigned cpu, uint64_t pc) const;

  // Machine snapshots (snapshot/snapshot_file.h, x86_machine_state.cpp): every
  // part's state, between quanta (a run paused with scheduler().pause_at() or
  // request_pause(), or before the first run). A machine restored from one is started:
  // run() then ignores `entry` and goes on where the saved machine paused.
  void state(snapshot::Io& io);
  // One line naming everything that shapes the machine: a file is restored only into a
  // machine whose line is the same.
  std::string snapshot_configuration() const;

 private:
  explicit X86Machine(const X86MachineConfig& cfg);
  std::expected<void, std::string> init();
  std::expected<void, std::string> init_pci();
  bool wake(uint32_t apic_id, uint64_t vector);
  // Binds CPU `c`'s xAPIC page at its APIC's base in its engine unless a window is there
  // already (lapic_window.h). A base that overlaps RAM or another device gets no window:
  // the SDM leaves such a placement undefined and the address keeps what was there.
  void bind_lapic_window(unsigned c);
  std::optional<arch::StopRequest> machine_stop() const;
  // Whether a CPU other than `running` should have its turn now (x86_vcpu.h
  // set_attention): one waits with an interrupt or a start-up to take, or one runs while
  // `running` has a quantum meant for a CPU that runs alone.
  bool others_need_turn(unsigned running) const;
  // The clock time of the next timer event: the PIT's edge, an APIC timer's expiry; for an
  // idle machine only those that change something (x86_machine.cpp).
  std::optional<uint64_t> next_timer_event(bool idle) const;

  X86MachineConfig cfg_;
  GuestMemory mem_;
  LapicBus bus_;
  IoPortBus io_;
  Uart16550 uart_;
  DebugExit debug_exit_;
  PhasePort phase_port_;  // firmware phase markers (arch/common/phase_marker.h)
  PmControl pm_;
  WakeupMailbox mailbox_;
  FwCfg fw_cfg_;
  std::optional<uint32_t> multiboot_info_;  // EBX for a multiboot kernel
  Trace trace_;
  arch::MmioBindings bindings_{trace_};
  std::deque<std::pair<unsigned, LapicWindow>> lapic_windows_;  // (CPU, window): stable addresses
  arch::Disassembler disassembler_{arch::IsaKind::X86_64};
  arch::Scheduler scheduler_;
  std::vector<uc_struct*> engines_;
  std::vector<std::unique_ptr<X86Vcpu>> cpus_;
  std::unique_ptr<vtd::Unit> vtd_;
  std::unique_ptr<device::MsgDevice> device_;
  pci::PciBus pci_{map::kPciWindow, map::kPciWindowSize};
  pci::Q35HostBridge host_bridge_;
  std::unique_ptr<pci::EduDevice> edu_;
  std::unique_ptr<pci::MsgDeviceFunction> device_fn_;
  std::unique_ptr<IoApic> ioapic_;
  // QEMU's pc-testdev: its ISA lines drive the I/O APIC's inputs (pc_testdev.h).
  PcTestdev testdev_{[this](unsigned pin, bool level) { ioapic_->set_irq(pin, level); }};
  // The 8259s (ISA IRQs to CPU 0's LINT0) and the 8254, whose counter 0 is ISA IRQ 0: the
  // PICs' IR0 and the I/O APIC's input 2 (as on QEMU's q35).
  Pic8259Pair pic_;
  Pit8254 pit_{[this] { return tsc_now(); }, [this](bool level) {
                 pic_.set_irq(0, level);
                 ioapic_->set_irq(2, level);
               }};
  std::vector<std::string> hazards_;
  bool started_ = false;
  bool trace_insns_ = false;
  arch::VirtualTime time_{kTscTicksPerInsn, 1};
  int running_cpu_ = -1;   // the CPU whose quantum runs (-1 between quanta)
  bool solo_ = false;      // that quantum is a long one (solo_quantum)
  uint64_t attention_ = 0;  // moves whenever a local APIC changes (x86_vcpu.h)
};

}  // namespace irqremap::x86
