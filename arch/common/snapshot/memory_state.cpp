#include "arch/common/snapshot/memory_state.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace irqremap::snapshot {

namespace {

bool all_zero(const std::byte* p, size_t n) {
  static const std::byte zeros[kPageBytes] = {};
  return std::memcmp(p, zeros, n) == 0;
}

// The pages of `r` that hold anything but zeros. A page the guest never touched is not
// resident (GuestMemory maps RAM anonymous and zero-filled), so mincore() skips it without
// reading it: a machine of many GiB with a few MiB in use is saved at the cost of those.
std::vector<uint64_t> used_pages(const GuestMemory::Region& r) {
  std::vector<uint64_t> pages;
  const uint64_t n = r.size / kPageBytes;
  const long host_page = ::sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> resident;
  const bool known = host_page == long(kPageBytes) &&
                     (resident.resize(n), ::mincore(r.host, r.size, resident.data()) == 0);
  for (uint64_t i = 0; i < n; ++i) {
    if (known && (resident[i] & 1) == 0) continue;
    if (!all_zero(r.host + i * kPageBytes, kPageBytes)) pages.push_back(i);
  }
  return pages;
}

}  // namespace

void memory_state(Io& io, GuestMemory& mem) {
  Io::Group g(io, "memory");
  const std::span<const GuestMemory::Region> regions = mem.regions();
  const size_t count = io.count("regions", regions.size(), regions.size());
  if (!io.check(count == regions.size(), fmt::format("{} memory regions in the file, the machine has {}", count,
                                                     regions.size())))
    return;
  for (const GuestMemory::Region& r : regions) {
    Io::Group rg(io, "region");
    std::string name = r.name;
    uint64_t base = r.base, size = r.size;
    io.text("name", name, 256);
    io.field("base", base);
    io.field("size", size);
    if (!io.check(name == r.name && base == r.base && size == r.size,
                  fmt::format("the file's region \"{}\" at {:#x} ({:#x} bytes) is not the machine's \"{}\" at {:#x} "
                              "({:#x} bytes)",
                              name, base, size, r.name, r.base, r.size)))
      return;
    std::vector<uint64_t> pages;
    if (io.saving()) pages = used_pages(r);
    const uint64_t total = r.size / kPageBytes;
    const size_t n = io.count("pages", pages.size(), total);
    if (io.loading()) {
      // A fresh machine's RAM is zero already; a page the file omits must be zero anyway.
      mem.zero(r.base, r.size);
      pages.assign(n, 0);
    }
    uint64_t previous = 0;
    for (size_t i = 0; i < n && io.ok(); ++i) {
      io.field("page", pages[i]);
      // Ascending and inside the region, so no page is written twice or outside it.
      if (!io.check(pages[i] < total && (i == 0 || pages[i] > previous),
                    fmt::format("page {:#x} is outside the region or out of order", pages[i])))
        return;
      previous = pages[i];
      io.bytes("data", std::span<std::byte>(r.host + pages[i] * kPageBytes, kPageBytes));
    }
  }
}

}  // namespace irqremap::snapshot
