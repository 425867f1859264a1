#pragma once
// The I/O APIC at 0xFEC0_0000 (Intel 82093AA I/O APIC datasheet; version 20h adds the EOI
// register as on ICH-era chipsets and QEMU's ioapic):
//   +0x00 IOREGSEL  register index      +0x10 IOWIN  32-bit data window
//   +0x40 EOI       write a vector: ends a level-triggered interrupt (version 20h)
// Indirect registers: 00h IOAPICID (ID in 27:24), 01h IOAPICVER (version 20h, 17h = 24
// redirection entries in 23:16), 02h IOAPICARB (= ID), 10h + 2n / 11h + 2n the low and high
// halves of redirection entry n (remap/vtd/ioapic_rte_format.h has both formats).
//
// Pins: each input's line level is kept apart from its entry. An edge interrupt is sent on
// a rising edge of an unmasked pin (an edge on a masked pin is lost, 82093AA §3.2.4); a
// level interrupt is sent while the line is high, the entry unmasked and Remote IRR clear,
// and sets Remote IRR; an EOI for its vector clears Remote IRR and sends again if the line
// is still high. Writing an entry keeps Delivery Status and Remote IRR; switching it to
// edge clears Remote IRR (Linux relies on that to recover a pin in IR mode).
//
// The I/O APIC knows nothing about VT-d: it builds each message from the entry's raw bits
// (vtd::ioapic_rte::ioapic_msi), so a remappable-format entry becomes a remappable MSI and
// a compatibility entry a compatibility MSI, and hands it to the machine's MSI path.
// Requester ID: by default none (kNoSourceId), as QEMU sends I/O APIC interrupts, so VT-d
// skips source-ID verification for them; a machine option gives it a verified source ID
// as on hardware (arch/x86/README.md).
#include <array>
#include <cstdint>

#include "remap/mmio.h"
#include "remap/msi.h"
#include "remap/trace.h"

namespace irqremap::snapshot {
class Io;
}

namespace irqremap::x86 {

class IoApic final : public MmioDevice {
 public:
  static constexpr unsigned kPins = 24;
  static constexpr uint32_t kVersion = 0x20;
  static constexpr uint64_t IOREGSEL = 0x00, IOWIN = 0x10, EOI = 0x40;
  static constexpr uint32_t IOAPICID = 0x00, IOAPICVER = 0x01, IOAPICARB = 0x02, IOREDTBL = 0x10;

  explicit IoApic(MsiSink& sink, uint32_t source = kNoSourceId, uint8_t id = 0);

  std::string_view mmio_name() const override { return "ioapic"; }
  uint64_t mmio_size() const override { return 0x1000; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // An interrupt input changes level (true = asserted).
  void set_irq(unsigned pin, bool level);
  // End of interrupt for `vector` (the EOI register, or a local APIC broadcast).
  void eoi(uint8_t vector);

  // Snapshot: IOREGSEL, the ID, the redirection table (Remote IRR and Delivery Status
  // included) and the input levels (ioapic.cpp).
  void state(snapshot::Io& io);

  uint64_t rte(unsigned pin) const { return rte_.at(pin); }
  bool line(unsigned pin) const { return level_.at(pin); }
  uint32_t source() const { return source_; }
  Trace& trace() { return trace_; }

 private:
  uint32_t read_register(uint32_t index) const;
  void write_register(uint32_t index, uint32_t value);
  void service(unsigned pin, const char* why);

  MsiSink& sink_;
  uint32_t source_;
  uint8_t id_;
  uint32_t regsel_ = 0;
  std::array<uint64_t, kPins> rte_{};
  std::array<bool, kPins> level_{};
  Trace trace_;
};

}  // namespace irqremap::x86
