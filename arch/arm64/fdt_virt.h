#pragma once
// The flattened device tree the AArch64 machine hands to a kernel (QEMU virt's boot
// protocol: x0 = the tree's address; virt_boot.h). It describes what this machine has,
// with QEMU 7.2's node names, property names and values for
// `-M virt,gic-version=3,its=on -cpu cortex-a57` (the reference dump is
// tests/kvm-unit-tests/qemu-7.2/virt-gicv3-its-smp4.dts), so kernels and
// kvm-unit-tests find every device where QEMU's tree says it is:
//
//   /                 linux,dummy-virt, #address-cells = #size-cells = 2, interrupt-parent = GIC
//   /psci             arm,psci-1.0 / -0.2 / arm,psci, method "hvc", PSCI 0.1 function IDs
//   /memory@40000000  RAM
//   /cpus             cpu@N: reg = MPIDR affinity, enable-method "psci"; cpu-map (1 socket,
//                     1 cluster, N cores, as QEMU's default -smp topology)
//   /intc@8000000     arm,gic-v3: GICD + the GICR window, its@8080000 (arm,gic-v3-its)
//   /pl011@9000000    arm,pl011 + arm,primecell, clocked by /apb-pclk (24 MHz fixed-clock)
//   /pmu              arm,armv8-pmuv3, its overflow interrupt on PPI 7 (INTID 23)
//   /timer            arm,armv8-timer, the four PPIs QEMU gives
//   /flash@0          the two 64 MiB virt flash banks (cfi-flash, bank-width 4)
//   /chosen           linux,initrd-end and linux,initrd-start (--initrd), bootargs
//                     (--append, omitted when empty as QEMU does), stdout-path
//   /pcie@10000000    pci-host-ecam-generic: the high ECAM, ranges for the I/O, 32-bit and
//                     64-bit memory windows, INTx interrupt-map (SPIs 3..6, swizzled),
//                     msi-map to the ITS (requester ID = DeviceID); there whether or not
//                     a device is on the bus, as on QEMU
//   /msg-device@b000000  irqremap's common device, msi-parent = <ITS DeviceID>
//
// Left out because irqremap does not model them: virtio-mmio, fw-cfg, pl031, pl061
// and gpio-keys, platform-bus; the GIC maintenance interrupt (QEMU adds it only with
// virtualization=on, and the reference tree has none); rng-seed and kaslr-seed (random
// on QEMU; irqremap runs are deterministic). Phandles are numbered as QEMU numbers them.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace irqremap::arm64 {

struct VirtFdtConfig {
  unsigned cpus = 1;
  uint64_t ram_size = 0;
  std::string bootargs;   // /chosen/bootargs (QEMU -append)
  bool device = true;     // irqremap's common device is attached
  // The initrd's [start, end) in guest memory (QEMU -initrd), for /chosen; none without one.
  std::optional<std::pair<uint64_t, uint64_t>> initrd = std::nullopt;
};

// The tree's size (fdt totalsize): QEMU virt creates its tree in a 1 MiB buffer and
// loads it unpacked (the reference .dtb is 1 MiB), which decides where it fits.
inline constexpr uint32_t kVirtFdtSize = 0x10'0000;

// PHANDLEs as QEMU 7.2 allocates them: the clock first, then one per CPU (highest CPU
// first), then the GIC and its ITS.
inline constexpr uint32_t kPhandleClock = 0x8000;
constexpr uint32_t phandle_cpu(unsigned cpus, unsigned cpu) { return kPhandleClock + cpus - cpu; }
constexpr uint32_t phandle_gic(unsigned cpus) { return kPhandleClock + cpus + 1; }
constexpr uint32_t phandle_its(unsigned cpus) { return phandle_gic(cpus) + 1; }

// The tree packed: totalsize is the bytes it uses (a few KiB). The machine copies these
// to guest memory and gives the tree QEMU's totalsize there (Arm64Machine::load), so no
// 1 MiB buffer is built, filled and copied per machine. An error only when libfdt
// refuses (a bootargs string too long for kVirtFdtSize).
std::expected<std::vector<std::byte>, std::string> build_virt_fdt_packed(const VirtFdtConfig& cfg);

// The blob as the guest sees it: kVirtFdtSize bytes, totalsize = kVirtFdtSize, the free
// space after the strings block zero (as in QEMU's blob); big-endian as every FDT.
std::expected<std::vector<std::byte>, std::string> build_virt_fdt(const VirtFdtConfig& cfg);

// Opens a packed tree into `window`, kVirtFdtSize bytes the caller has already zeroed
// (fdt_open_into: the same blocks in order, totalsize = kVirtFdtSize). build_virt_fdt and
// the machine's loader both place the tree this way, so they give the same bytes.
std::expected<void, std::string> open_virt_fdt(std::span<const std::byte> packed, std::byte* window);

}  // namespace irqremap::arm64
