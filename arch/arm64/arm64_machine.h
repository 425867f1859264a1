#pragma once
// The AArch64 machine (docs/DESIGN.md "Machines"; issue 6): QEMU `virt` with gic-version=3,
// its=on, as far as firmware uses it (virt_map.h): N Unicorn AArch64 vCPUs sharing one
// GuestMemory, the GICv3 distributor, the ITS, one redistributor per CPU, a GICv3 CPU
// interface per CPU (ICC_* system registers), the PL011 UART, PSCI over HVC #0, and a
// slot for the common device. It reads like the x86 machine (arch/x86/x86_machine.h):
// both run on arch/common (engines, MMIO bindings, loader, disassembler, scheduler).
//
// Booting: QEMU's -kernel protocol (virt_boot.h). `load` puts the image in RAM (or, for
// ELF segments below RAM, in the read-only flash banks), the initrd, and the device tree
// of this configuration (fdt_virt.h) where QEMU puts it; guest stores to flash change
// nothing (arch/common/rom_writes.h); CPU 0 starts at the entry (EL1h,
// MMU off, DAIF masked, as QEMU -kernel without EL2) with x0 = the tree for a Linux
// kernel (an arm64 Image or a raw image), 0 for an ELF, and x1..x3 = 0. The others start
// through PSCI CPU_ON.
//
// Running: The deterministic round-robin scheduler
// (arch/common/scheduler.h) runs each CPU for a quantum, taking IRQs between quanta. The
// run stops at PSCI SYSTEM_OFF (status 0) or SYSTEM_RESET (status 0, said in the
// message), the instruction budget, a guest fault or unsupported instruction, or when
// every CPU is off or waits in WFI with nothing pending (deadlock); every stop but a
// power-off says what and where (CPU, PC, disassembled instruction).
//
// Time: one deterministic virtual clock (arch/common/virtual_time.h) counts one tick of the
// 62.5 MHz system counter per `insns_per_tick` instructions retired by each running CPU
// (the running CPUs share the clock: four CPUs that each retire 16 instructions move it by
// one tick). Each CPU has a generic timer (generic_timer.h) on it, raising PPI 27 (virtual) and
// PPI 30 (physical) at its redistributor. A quantum never runs past the earliest armed
// timer deadline, so a timer fires at the instruction boundary where the counter reaches
// it; when every CPU waits in WFI, time jumps to the earliest armed deadline instead of
// reporting a deadlock. Each CPU also has a PMUv3 (pmu.h) counting its retired
// instructions, whose overflow interrupt is PPI 23; a quantum never runs past the
// overflow of a counter whose interrupt is enabled either.
//
// MSIs: the machine is the device's MsiSink. A message to GITS_TRANSLATER goes to the
// ITS with the writer's DeviceID (the common device: virt::kDeviceId); a CPU store to
// GITS_TRANSLATER carries DeviceID 0, as on QEMU (the ITS's own MMIO path does that).
// Any other MSI address is dropped and traced (the virt GICv3 has no GICv2m frame here).
// The common device sits at virt::kDeviceBase (a hole in the virt map) with DeviceID
// virt::kDeviceId.
//
// PCI: a PCIe generic ECAM host (QEMU's gpex; arch/common/pci/ecam_host.h) with its host
// bridge at 00:00.0, its ECAM, MMIO (32- and 64-bit) and PIO windows where virt has them
// (virt_map.h), and the configured PCI devices (Arm64MachineConfig::pci_devices) on bus 0.
// A device's DMA reaches guest RAM untranslated (virt without an SMMU); its MSI-X messages
// are MSIs from requester ID bus << 8 | devfn, which the device tree's msi-map makes the
// ITS DeviceID. INTx drives the distributor's SPI the device tree's interrupt-map names.
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arch/arm64/arm64_vcpu.h"
#include "arch/arm64/generic_timer.h"
#include "arch/arm64/pmu.h"
#include "arch/arm64/gic_cpu_interface.h"
#include "arch/arm64/gicv3_distributor.h"
#include "arch/arm64/gicv3_redistributor.h"
#include "arch/arm64/pl011.h"
#include "arch/arm64/psci.h"
#include "arch/arm64/virt_map.h"
#include "arch/common/disassembler.h"
#include "arch/common/mmio_binding.h"
#include "arch/common/pci/ecam_host.h"
#include "arch/common/pci/gpex_root.h"
#include "arch/common/rom_writes.h"
#include "arch/common/scheduler.h"
#include "arch/common/virtio/virtio_pci.h"
#include "arch/common/virtual_time.h"
#include "device/msg_device.h"
#include "remap/guest_memory.h"
#include "remap/its/its.h"
#include "remap/mmio.h"
#include "remap/msi.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arm64 {

