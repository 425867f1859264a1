#include "remap/guest_memory.h"

#include <sys/mman.h>

#include <cstring>

#include <fmt/format.h>

#include "remap/bits.h"

namespace irqremap {

namespace {
constexpr uint64_t kPage = 4096;
}

// Anonymous private mappings: the kernel hands out zeroed pages on first touch, so a
// large guest RAM that a test or a firmware barely uses costs almost nothing (no memset
// of the whole region), and the pages are page-aligned as uc_mem_map_ptr requires.
struct GuestMemory::Backing {
  std::byte* ptr = nullptr;
  uint64_t size = 0;
  ~Backing() {
    if (ptr != nullptr) munmap(ptr, size);
  }
};

std::string MemFault::describe() const {
  if (read_only)
    return fmt::format("write of {} byte{} at {:#x} is to read-only memory", size, size == 1 ? "" : "s", address);
  return fmt::format("{} of {} byte{} at {:#x} is outside guest RAM", write ? "write" : "read",
                     size, size == 1 ? "" : "s", address);
}

GuestMemory::GuestMemory() = default;
GuestMemory::~GuestMemory() = default;

std::expected<GuestMemory::Region, std::string> GuestMemory::add_ram(uint64_t base, uint64_t size,
                                                                      std::string name) {
  return add_region(base, size, std::move(name), false);
}

std::expected<GuestMemory::Region, std::string> GuestMemory::add_rom(uint64_t base, uint64_t size,
                                                                      std::string name) {
  return add_region(base, size, std::move(name), true);
}

std::expected<GuestMemory::Region, std::string> GuestMemory::add_region(uint64_t base, uint64_t size,
                                                                         std::string name, bool read_only) {
  if (size == 0 || base % kPage != 0 || size % kPage != 0)
    return std::unexpected(fmt::format("RAM region '{}' at {:#x} size {:#x} is not 4 KiB aligned",
                                       name, base, size));
  if (base + size < base)
    return std::unexpected(fmt::format("RAM region '{}' wraps the address space", name));
  for (const Region& r : regions_)
    if (base < r.base + r.size && r.base < base + size)
      return std::unexpected(
          fmt::format("RAM region '{}' at {:#x} overlaps '{}' at {:#x}", name, base, r.name, r.base));
  auto b = std::make_unique<Backing>();
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED)
    return std::unexpected(fmt::format("cannot allocate {:#x} bytes for RAM region '{}'", size, name));
  b->ptr = static_cast<std::byte*>(p);
  b->size = size;
  Region r{base, size, b->ptr, std::move(name), read_only};
  backing_.push_back(std::move(b));
  regions_.push_back(r);
  return r;
}

std::byte* GuestMemory::host_ptr(uint64_t pa, uint64_t size) const {
  for (const Region& r : regions_) {
    if (pa >= r.base && pa - r.base <= r.size && size <= r.size - (pa - r.base))
      return r.host + (pa - r.base);
  }
  return nullptr;
}

const GuestMemory::Region* GuestMemory::region_at(uint64_t pa) const {
  for (const Region& r : regions_)
    if (pa >= r.base && pa - r.base < r.size) return &r;
  return nullptr;
}

// host_ptr for a store: nullptr with `fault` filled when outside every region or in a
// read-only one.
std::byte* GuestMemory::writable_ptr(uint64_t pa, uint64_t size, MemFault& fault) const {
  fault = MemFault{pa, size, true};
  std::byte* p = host_ptr(pa, size);
  if (p != nullptr && region_at(pa)->read_only) {
    fault.read_only = true;
    return nullptr;
  }
  return p;
}

// An empty access touches no byte, so it succeeds wherever it points; it must not reach
// memcpy, whose pointers must be valid even for a zero length (an empty span's data() may
// be null: UBSan aborts on memcpy(nullptr, p, 0)).
MemResult<void> GuestMemory::read(uint64_t pa, std::span<std::byte> out) const {
  if (out.empty()) return {};
  const std::byte* p = host_ptr(pa, out.size());
  if (p == nullptr) return std::unexpected(MemFault{pa, out.size(), false});
  std::memcpy(out.data(), p, out.size());
  return {};
}

MemResult<void> GuestMemory::write(uint64_t pa, std::span<const std::byte> in) {
  if (in.empty()) return {};
  MemFault fault;
  std::byte* p = writable_ptr(pa, in.size(), fault);
  if (p == nullptr) return std::unexpected(fault);
  std::memcpy(p, in.data(), in.size());
  return {};
}

namespace {
template <typename T>
MemResult<T> load(const GuestMemory& m, uint64_t pa) {
  const std::byte* p = m.host_ptr(pa, sizeof(T));
  if (p == nullptr) return std::unexpected(MemFault{pa, sizeof(T), false});
  return bits::load_le<T>(p);
}
}  // namespace

template <typename T>
MemResult<void> GuestMemory::store(uint64_t pa, T v) {
  MemFault fault;
  std::byte* p = writable_ptr(pa, sizeof(T), fault);
  if (p == nullptr) return std::unexpected(fault);
  bits::store_le<T>(p, v);
  return {};
}

MemResult<uint8_t> GuestMemory::read8(uint64_t pa) const { return load<uint8_t>(*this, pa); }
MemResult<uint16_t> GuestMemory::read16(uint64_t pa) const { return load<uint16_t>(*this, pa); }
MemResult<uint32_t> GuestMemory::read32(uint64_t pa) const { return load<uint32_t>(*this, pa); }
MemResult<uint64_t> GuestMemory::read64(uint64_t pa) const { return load<uint64_t>(*this, pa); }
MemResult<void> GuestMemory::write8(uint64_t pa, uint8_t v) { return store<uint8_t>(pa, v); }
MemResult<void> GuestMemory::write16(uint64_t pa, uint16_t v) { return store<uint16_t>(pa, v); }
MemResult<void> GuestMemory::write32(uint64_t pa, uint32_t v) { return store<uint32_t>(pa, v); }
MemResult<void> GuestMemory::write64(uint64_t pa, uint64_t v) { return store<uint64_t>(pa, v); }

}  // namespace irqremap
