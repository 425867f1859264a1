#pragma once
// MsiWrite: what a device puts on the bus (docs/DESIGN.md, "Shared vocabulary").
#include <cstdint>

namespace irqremap {

struct MsiWrite {
  uint64_t address = 0;
  uint32_t data = 0;
  // x86: the requester ID (bus << 8 | device << 3 | function), checked by VT-d source-ID
  // verification. AArch64: the DeviceID the ITS uses to index its device table.
  uint32_t source = 0;
  bool operator==(const MsiWrite&) const = default;
};

// x86: a message that carries no requester ID. QEMU's I/O APIC sends its interrupts this
// way (its VT-d then skips source-ID verification); a real I/O APIC has its own source ID,
// named in the DMAR table's device scope. Outside the 16-bit requester-ID space on purpose.
inline constexpr uint32_t kNoSourceId = 0x1'0000;

// Where a device sends its MSIs: the machine's bus, or a test recorder.
class MsiSink {
 public:
  virtual ~MsiSink() = default;
  virtual void msi_write(const MsiWrite& msi) = 0;
};

// Requester ID helpers (PCI bus/device/function, 8/5/3 bits).
constexpr uint16_t make_rid(unsigned bus, unsigned dev, unsigned fn) {
  return uint16_t(((bus & 0xFF) << 8) | ((dev & 0x1F) << 3) | (fn & 0x7));
}

}  // namespace irqremap
