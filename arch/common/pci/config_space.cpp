#include "arch/common/pci/config_space.h"

namespace irqremap::pci {

ConfigSpace::ConfigSpace(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision) {
  set16(cfg::VENDOR_ID, vendor);
  set16(cfg::DEVICE_ID, device);
  set8(cfg::REVISION_ID, revision);
  set8(cfg::CLASS_PROG, uint8_t(class_code));
  set16(cfg::CLASS_DEVICE, uint16_t(class_code >> 8));
  set8(cfg::HEADER_TYPE, 0x00);  // type 0, single function
  // Command: I/O, memory, bus master, SERR#, INTx disable are software's (§6.2.2).
  set_wmask(cfg::COMMAND, 2, command::IO | command::MEMORY | command::BUS_MASTER |
                                 command::SERR | command::INTX_DISABLE);
  set_wmask(cfg::INTERRUPT_LINE, 1, 0xFF);  // scratch for software (§6.2.4)
  set_w1cmask(cfg::STATUS, 2, 0xF900);      // error bits 15:11 and 8 are RW1C (§6.2.3)
}

void ConfigSpace::set_wmask(unsigned o, unsigned size, uint32_t m) {
  for (unsigned i = 0; i < size; ++i) wmask_[o + i] = uint8_t(m >> (8 * i));
}
void ConfigSpace::set_w1cmask(unsigned o, unsigned size, uint32_t m) {
  for (unsigned i = 0; i < size; ++i) w1cmask_[o + i] = uint8_t(m >> (8 * i));
}

uint32_t ConfigSpace::read(unsigned offset, unsigned size) const {
  if (size == 0 || size > 4 || offset + size > kSize) return 0xFFFF'FFFFu;
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= uint32_t(bytes_[offset + i]) << (8 * i);
  return v;
}

void ConfigSpace::write(unsigned offset, unsigned size, uint32_t value) {
  if (size == 0 || size > 4 || offset + size > kSize) return;
  for (unsigned i = 0; i < size; ++i) {
    const unsigned o = offset + i;
    const uint8_t v = uint8_t(value >> (8 * i));
    bytes_[o] = uint8_t((bytes_[o] & ~wmask_[o]) | (v & wmask_[o]));
    bytes_[o] = uint8_t(bytes_[o] & ~(v & w1cmask_[o]));
  }
}

void ConfigSpace::add_bar(unsigned n, BarKind kind, uint64_t size, bool prefetchable) {
  bars_.at(n) = BarInfo{kind, size};
  const unsigned o = cfg::BAR0 + 4 * n;
  // Low bits say what the BAR is (§6.2.5.1): bit 0 I/O; bits 2:1 = 10b a 64-bit memory BAR.
  const uint32_t type = kind == BarKind::Io ? 0x1
                        : uint32_t(kind == BarKind::Mem64 ? 0x4 : 0x0) | (prefetchable ? 0x8 : 0x0);
  const uint32_t low_bits = kind == BarKind::Io ? 0x3 : 0xF;
  set32(o, type);
  set_wmask(o, 4, uint32_t(~(size - 1)) & ~low_bits);
  if (kind == BarKind::Mem64) {
    set32(o + 4, 0);
    set_wmask(o + 4, 4, uint32_t(~(size - 1) >> 32));
  }
}

std::optional<uint64_t> ConfigSpace::bar_address(unsigned n) const {
  const BarInfo& b = bars_.at(n);
  if (b.size == 0) return std::nullopt;
  const unsigned o = cfg::BAR0 + 4 * n;
  const bool io = b.kind == BarKind::Io;
  if (!(command() & (io ? command::IO : command::MEMORY))) return std::nullopt;
  uint64_t a = get32(o) & (io ? ~0x3u : ~0xFu);
  if (b.kind == BarKind::Mem64) a |= uint64_t(get32(o + 4)) << 32;
  // A memory BAR at 0 counts as unprogrammed; an I/O BAR at 0 decodes (QEMU's
  // pci_bar_address does the same, and kvm-unit-tests gives the first I/O BAR on a
  // generic ECAM host I/O address 0, the start of the I/O range in the device tree).
  if ((a == 0 && !io) || a + b.size < a) return std::nullopt;
  return a;
}

unsigned ConfigSpace::add_capability(uint8_t id, unsigned length) {
  // Each capability goes at the next free offset and becomes the head of the list, as QEMU's
  // pci_add_capability links them: a scan meets the newest first (the order is the
  // device's choice, §6.7; this one makes config space read back byte for byte as QEMU's).
  const unsigned at = next_cap_;
  set8(at, id);
  set8(at + 1, get8(cfg::CAPABILITY_LIST));
  set8(cfg::CAPABILITY_LIST, uint8_t(at));
  set16(cfg::STATUS, get16(cfg::STATUS) | status::CAP_LIST);
  next_cap_ = (at + length + 3) & ~3u;
  return at;
}

}  // namespace irqremap::pci