struct Arm64MachineConfig {
  unsigned cpus = 1;                  // 1..virt::kMaxCpus
  uint64_t ram_size = virt::kDefaultRamSize;  // from virt::kRamBase; 1 MiB..virt::kRamWindowSize
  std::string bootargs;               // /chosen/bootargs (QEMU -append)
  std::function<void(char)> uart_out; // PL011 transmit (default: stdout)
  Pl011::Source uart_in;              // PL011 receive (pl011.h; default: no input)
  uint64_t quantum = 200;             // instructions per CPU per scheduling round
  uint64_t solo_quantum = 1'000'000;  // the same for a CPU that runs alone (the others off or in WFI)
  // Instructions one CPU retires per tick of the 62.5 MHz system counter (16 ns): 16 makes
  // every running CPU a core of one instruction per nanosecond (1,000 MIPS), the order of a
  // Cortex-A57 at 1-2 GHz and of what QEMU's TCG runs on a host today, so a kernel's
  // timeouts, delay loops and watchdogs meet the speed they were written for (at 16 ticks
  // per instruction Linux saw a 3.9 MIPS machine and printed RCU stalls).
  uint64_t insns_per_tick = 1;
  its::ItsConfig its{};               // QEMU's GITS_TYPER by default
  // The common device (device/README.md) at virt::kDeviceBase, its MSIs carrying
  // DeviceID virt::kDeviceId (device_config.source is set to it).
  bool device = true;
  device::DeviceConfig device_config{};
  // PCI devices on the generic ECAM host's bus 0, by QEMU -device name, each at function 0
  // of the next free slot after the host bridge (00:00.0): kPciDeviceNames lists the
  // known ones; another name makes create() fail.
  std::vector<std::string> pci_devices;
  // Seed of every virtio-rng-pci's generator (arch/common/virtio/virtio_rng.h); the n-th
  // such device uses seed + n.
  uint64_t rng_seed = 0;
};

// The names Arm64MachineConfig::pci_devices takes: QEMU's PCI test device and the virtio
// entropy device (transitional virtio PCI, MSI-X through the ITS).
inline constexpr const char* kPciDeviceNames[] = {"pci-testdev", "virtio-rng-pci"};

using Arm64RunResult = arch::RunResult;

class Arm64Machine final : public MsiSink {
 public:
  static std::expected<std::unique_ptr<Arm64Machine>, std::string> create(const Arm64MachineConfig& cfg);
  ~Arm64Machine() override;
  Arm64Machine(const Arm64Machine&) = delete;
  Arm64Machine& operator=(const Arm64Machine&) = delete;

  // Loads an ELF64 AArch64 executable (PT_LOAD at p_paddr, in RAM or flash) or, when
  // `image` is not an ELF, a Linux arm64 Image where its header says (linux_image.h) or
  // a raw image at virt::kKernelLoad; then the initrd after a Linux kernel (QEMU -initrd;
  // refused with an ELF) and the device tree where QEMU puts them (virt_boot.h). Returns
  // the entry point.
  std::expected<uint64_t, std::string> load(std::span<const std::byte> image,
                                            std::optional<std::span<const std::byte>> initrd = std::nullopt);
  // After load: where the device tree went (none when it did not fit, as on QEMU) and the
  // x0 CPU 0 starts with.
  std::optional<uint64_t> fdt_address() const { return fdt_address_; }
  uint64_t boot_x0() const { return boot_x0_; }
  // Runs until a stop (see above); CPU 0 starts at `entry` on the first call. The budget
  // counts every CPU's instructions since the machine was created.
  Arm64RunResult run(uint64_t entry, uint64_t max_insns);

  // Attaches an MMIO device to every CPU (the common device at virt::kDeviceBase).
  std::expected<void, std::string> attach_mmio(uint64_t base, MmioDevice& dev);

  // MsiSink: an MSI from a device (see above).
  void msi_write(const MsiWrite& msi) override;

