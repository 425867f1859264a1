#pragma once
// QEMU's firmware configuration device, the x86 I/O-port interface (QEMU docs/specs/
// fw_cfg.rst, "Selector (Control) Register" and "Data Register"): a 16-bit write to the
// selector port 0x510 picks an item and rewinds its offset; each byte read from the data
// port 0x511 returns the next byte of the item and reads 0 past its end (and for a key
// with no item). Writes to the data port are ignored (fw_cfg.rst: writes through the data
// register are not supported since QEMU 2.4).
//
// Items are byte strings set by the machine: integers little-endian, as QEMU stores them.
// The DMA interface (port 0x514) is not modelled, so FW_CFG_ID reports only the
// traditional interface (bit 0); QEMU 7.2 reports 3 (bit 1: DMA). Firmware that checks the
// bit, like kvm-unit-tests, falls back to the byte interface.
#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <vector>

#include "arch/x86/io_port.h"

namespace irqremap::snapshot {
class Io;
}

namespace irqremap::x86 {

class FwCfg final : public IoPortDevice {
 public:
  static constexpr uint16_t kPort = 0x510;  // selector; data at kPort + 1
  // Selector keys (fw_cfg.rst "Selector Register"; QEMU include/standard-headers/linux/
  // qemu_fw_cfg.h).
  static constexpr uint16_t SIGNATURE = 0x00, ID = 0x01, UUID = 0x02, RAM_SIZE = 0x03,
                            NOGRAPHIC = 0x04, NB_CPUS = 0x05, KERNEL_ADDR = 0x07,
                            KERNEL_SIZE = 0x08, INITRD_ADDR = 0x0A, INITRD_SIZE = 0x0B,
                            BOOT_MENU = 0x0E, MAX_CPUS = 0x0F, KERNEL_ENTRY = 0x10,
                            KERNEL_DATA = 0x11, INITRD_DATA = 0x12;
  static constexpr uint32_t kIdTraditional = 1;  // FW_CFG_ID bit 0

  std::string_view io_name() const override { return "fw_cfg"; }
  uint16_t io_size() const override { return 2; }
  uint32_t io_in(uint16_t offset, unsigned size) override;
  void io_out(uint16_t offset, unsigned size, uint32_t value) override;

  void set(uint16_t key, std::vector<uint8_t> bytes) { items_[key] = std::move(bytes); }
  void set_u16(uint16_t key, uint16_t v) { set_le(key, v, 2); }
  void set_u32(uint16_t key, uint32_t v) { set_le(key, v, 4); }
  void set_u64(uint16_t key, uint64_t v) { set_le(key, v, 8); }
  // The item for `key`, or nullptr.
  const std::vector<uint8_t>* item(uint16_t key) const;

  // Snapshot: the selector, the read offset into the selected item, and the items (a
  // restored machine loads no image, so the kernel and multiboot items that load() put
  // here come from the file).
  void state(snapshot::Io& io);

  // The host-side view of what a guest reads: select `key`, then read `n` bytes.
  void select(uint16_t key);
  uint8_t read_byte();

 private:
  void set_le(uint16_t key, uint64_t v, unsigned n);
  std::map<uint16_t, std::vector<uint8_t>> items_;
  uint16_t selector_ = 0;
  size_t offset_ = 0;
};

}  // namespace irqremap::x86
