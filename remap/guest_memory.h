#pragma once
// GuestMemory: guest-physical RAM as a set of host-backed regions (docs/DESIGN.md, "Shared
// vocabulary"). Unicorn maps the same host buffers with uc_mem_map_ptr, so vCPUs and
// device models see the same bytes with no copies.
//
// Contract:
//  - every access is checked; one that is not wholly inside a single region returns
//    a MemFault (never undefined behaviour). A write to a read-only region (ROM: the
//    AArch64 virt flash banks) is a MemFault too and leaves the bytes unchanged. Callers turn it into the architected fault
//    (VT-d fault reason 23h for an IRTE read, an ITS command error, ...) or a clear error;
//  - multi-byte values are little-endian, as on both modelled architectures;
//  - accesses need no alignment (the backends check architected alignment themselves);
//  - an empty read() or write() is a no-op that succeeds, at any address (even outside
//    RAM or in ROM): it touches no byte.
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "remap/bits.h"

namespace irqremap {

struct MemFault {
  uint64_t address = 0;  // first byte of the failed access
  uint64_t size = 0;     // its length in bytes
  bool write = false;
  bool read_only = false;  // a write that hit a read-only region
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
    bool read_only = false;     // ROM: loaders fill it through host, guests only read it
    // A memory file holding the region's bytes from offset 0 (set_file_backed), so a page
    // can be mapped at more host addresses than `host` (arch/common/va_aliases.h); -1: none.
    int fd = -1;
  };

  GuestMemory();
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Adds a zero-filled RAM region. base and size must be 4 KiB multiples and the region
  // must not overlap another; otherwise an error message is returned.
  std::expected<Region, std::string> add_ram(uint64_t base, uint64_t size, std::string name);
  // The same for a read-only region (ROM): write() and the writeN() calls refuse it; an
  // image loader fills it through host_ptr().
  std::expected<Region, std::string> add_rom(uint64_t base, uint64_t size, std::string name);

  std::span<const Region> regions() const { return regions_; }

  // Regions added from now on live in a memory file each (memfd_create(2), mapped shared),
  // so their pages can also be mapped elsewhere in the host (Region::fd). The x86 machine
  // asks for it: Unicorn 2.0.1 accesses its linear addresses as physical ones, and an alias
  // of physically scattered pages needs them side by side in the host (va_aliases.h).
  void set_file_backed(bool on) { file_backed_ = on; }

  // The host pointer for [pa, pa+size) when it lies inside one region, else nullptr.
  // It reaches read-only regions too: callers that store through it are loaders.
  // Inline, as the typed accessors below: every remapping walk makes several accesses
  // and a machine has a handful of regions (issue 13: the walk is the cold-cache cost).
  std::byte* host_ptr(uint64_t pa, uint64_t size) const {
    const Region* r = find(pa, size);
    return r != nullptr ? r->host + (pa - r->base) : nullptr;
  }
  // The same for a device model that stores: nullptr for read-only regions too.
  std::byte* writable_host_ptr(uint64_t pa, uint64_t size) const {
    const Region* r = find(pa, size);
    return r != nullptr && !r->read_only ? r->host + (pa - r->base) : nullptr;
  }
  // The region holding byte `pa`, or nullptr.
  const Region* region_at(uint64_t pa) const;
  // Zero-fills [pa, pa+size) inside one region; like host_ptr it reaches read-only regions
  // too (for loaders). Whole pages go back to the kernel instead of being written, so
  // clearing a large range touches no page. False when the range is not inside a region.
  bool zero(uint64_t pa, uint64_t size);
  bool contains(uint64_t pa, uint64_t size) const { return host_ptr(pa, size) != nullptr; }

  MemResult<void> read(uint64_t pa, std::span<std::byte> out) const;
  MemResult<void> write(uint64_t pa, std::span<const std::byte> in);

  MemResult<uint8_t> read8(uint64_t pa) const { return load<uint8_t>(pa); }
  MemResult<uint16_t> read16(uint64_t pa) const { return load<uint16_t>(pa); }
  MemResult<uint32_t> read32(uint64_t pa) const { return load<uint32_t>(pa); }
  MemResult<uint64_t> read64(uint64_t pa) const { return load<uint64_t>(pa); }
  MemResult<void> write8(uint64_t pa, uint8_t v) { return store<uint8_t>(pa, v); }
  MemResult<void> write16(uint64_t pa, uint16_t v) { return store<uint16_t>(pa, v); }
  MemResult<void> write32(uint64_t pa, uint32_t v) { return store<uint32_t>(pa, v); }
  MemResult<void> write64(uint64_t pa, uint64_t v) { return store<uint64_t>(pa, v); }

 private:
  struct Backing;
  std::expected<Region, std::string> add_region(uint64_t base, uint64_t size, std::string name, bool read_only);
  // The region holding all of [pa, pa+size), or nullptr.
  const Region* find(uint64_t pa, uint64_t size) const {
    for (const Region& r : regions_)
      if (pa >= r.base && pa - r.base <= r.size && size <= r.size - (pa - r.base)) return &r;
    return nullptr;
  }
  template <typename T>
  MemResult<T> load(uint64_t pa) const {
    const Region* r = find(pa, sizeof(T));
    if (r == nullptr) return std::unexpected(MemFault{pa, sizeof(T), false});
    return bits::load_le<T>(r->host + (pa - r->base));
  }
  template <typename T>
  MemResult<void> store(uint64_t pa, T v) {
    const Region* r = find(pa, sizeof(T));
    if (r == nullptr || r->read_only) return std::unexpected(MemFault{pa, sizeof(T), true, r != nullptr});
    bits::store_le<T>(r->host + (pa - r->base), v);
    return {};
  }
  std::vector<Region> regions_;
  std::vector<std::unique_ptr<Backing>> backing_;
  bool file_backed_ = false;
};

}  // namespace irqremap
