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

const GuestMemory::Region* GuestMemory::region_at(uint64_t pa) const {
  for (const Region& r : regions_)
    if (pa >= r.base && pa - r.base < r.size) return &r;
  return nullptr;
}

// madvise(MADV_DONTNEED) on a private anonymous mapping (every region's backing): the
// next touch of each page maps a zero-filled one (madvise(2)). Unicorn maps the same host
// pages (uc_mem_map_ptr), so it reads the zeros too. The partial pages at either end are
// cleared by hand.
bool GuestMemory::zero(uint64_t pa, uint64_t size) {
  if (size == 0) return true;
  std::byte* p = host_ptr(pa, size);
  if (p == nullptr) return false;
  const auto at = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (at + kPage - 1) & ~uintptr_t(kPage - 1), last = (at + size) & ~uintptr_t(kPage - 1);
  if (first >= last || madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0) {
    std::memset(p, 0, size);
    return true;
  }
  std::memset(p, 0, first - at);
  std::memset(reinterpret_cast<std::byte*>(last), 0, at + size - last);
  return true;
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
  const Region* r = find(pa, in.size());
  if (r == nullptr || r->read_only) return std::unexpected(MemFault{pa, in.size(), true, r != nullptr});
  std::memcpy(r->host + (pa - r->base), in.data(), in.size());
  return {};
}

}  // namespace irqremap
