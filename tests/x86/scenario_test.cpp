// The x86 affinity scenarios end to end: firmware on the machine, VT-d remapping, and a
// message-store device. Until the common device (device/) is attached by the machine,
// these run against a test double with the register layout the stubs use
// (guest-fw/x86/include/dev_impl.h): 16-byte IMS slots {addr_lo, addr_hi, data, ctrl},
// trigger at 0x800, re-arm at 0x804. The double counts every slot write.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

class SlotDevice final : public MmioDevice {
 public:
  explicit SlotDevice(MsiSink& sink) : sink_(sink) {}
  std::string_view mmio_name() const override { return "slotdev"; }
  uint64_t mmio_size() const override { return 0x1000; }
  uint64_t mmio_read(uint64_t off, unsigned) override {
    return off < 16 * kSlots ? slots_[off / 16][(off % 16) / 4] : 0;
  }
  void mmio_write(uint64_t off, unsigned, uint64_t v) override {
    if (off < 16 * kSlots) {
      slots_[off / 16][(off % 16) / 4] = uint32_t(v);
      ++writes_[off / 16];
    } else if (off == 0x800 && v < kSlots) {
      const auto& s = slots_[v];
      if ((s[3] & 1) == 0) sink_.msi_write(MsiWrite{s[0] | (uint64_t(s[1]) << 32), s[2], map::kDeviceRid});
      ++fires_;
    }
  }
  static constexpr unsigned kSlots = 4;
  std::array<unsigned, kSlots> writes_{};
  unsigned fires_ = 0;

 private:
  MsiSink& sink_;
  std::array<std::array<uint32_t, 4>, kSlots> slots_{};
};

struct Scenario {
  std::string uart;
  std::unique_ptr<X86Machine> m;
  std::unique_ptr<SlotDevice> dev;
  RecordingSink rec;
  X86RunResult result;
  explicit Scenario(const char* fw, unsigned cpus = 3) {
    X86MachineConfig cfg;
    cfg.cpus = cpus;
    cfg.uart_out = [this](char c) { uart += c; };
    auto mm = X86Machine::create(cfg);
    REQUIRE(mm);
    m = std::move(*mm);
    dev = std::make_unique<SlotDevice>(*m);
    REQUIRE(m->attach_mmio(map::kDeviceBase, *dev));
    m->attach(&rec);
    const guestfw::Firmware* f = guestfw::find(fw);
    REQUIRE(f != nullptr);
    auto entry = m->load(f->elf);
    REQUIRE(entry);
    result = m->run(*entry, 20'000'000);
    m->detach(&rec);
    INFO(uart);
    INFO(result.message);
  }
  // Interrupts taken by `cpu` with `vector`, from the vCPU trace.
  unsigned taken(unsigned cpu, uint64_t vector) const { return unsigned(m->cpu(cpu).taken(uint8_t(vector))); }
};

}  // namespace

TEST_CASE("x86 scenario: handler on CPU 1, worker migration (cmpxchg16b IRTE + IEC flush + wait), next fire on CPU 2; message written once") {
  Scenario s("x86/irq-migrate");
  INFO(s.uart);
  CHECK(s.result.stop == X86Stop::PowerOff);
  CHECK(s.uart.find("before: slot 0 handled on cpu1") != std::string::npos);
  CHECK(s.uart.find("after migration (cmpxchg16b): slot 0 handled on cpu2") != std::string::npos);
  CHECK(s.uart.find("after migration (low half): slot 1 handled on cpu0") != std::string::npos);
  CHECK(s.uart.find("irq-migrate: ok") != std::string::npos);
  for (unsigned k = 0; k < SlotDevice::kSlots; ++k) CHECK(s.dev->writes_[k] == 4);  // one message, four words
  CHECK(s.m->hazards().empty());
  CHECK(s.rec.contains(EventKind::CacheInvalidate, ""));
}

TEST_CASE("x86 scenario: hot-unplug with an MSI in flight moves every IRTE off CPU 2, loses nothing, delivers nothing to the parked CPU") {
  Scenario s("x86/irq-unplug");
  INFO(s.uart);
  CHECK(s.result.stop == X86Stop::PowerOff);
  CHECK(s.uart.find("in-flight slot 0 handled on cpu1: 1") != std::string::npos);
  for (int k = 0; k < 4; ++k)
    CHECK(s.uart.find("after unplug: slot " + std::to_string(k) + " handled on cpu1") != std::string::npos);
  // After CPU 2 parked (its offline IPI handled), no device interrupt reached it.
  bool parked = false;
  unsigned after = 0;
  for (const Event& e : s.rec.events) {
    if (e.unit == "cpu2" && e.kind == EventKind::Delivery && e.value("vector") == 0xF1) parked = true;
    if (parked && e.kind == EventKind::Delivery && e.unit == "apicbus" && e.value("cpu") == 2) ++after;
  }
  CHECK(parked);
  CHECK(after == 0);
  CHECK(s.taken(2, 0x50) == 0);  // the in-flight slot 0 interrupt was never taken on CPU 2
  for (unsigned k = 0; k < SlotDevice::kSlots; ++k) CHECK(s.dev->writes_[k] == 4);
}

TEST_CASE("x86 scenario (teaching): migration without IEC invalidation keeps delivering to the old CPU; trace and watch flag the stale entry") {
  Scenario s("x86/irq-stale-iec");
  INFO(s.uart);
  CHECK(s.result.stop == X86Stop::PowerOff);
  CHECK(s.uart.find("IRTE says cpu2, no IEC flush: slot 0 handled on cpu1") != std::string::npos);
  CHECK(s.uart.find("STALE") != std::string::npos);
  CHECK(s.uart.find("after the IEC flush: slot 0 handled on cpu2") != std::string::npos);
  REQUIRE(s.m->hazards().size() == 1);
  CHECK(s.m->hazards()[0].find("stale translation: IRTE 0x20") != std::string::npos);
  CHECK(s.rec.contains(EventKind::Hazard, "IEC serves a stale IRTE"));  // the unit's own check
}

TEST_CASE("x86 scenario (teaching): clearing P before the rewrite loses the in-flight MSI with fault 22h in the FRCD and a fault event on CPU 0") {
  Scenario s("x86/irq-clear-p");
  INFO(s.uart);
  CHECK(s.result.stop == X86Stop::PowerOff);
  CHECK(s.uart.find("fault record: F=1 FR=0x22 FI=0x20 SID=0x18") != std::string::npos);
  CHECK(s.uart.find("fault events on cpu0: 1") != std::string::npos);
  CHECK(s.uart.find("slot 0 interrupts handled: 0") != std::string::npos);
  CHECK(s.uart.find("after the rewrite: slot 0 handled on cpu2") != std::string::npos);
  REQUIRE(s.m->hazards().size() == 1);
  CHECK(s.m->hazards()[0].find("in-flight MSI lost: IRTE 0x20 had P=0") != std::string::npos);
  CHECK(s.taken(0, 0xE0) == 1);  // the VT-d fault event, vectored on CPU 0
  CHECK(s.rec.contains(EventKind::Fault, ""));
}
