#pragma once
// QEMU's PCI test device, `-device pci-testdev` (QEMU docs/specs/pci-testdev.txt;
// hw/misc/pci-testdev.c): Red Hat vendor 1B36h, device 0005h, class 00FFh ("other"),
// revision 0, no interrupt pin, QEMU's default subsystem IDs 1AF4h:1100h.
//
//   BAR0  memory, 4 KiB    BAR1  I/O, 256 bytes
// Each BAR holds a header at offset 0 and a test area after it (2 KiB into BAR0, 128
// bytes into BAR1). The header describes the selected test, little-endian:
//   +0 test (write: select test n of this BAR)   +1 width (1)   +4 offset (where to write)
//   +8 data (the value a test with data match wants)   +12 count   +16 name, NUL-ended
// Tests, three per BAR ("mmio-" / "portio-" + no-eventfd, wildcard-eventfd,
// datamatch-eventfd): selecting one zeroes its count; a 1-byte write at its offset
// counts, the datamatch test's only when the byte equals its data (FAh; the others show
// CEh). Selecting n >= 3 deselects; with nothing selected the BAR reads 0 and test writes
// are ignored. QEMU's eventfd variants count on TCG too (no KVM ioeventfd consumes the
// write), so they are counted here.
//
// Accesses wider than a byte act as byte accesses in address order (QEMU gives the
// device's ops max_access_size 1): a read assembles bytes, a write stores each byte.
// Header bytes past the name's NUL read 0, as QEMU's bound check does.
#include <array>
#include <cstdint>
#include <string>

#include "arch/common/pci/pci_function.h"
#include "snapshot/state_io.h"

namespace irqremap::pci {

class PciTestdev final : public PciFunction {
 public:
  static constexpr uint16_t kVendor = 0x1B36, kDevice = 0x0005;
  static constexpr uint64_t kMemSize = 4096, kIoSize = 256;
  static constexpr unsigned kTestsPerBar = 3;

  PciTestdev();
  std::string_view pci_name() const override { return "pci-testdev"; }
  ConfigSpace& config() override { return config_; }
  uint64_t bar_read(unsigned bar, uint64_t offset, unsigned size) override;
  void bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) override;

  // The selected test (0..5: BAR0's three, then BAR1's), or -1.
  int current() const { return current_; }
  uint32_t count(unsigned test) const { return tests_.at(test).count; }
  // The function's part plus each test's hit count and the test selected.
  void state(snapshot::Io& io) override;

 private:
  struct Test {
    std::string name;
    uint32_t offset = 0;
    uint8_t data = 0;
    bool match_data = false;
    uint32_t count = 0;
  };
  uint8_t read_byte(uint64_t offset) const;
  void write_byte(unsigned bar, uint64_t offset, uint8_t value);

  ConfigSpace config_;
  std::array<Test, 2 * kTestsPerBar> tests_;
  int current_ = -1;
};

}  // namespace irqremap::pci
