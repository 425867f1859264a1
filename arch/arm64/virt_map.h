#pragma once
// The AArch64 machine's memory map: QEMU `virt` (QEMU 7.2 hw/arm/virt.c base_memmap;
// docs/DESIGN.md), so firmware built for
// `qemu-system-aarch64 -M virt,gic-version=3,its=on` runs unmodified.
//
//   0x0000_0000  FLASH0 64 MiB   virt flash bank 0 (ROM here: arch/common/rom_writes.h)
//   0x0400_0000  FLASH1 64 MiB   virt flash bank 1
//   0x0800_0000  GICD   64 KiB   GICv3 distributor
//   0x0808_0000  ITS   128 KiB   control frame + translation frame (GITS_TRANSLATER 0x0809_0040)
//   0x080A_0000  GICR  0x2_0000 per CPU (RD_base frame + SGI_base frame); QEMU reserves
//                      0xF6_0000 for them (123 CPUs) and the device tree says so
//   0x0900_0000  PL011   4 KiB   UART
//   0x0B00_0000  IMSDEV 64 KiB   irqremap's common device (a hole in the virt map)
//   0x1000_0000  PCIE_MMIO       generic ECAM host's 32-bit memory window (0x2EFF_0000 bytes)
//   0x3EFF_0000  PCIE_PIO 64 KiB the same host's I/O space, memory-mapped (PCI I/O address 0)
//   0x4000_0000  RAM             kernel images load at 0x4008_0000, as QEMU -kernel does
//   0x40_1000_0000  PCIE_ECAM 256 MiB  the host's ECAM, buses 0..255 (QEMU's high ECAM,
//                      which virt uses with highmem: its default); the low 16 MiB ECAM
//                      at 0x3F00_0000 is not mapped, as on QEMU then
//   0x80_0000_0000  PCIE_MMIO_HIGH 512 GiB  in the device tree's ranges; not mapped here
//                      (no device here has a 64-bit BAR)
#include <cstdint>

namespace irqremap::arm64::virt {

inline constexpr uint64_t kFlashBase = 0x0000'0000;
inline constexpr uint64_t kFlashBankSize = 0x400'0000;  // two banks, back to back
inline constexpr unsigned kFlashBanks = 2;
inline constexpr uint64_t kGicdBase = 0x0800'0000;
inline constexpr uint64_t kGicdSize = 0x1'0000;
inline constexpr uint64_t kItsBase = 0x0808'0000;
inline constexpr uint64_t kItsSize = 0x2'0000;
inline constexpr uint64_t kGitsTranslater = kItsBase + 0x1'0040;
inline constexpr uint64_t kGicrBase = 0x080A'0000;
inline constexpr uint64_t kGicrStride = 0x2'0000;  // RD_base + SGI_base, 64 KiB each
inline constexpr uint64_t kGicrRegionSize = 0xF6'0000;  // QEMU's VIRT_GIC_REDIST window
inline constexpr uint64_t kUartBase = 0x0900'0000;
inline constexpr uint64_t kUartSize = 0x1000;
inline constexpr uint32_t kUartSpi = 1;  // VIRT_UART's interrupt: SPI 1, INTID 33
inline constexpr uint64_t kDeviceBase = 0x0B00'0000;
inline constexpr uint64_t kDeviceSize = 0x1'0000;
inline constexpr uint32_t kDeviceId = 0x10;  // the common device's ITS DeviceID
// The PCIe generic ECAM host (hw/arm/virt.c VIRT_PCIE_MMIO, VIRT_PCIE_PIO,
// VIRT_HIGH_PCIE_ECAM, VIRT_HIGH_PCIE_MMIO); fdt_virt.cpp describes it as /pcie@10000000.
inline constexpr uint64_t kPcieMmioBase = 0x1000'0000;
inline constexpr uint64_t kPcieMmioSize = 0x2EFF'0000;
inline constexpr uint64_t kPciePioBase = 0x3EFF'0000;
inline constexpr uint64_t kPciePioSize = 0x1'0000;
inline constexpr uint64_t kPcieEcamBase = 0x40'1000'0000;
inline constexpr uint64_t kPcieEcamSize = 0x1000'0000;  // 256 buses of 1 MiB
inline constexpr uint64_t kPcieMmioHighBase = 0x80'0000'0000;
inline constexpr uint64_t kPcieMmioHighSize = 0x80'0000'0000;
// INTx of a device in slot s, pin p (1 = INTA): SPI kPcieIrqBase + (s + p - 1) % 4.
inline constexpr uint32_t kPcieIrqBase = 3;
inline constexpr uint64_t kRamBase = 0x4000'0000;
inline constexpr uint64_t kKernelLoad = 0x4008'0000;
inline constexpr uint64_t kDefaultRamSize = 128ull << 20;  // qemu-system-aarch64 without -m
// The RAM window ends where QEMU virt's high MMIO starts (256 GiB); --mem is bounded by it.
inline constexpr uint64_t kRamWindowSize = 0x40'0000'0000 - kRamBase;
inline constexpr unsigned kMaxCpus = 8;

// MPIDR_EL1 affinity of CPU n: QEMU virt with GICv3 puts up to 16 CPUs in a cluster
// (Aff0 = n % 16, Aff1 = n / 16).
constexpr uint64_t mpidr_affinity(unsigned cpu) {
  return uint64_t(cpu % 16) | (uint64_t(cpu / 16) << 8);
}

}  // namespace irqremap::arm64::virt
