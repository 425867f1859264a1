#pragma once
// Memory reads and writes a PCI function makes as bus master (PCI Local Bus 3.0 §6.2.2:
// Command.BUS_MASTER gates them). Without a translator (the AArch64 virt machine has no
// SMMU) a bus address is a guest-physical address; with one (x86 with VT-d) each piece goes
// through DmaTranslator::dma_translate first. A failed access says where and why, in one
// line, and touches nothing past the failing piece: the device turns it into its own error
// (a virtio device sets DEVICE_NEEDS_RESET).
#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "arch/common/pci/pci_function.h"
#include "remap/bits.h"
#include "remap/guest_memory.h"

namespace irqremap::pci {

class BusMaster {
 public:
  BusMaster(GuestMemory& mem, DmaTranslator* translator, uint16_t requester_id)
      : mem_(mem), translator_(translator), rid_(requester_id) {}

  std::expected<void, std::string> read(uint64_t addr, std::span<std::byte> out) const;
  std::expected<void, std::string> write(uint64_t addr, std::span<const std::byte> in) const;

  template <typename T>
  std::expected<T, std::string> load(uint64_t addr) const {
    std::byte b[sizeof(T)];
    if (auto ok = read(addr, b); !ok) return std::unexpected(ok.error());
    return bits::load_le<T>(b);
  }
  template <typename T>
  std::expected<void, std::string> store(uint64_t addr, T v) const {
    std::byte b[sizeof(T)];
    bits::store_le<T>(b, v);
    return write(addr, b);
  }

  uint16_t requester_id() const { return rid_; }

 private:
  GuestMemory& mem_;
  DmaTranslator* translator_;
  uint16_t rid_;
};

}  // namespace irqremap::pci
