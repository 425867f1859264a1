#pragma once
// ACPI multiprocessor wakeup mailbox (ACPI 6.4 §5.2.12.19 "Multiprocessor Wakeup
// Structure", Table 5.44 mailbox layout). The OS writes the target's APIC ID and a wakeup
// vector, then Command = 1 (Wakeup); the AP that owns the APIC ID acknowledges by
// clearing Command to 0 (Noop) and jumps to the vector. On this machine, as in the TDX
// guests the convention was made for, APs enter the vector in 64-bit mode; the machine
// implements the AP side: a wakeup of a CPU that is off starts it, and Command reads 0
// once it has.
//
//   offset 0     Command (16 bits): 0 Noop, 1 Wakeup, others reserved
//   offset 2     Reserved (16 bits)
//   offset 4     ApicId (32 bits)
//   offset 8     WakeupVector (64 bits)
//   offset 16    ReservedForOs (2032 bytes)   kept as ordinary memory
//   offset 2048  ReservedForFirmware (2048 bytes) read-only to the OS; irqremap puts the
//                number of CPUs in its first 32 bits (what ACPI firmware would describe
//                in the MADT), the rest reads as zero
//
// A Wakeup command naming no APIC, or a CPU already running, is not acknowledged: Command
// stays 1 and the trace says why (the OS would wait forever on real firmware too).
#include <array>
#include <cstdint>
#include <functional>

#include "remap/mmio.h"
#include "remap/trace.h"

namespace irqremap::snapshot {
class Io;
}

namespace irqremap::x86 {

class WakeupMailbox final : public MmioDevice {
 public:
  static constexpr uint64_t Command = 0, ApicId = 4, WakeupVector = 8, ReservedForOs = 16,
                            ReservedForFirmware = 2048, CpuCount = 2048;
  static constexpr uint16_t kNoop = 0, kWakeup = 1;

  // wake(apic_id, vector) starts that AP at vector in 64-bit mode; false: no such AP or
  // it is not off.
  WakeupMailbox(unsigned cpus, std::function<bool(uint32_t, uint64_t)> wake)
      : cpus_(cpus), wake_(std::move(wake)) {}

  std::string_view mmio_name() const override { return "WAKEUP"; }
  uint64_t mmio_size() const override { return 0x1000; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // Snapshot: the mailbox bytes the OS wrote (Command, ApicId, WakeupVector and the
  // ReservedForOs area); ReservedForFirmware is the CPU count, the machine's configuration.
  void state(snapshot::Io& io);

  Trace& trace() { return trace_; }

 private:
  uint64_t load(uint64_t offset, unsigned size) const;
  std::array<uint8_t, 0x1000> bytes_{};
  unsigned cpus_;
  std::function<bool(uint32_t, uint64_t)> wake_;
  Trace trace_;
};

}  // namespace irqremap::x86
