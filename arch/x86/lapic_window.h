#pragma once
// One CPU's xAPIC register page as seen at one physical address. IA32_APIC_BASE moves the
// page (SDM vol. 3A §11.4.4, Figure 11-5: APIC Base, bits MAXPHYADDR-1:12), while Unicorn
// maps MMIO at fixed addresses; so the machine binds a window at every base a CPU has
// given its APIC, and a window decodes only while it is that APIC's base and the APIC is
// in xAPIC mode. Anywhere else nothing claims the access: a hardware-disabled APIC is as
// if absent (§11.4.3), an x2APIC-mode APIC does not decode its page (§11.12.2), and an
// address the APIC moved away from is plain bus space again. A read nothing claims
// returns all ones on a PC; a write goes nowhere.
#include <cstdint>

#include "arch/x86/local_apic.h"
#include "remap/mmio.h"

namespace irqremap::x86 {

class LapicWindow final : public MmioDevice {
 public:
  LapicWindow(LocalApic& apic, uint64_t base) : apic_(apic), base_(base) {}
  uint64_t base() const { return base_; }
  std::string_view mmio_name() const override { return "LAPIC"; }
  uint64_t mmio_size() const override { return apic::kPageSize; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override {
    if (!decodes()) return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
    return apic_.mmio_read(offset, size);
  }
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override {
    if (decodes()) apic_.mmio_write(offset, size, value);
  }

 private:
  bool decodes() const { return apic_.mode() == ApicMode::XApic && apic_.base_address() == base_; }
  LocalApic& apic_;
  uint64_t base_;
};

}  // namespace irqremap::x86
