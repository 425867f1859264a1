#include "remap/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "remap/bits.h"

namespace irqremap {

namespace {
constexpr uint64_t kPage = 4096;
}

// Anonymous private mappings: the kernel hands out zeroed pages on first touch, so a
// large guest RAM that a test or a firmware barely uses costs almost nothing (no memset
// of the whole region), and the pages are page-aligned as uc_mem_map_ptr requires. A
// file-backed region is a memory file of the region's size mapped shared: as sparse (its
// pages come into being on first touch, zeroed) and mappable again at other addresses.
struct GuestMemory::Backing {
  std::byte* ptr = nullptr;
  uint64_t size = 0;
  int fd = -1;
  ~Backing() {
    if (ptr != nullptr) munmap(ptr, size);
    if (fd >= 0) close(fd);
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
  if (file_backed_) {
    b->fd = memfd_create(name.c_str(), MFD_CLOEXEC);
    if (b->fd < 0 || ftruncate(b->fd, off_t(size)) != 0)
      return std::unexpected(fmt::format("cannot make a memory file of {:#x} bytes for RAM region '{}'", size, name));
  }
  void* p = b->fd >= 0 ? mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, b->fd, 0)
                       : mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return std::unexpected(fmt::format("cannot allocate {:#x} bytes for RAM region '{}'", size, name));
  b->ptr = static_cast<std::byte*>(p);
  b->size = size;
  Region r{base, size, b->ptr, std::move(name), read_only, b->fd};
  backing_.push_back(std::move(b));
  regions_.push_back(r);
  return r;
}

const GuestMemory::Region* GuestMemory::region_at(uint64_t pa) const {
  for (const Region& r : regions_)
    if (pa >= r.base && pa - r.base < r.size) return &r;
  return nullptr;
}

// madvise(MADV_DONTNEED) on a private anonymous mapping: the next touch of each page maps
// a zero-filled one (madvise(2)); a memory file's pages are freed with a hole punched
// into the file instead (fallocate(2) FALLOC_FL_PUNCH_HOLE: later reads see zeros, in
// every mapping of the file). Unicorn maps the same host pages (uc_mem_map_ptr), so it
// reads the zeros too. The partial pages at either end are cleared by hand.
bool GuestMemory::zero(uint64_t pa, uint64_t size) {
  if (size == 0) return true;
  std::byte* p = host_ptr(pa, size);
  if (p == nullptr) return false;
  const auto at = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (at + kPage - 1) & ~uintptr_t(kPage - 1), last = (at + size) & ~uintptr_t(kPage - 1);
  const Region* r = find(pa, size);
  const bool freed =
      first < last && (r->fd >= 0 ? fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                              off_t(first - reinterpret_cast<uintptr_t>(r->host)), off_t(last - first)) == 0
                                  : madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) == 0);
  if (!freed) {
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
