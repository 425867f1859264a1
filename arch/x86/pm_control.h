#pragma once
// ACPI PM1a control register at I/O port 0x604, as on QEMU q35 (ICH9 PM base 0x600):
// writing SLP_EN (bit 13) with SLP_TYP (bits 12:10) = 0, the S5 type QEMU's tables give,
// powers the machine off (ACPI 6.4 §4.8.3.2.1 PM1 Control Registers). This is the x86
// counterpart of PSCI SYSTEM_OFF: `irqremap run` exits 0.
#include <cstdint>

#include "snapshot/state_io.h"
#include "arch/x86/io_port.h"

namespace irqremap::x86 {

class PmControl final : public IoPortDevice {
 public:
  static constexpr uint16_t kPort = 0x604;
  static constexpr uint32_t SLP_EN = 1u << 13;
  std::string_view io_name() const override { return "PM1a_CNT"; }
  uint16_t io_size() const override { return 2; }
  uint32_t io_in(uint16_t offset, unsigned) override { return offset == 0 ? cnt_ : 0; }
  void io_out(uint16_t offset, unsigned size, uint32_t value) override {
    if (offset != 0 || size < 2) return;
    cnt_ = value & 0x1C01;  // SCI_EN, SLP_TYP kept; SLP_EN is write-only
    if ((value & SLP_EN) != 0 && ((value >> 10) & 7) == 0) off_ = true;
  }
  bool power_off_requested() const { return off_; }
  // Snapshot: PM1a_CNT as software reads it and whether SLP_EN powered the machine off.
  void state(snapshot::Io& io) {
    snapshot::Io::Group g(io, "pm1a");
    io.field("PM1a_CNT", cnt_);
    io.field("powered_off", off_);
  }

 private:
  uint32_t cnt_ = 1;  // SCI_EN: ACPI mode
  bool off_ = false;
};

}  // namespace irqremap::x86
