#pragma once
// PCI configuration space of one function (shared by the x86 and AArch64 machines), type 0 header (PCI Local Bus Specification
// 3.0 §6.1, §6.2.5 base address registers, §6.7 capabilities list). Bytes plus parallel
// masks: wmask marks bits software may write, w1cmask bits it clears by writing 1 (Status).
// One generic write applies the masks for every access width, so BAR sizing needs no code
// of its own: a BAR's writable bits are ~(size - 1), and writing all-ones reads back the
// size (§6.2.5.1).
#include <array>
#include <cstdint>
#include <optional>
#include "snapshot/state_io.h"

namespace irqremap::pci {

// Type 0 header offsets (PCI 3.0 §6.1, Figure 6-1).
namespace cfg {
inline constexpr unsigned VENDOR_ID = 0x00, DEVICE_ID = 0x02, COMMAND = 0x04, STATUS = 0x06;
inline constexpr unsigned REVISION_ID = 0x08, CLASS_PROG = 0x09, CLASS_DEVICE = 0x0A;
inline constexpr unsigned HEADER_TYPE = 0x0E, BAR0 = 0x10, SUBSYSTEM_VENDOR_ID = 0x2C;
inline constexpr unsigned SUBSYSTEM_ID = 0x2E, CAPABILITY_LIST = 0x34;
inline constexpr unsigned INTERRUPT_LINE = 0x3C, INTERRUPT_PIN = 0x3D;
inline constexpr unsigned kFirstCapability = 0x40;
}  // namespace cfg

// Command register bits (§6.2.2) and the Status bit for a capability list (§6.2.3).
namespace command {
inline constexpr uint16_t IO = 1u << 0, MEMORY = 1u << 1, BUS_MASTER = 1u << 2;
inline constexpr uint16_t SERR = 1u << 8, INTX_DISABLE = 1u << 10;
}  // namespace command
namespace status {
inline constexpr uint16_t INTERRUPT = 1u << 3, CAP_LIST = 1u << 4;
}

enum class BarKind : uint8_t { Mem32, Mem64, Io };

struct BarInfo {
  BarKind kind = BarKind::Mem32;
  uint64_t size = 0;  // power of two; 0: no BAR
};

class ConfigSpace {
 public:
  static constexpr unsigned kSize = 256;

  ConfigSpace(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision);

  // Config reads and writes of 1, 2 or 4 bytes inside the 256-byte space; an access that
  // crosses the end reads all-ones / is ignored (mechanism #1 never produces one).
  uint32_t read(unsigned offset, unsigned size) const;
  void write(unsigned offset, unsigned size, uint32_t value);

  // Setup (the device's own view: no masks apply).
  uint8_t get8(unsigned o) const { return bytes_[o]; }
  uint16_t get16(unsigned o) const { return uint16_t(bytes_[o] | (bytes_[o + 1] << 8)); }
  uint32_t get32(unsigned o) const { return get16(o) | (uint32_t(get16(o + 2)) << 16); }
  void set8(unsigned o, uint8_t v) { bytes_[o] = v; }
  void set16(unsigned o, uint16_t v) { set8(o, uint8_t(v)); set8(o + 1, uint8_t(v >> 8)); }
  void set32(unsigned o, uint32_t v) { set16(o, uint16_t(v)); set16(o + 2, uint16_t(v >> 16)); }
  void set_wmask(unsigned o, unsigned size, uint32_t m);
  void set_w1cmask(unsigned o, unsigned size, uint32_t m);

  // Declares BAR n (a Mem64 BAR uses n and n+1); its writable bits become ~(size - 1).
  // A memory BAR may be prefetchable (bit 3, §6.2.5.1).
  void add_bar(unsigned n, BarKind kind, uint64_t size, bool prefetchable = false);
  const BarInfo& bar(unsigned n) const { return bars_.at(n); }
  // The BAR's address when it decodes: the matching Command enable is set, the BAR is
  // programmed (an I/O BAR may sit at 0) and the range does not wrap (PCI 3.0 §6.2.5);
  // else nullopt.
  std::optional<uint64_t> bar_address(unsigned n) const;
  // Adds a capability of `length` bytes at the next free offset, at the head of the list
  // (§6.7): returns its offset.
  unsigned add_capability(uint8_t id, unsigned length);

  uint16_t command() const { return get16(cfg::COMMAND); }
  // Its part of a snapshot: the 256 bytes as the guest left them (the write masks and
  // BARs are the function's construction, not state).
  void state(snapshot::Io& io) { io.bytes("config", std::span(bytes_)); }

 private:
  std::array<uint8_t, kSize> bytes_{}, wmask_{}, w1cmask_{};
  std::array<BarInfo, 6> bars_{};
  unsigned next_cap_ = cfg::kFirstCapability;
};

}  // namespace irqremap::pci