  GuestMemory& memory() { return mem_; }
  its::Its& its() { return *its_; }
  // The common device, or nullptr when configured without one.
  device::MsgDevice* device() { return device_.get(); }
  Redistributors& redistributors() { return *rds_; }
  pci::EcamHost& pcie() { return *pcie_; }
  // The virtio PCI functions, in --device order.
  const std::vector<virtio::VirtioPci*>& virtio_functions() const { return virtio_pci_; }
  // One line per PCI function with MSI-X: its message store, as Linux left it (each
  // vector's message, writes, writes while live, messages sent).
  std::string msix_report() const;
  Gicv3Distributor& distributor() { return gicd_; }
  Psci& psci() { return psci_; }
  Arm64Vcpu& cpu(unsigned i) { return *cpus_.at(i); }
  GenericTimer& timer(unsigned i) { return *timers_.at(i); }
  Pmu& pmu(unsigned i) { return *pmus_.at(i); }
  GicCpuInterface& gic(unsigned i) { return *gics_.at(i); }
  const arch::VirtualTime& time() const { return time_; }
  unsigned cpu_count() const { return unsigned(cpus_.size()); }
  uint64_t instructions() const { return sched_.instructions(); }
  // A debugger's hook between quanta (arch/arm64/gdb_arm64.h) goes here.
  arch::Scheduler& scheduler() { return sched_; }
  // The CPU each interrupt (LPI, SGI, PPI) was acknowledged on, in order (ICC_IAR1_EL1
  // reads that returned an INTID): tests check where interrupts went.
  struct Ack {
    unsigned cpu;
    uint32_t intid;
  };
  const std::vector<Ack>& acks() const { return acks_; }

  // The machine's own events (guest instructions when tracing, MMIO, PSCI, IRQs, stops)
  // and those of the GIC, ITS and UART.
  void attach(TraceSink* sink);
  void detach(TraceSink* sink);
  Trace& trace() { return trace_; }
  // Emit one GuestInsn event per instruction (expensive; --trace).
  void set_trace_instructions(bool on);

  std::string disassemble(uint64_t pc) const { return disasm_.at(mem_, pc); }

  // Snapshots (snapshot/snapshot_file.h; arm64_machine_state.cpp): the whole machine,
  // guest memory first (the redistributors rebuild their LPI state from the pending
  // tables in it), then the machine's own fields, virtual time, the scheduler's place,
  // the GIC, ITS, UART, PSCI, each CPU (PE, CPU interface, timers, PMU), the common device
  // and the PCI functions. A machine restored from a file is started: run() ignores its
  // entry and goes on where the saved one paused.
  void state(snapshot::Io& io);
  // One line naming everything that shapes the machine (a file saved on another is refused).
  std::string snapshot_configuration() const;

 private:
  explicit Arm64Machine(const Arm64MachineConfig& cfg);
  std::expected<void, std::string> init();
  void hvc(Arm64Vcpu& cpu, uint16_t imm);
  // Instructions the running quantum may retire before the earliest armed timer deadline.
  uint64_t quantum_limit(uint64_t n) const;
  // Every CPU waits: move time to the earliest armed deadline (false: none is armed).
  bool advance_idle_time();

  Arm64MachineConfig cfg_;
  GuestMemory mem_;
  Trace trace_;
  Gicv3Distributor gicd_;
  std::unique_ptr<Redistributors> rds_;
  std::unique_ptr<its::Its> its_;
  std::unique_ptr<device::MsgDevice> device_;
  std::unique_ptr<pci::EcamHost> pcie_;
  pci::GpexRoot pcie_root_;
  std::vector<std::unique_ptr<virtio::VirtioDevice>> virtio_devices_;  // outlive their transports
  std::vector<std::unique_ptr<pci::PciFunction>> pci_functions_;
  std::vector<virtio::VirtioPci*> virtio_pci_;
  Pl011 uart_;
  Psci psci_;
  arch::MmioBindings mmio_;
  arch::Disassembler disasm_;
  arch::Scheduler sched_;
  arch::VirtualTime time_;
  std::vector<std::unique_ptr<GicCpuInterface>> gics_;
  std::vector<std::unique_ptr<GenericTimer>> timers_;
  std::vector<std::unique_ptr<Pmu>> pmus_;  // one per CPU, overflow interrupt on PPI 23
  std::vector<uc_engine*> engines_;
  std::vector<std::unique_ptr<arch::RomWrites>> rom_writes_;  // per CPU: stores to flash dropped
  std::vector<std::unique_ptr<Arm64Vcpu>> cpus_;
  std::vector<Ack> acks_;
  std::optional<arch::StopRequest> power_;  // SYSTEM_OFF / SYSTEM_RESET
  std::optional<uint64_t> fdt_address_;
  uint64_t boot_x0_ = 0;
  int running_cpu_ = -1;
  bool started_ = false;
  bool trace_insns_ = false;
};

}  // namespace irqremap::arm64
