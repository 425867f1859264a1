#include "arch/common/unbacked_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "arch/common/unicorn_abort.h"

namespace irqremap::arch {

namespace {

constexpr uint64_t kLast = std::numeric_limits<uint64_t>::max();

UnbackedSpace::Access access_of(uc_mem_type type) {
  switch (type) {
    case UC_MEM_WRITE_PROT: return UnbackedSpace::Access::Write;
    case UC_MEM_FETCH_PROT: return UnbackedSpace::Access::Fetch;
    default: return UnbackedSpace::Access::Read;
  }
}

}  // namespace

UnbackedSpace::UnbackedSpace(uc_engine* uc, Decide decide, UnbackedAccess unbacked)
    : uc_(uc), decide_(std::move(decide)), unbacked_access_(std::move(unbacked)) {}

UnbackedSpace::~UnbackedSpace() {
  if (prot_hook_ != 0) uc_hook_del(uc_, prot_hook_);
}

bool UnbackedSpace::contains(uint64_t address) const {
  // The first range that ends at or after the address: it holds it if it starts before.
  auto it = std::lower_bound(ranges_.begin(), ranges_.end(), address,
                             [](const std::pair<uint64_t, uint64_t>& r, uint64_t a) { return r.second < a; });
  return it != ranges_.end() && it->first <= address;
}

std::expected<void, std::string> UnbackedSpace::map_range(uint64_t first, uint64_t last) {
  // [first, last] inclusive: the range that ends at 2^64 - 1 has no representable end.
  const uint64_t size = last - first + 1;
  callbacks_.push_back(Range{this, first});
  Range* r = &callbacks_.back();
  if (uc_err e = uc_mmio_map(uc_, first, size, &UnbackedSpace::on_read, r, &UnbackedSpace::on_write, r);
      e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: mapping the unbacked space at {:#x} ({:#x} bytes): {}", first, size,
                                       uc_strerror(e)));
  // An MMIO region with callbacks is readable and writable; without permissions every
  // access whose virtual address lies here reaches the PROT hook first. Protecting a
  // whole region keeps it as it is (Unicorn re-creates only the parts of a partial one).
  if (uc_err e = uc_mem_protect(uc_, first, size, UC_PROT_NONE); e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: protecting the unbacked space at {:#x}: {}", first, uc_strerror(e)));
  ranges_.emplace_back(first, last);
  std::sort(ranges_.begin(), ranges_.end());
  return {};
}

std::expected<void, std::string> UnbackedSpace::cover() {
  if (prot_hook_ != 0 || !ranges_.empty()) return std::unexpected("the unbacked space is mapped already");
  uc_mem_region* regions = nullptr;
  uint32_t n = 0;
  if (uc_err e = uc_mem_regions(uc_, &regions, &n); e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: listing the memory map: {}", uc_strerror(e)));
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (uint32_t i = 0; i < n; ++i) used.emplace_back(regions[i].begin, regions[i].end);
  uc_free(regions);
  std::sort(used.begin(), used.end());
  // The complement of the used regions in [0, 2^64 - 1].
  std::vector<std::pair<uint64_t, uint64_t>> holes;
  uint64_t next = 0;
  bool done = false;
  for (const auto& [b, e] : used) {
    if (b > next) holes.emplace_back(next, b - 1);
    if (e == kLast) {
      done = true;
      break;
    }
    next = std::max(next, e + 1);
  }
  if (!done) holes.emplace_back(next, kLast);
  for (const auto& [first, last] : holes)
    if (auto ok = map_range(first, last); !ok) return ok;
  if (uc_err e = uc_hook_add(uc_, &prot_hook_, UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_WRITE_PROT | UC_HOOK_MEM_FETCH_PROT,
                             reinterpret_cast<void*>(&UnbackedSpace::on_prot), this, 1, 0);
      e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: hooking the unbacked space: {}", uc_strerror(e)));
  return {};
}

std::expected<void, std::string> UnbackedSpace::carve(uint64_t base, uint64_t size) {
  if (size == 0 || base % kPage != 0 || size % kPage != 0 || base + size - 1 < base)
    return std::unexpected(fmt::format("carving {:#x} bytes at {:#x}: not whole pages", size, base));
  const uint64_t last = base + size - 1;
  std::vector<std::pair<uint64_t, uint64_t>> keep, remap;
  for (const auto& r : ranges_) {
    if (r.second < base || r.first > last) {
      keep.push_back(r);
      continue;
    }
    // Unmap the whole region and map what is left of it afresh: Unicorn would split a
    // partial unmap into regions with new bases, the same callback data (whose offsets
    // would then be wrong) and their permissions back.
    if (uc_err e = uc_mem_unmap(uc_, r.first, r.second - r.first + 1); e != UC_ERR_OK)
      return std::unexpected(fmt::format("unicorn: unmapping the unbacked space at {:#x}: {}", r.first, uc_strerror(e)));
    if (r.first < base) remap.emplace_back(r.first, base - 1);
    if (r.second > last) remap.emplace_back(last + 1, r.second);
  }
  ranges_ = std::move(keep);
  for (const auto& [first, l] : remap)
    if (auto ok = map_range(first, l); !ok) return ok;
  return {};
}

bool UnbackedSpace::on_prot(uc_engine*, uc_mem_type type, uint64_t address, int, int64_t, void* p) {
  HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto* self = static_cast<UnbackedSpace*>(p);
  // Other PROT hooks (ROM stores: rom_writes.h) see what lies outside the space.
  if (!self->contains(address)) return false;
  if (self->decide_ && self->decide_(address, access_of(type))) return true;
  ++self->refused_;
  return false;
}

uint64_t UnbackedSpace::on_read(uc_engine*, uint64_t offset, unsigned size, void* p) {
  HostCallback in_callback;
  auto* r = static_cast<Range*>(p);
  ++r->owner->unbacked_;
  if (r->owner->unbacked_access_) r->owner->unbacked_access_(r->base + offset, Access::Read, size);
  return 0;
}

void UnbackedSpace::on_write(uc_engine*, uint64_t offset, unsigned size, uint64_t, void* p) {
  HostCallback in_callback;
  auto* r = static_cast<Range*>(p);
  ++r->owner->unbacked_;
  if (r->owner->unbacked_access_) r->owner->unbacked_access_(r->base + offset, Access::Write, size);
}

}  // namespace irqremap::arch
