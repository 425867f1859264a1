#pragma once
// GuestMemory: guest-physical RAM as a set of host-backed regions (DESIGN.md, "Shared
// vocabulary"). Unicorn maps the same host buffers with uc_mem_map_ptr, so vCPUs and
// device models see the same bytes with no copies.
//
// Contract:
//  - every access is checked; one that is not wholly inside a single RAM region returns
//    a MemFault (never undefined behaviour). Callers turn it into the architected fault
//    (VT-d fault reason 23h for an IRTE read, an ITS command error, ...) or a clear error;
//  - multi-byte values are little-endian, as on both modelled architectures;
//  - accesses need no alignment (the backends check architected alignment themselves).
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace irqremap {

struct MemFault {
  uint64_t address = 0;  // first byte of the failed access
  uint64_t size = 0;     // its length in bytes
  bool write = false;
  std::string describe() const;  // "read of 8 bytes at 0x1000 is outside guest RAM"
};

template <typename T>
using MemResult = std::expected<T, MemFault>;

class GuestMemory {
 public:
  struct Region {
    uint64_t base = 0;
    uint64_t size = 0;
    std::byte* host = nullptr;  // page-aligned, zero-filled, owned by GuestMemory
    std::string name;
  };

  GuestMemory();
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Adds a zero-filled RAM region. base and size must be 4 KiB multiples and the region
  // must not overlap another; otherwise an error message is returned.
  std::expected<Region, std::string> add_ram(uint64_t base, uint64_t size, std::string name);

  std::span<const Region> regions() const { return regions_; }

  // The host pointer for [pa, pa+size) when it lies inside one region, else nullptr.
  std::byte* host_ptr(uint64_t pa, uint64_t size) const;
  bool contains(uint64_t pa, uint64_t size) const { return host_ptr(pa, size) != nullptr; }

  MemResult<void> read(uint64_t pa, std::span<std::byte> out) const;
  MemResult<void> write(uint64_t pa, std::span<const std::byte> in);

  MemResult<uint8_t> read8(uint64_t pa) const;
  MemResult<uint16_t> read16(uint64_t pa) const;
  MemResult<uint32_t> read32(uint64_t pa) const;
  MemResult<uint64_t> read64(uint64_t pa) const;
  MemResult<void> write8(uint64_t pa, uint8_t v);
  MemResult<void> write16(uint64_t pa, uint16_t v);
  MemResult<void> write32(uint64_t pa, uint32_t v);
  MemResult<void> write64(uint64_t pa, uint64_t v);

 private:
  struct Backing;
  std::vector<Region> regions_;
  std::vector<std::unique_ptr<Backing>> backing_;
};

}  // namespace irqremap
