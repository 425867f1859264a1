#include "arch/common/rom_writes.h"

#include <fmt/format.h>

#include <cstring>

#include "arch/common/unicorn_abort.h"

namespace irqremap::arch {

RomWrites::RomWrites(uc_engine* uc, GuestMemory& mem, Trace& trace, std::string who)
    : uc_(uc), mem_(mem), trace_(trace), who_(std::move(who)) {
  for (const GuestMemory::Region& r : mem_.regions()) {
    if (!r.read_only) continue;
    const uint64_t last = r.base + r.size - 1;
    uc_hook h = 0;
    if (uc_hook_add(uc_, &h, UC_HOOK_MEM_WRITE_PROT, reinterpret_cast<void*>(&RomWrites::on_write_prot), this,
                    r.base, last) == UC_ERR_OK)
      hooks_.push_back(h);
    if (uc_hook_add(uc_, &h, UC_HOOK_MEM_READ, reinterpret_cast<void*>(&RomWrites::on_read), this, r.base, last) ==
        UC_ERR_OK)
      hooks_.push_back(h);
  }
}

RomWrites::~RomWrites() {
  restore();
  for (uc_hook h : hooks_) uc_hook_del(uc_, h);
}

void RomWrites::restore() {
  if (saved_.empty()) return;
  if (std::byte* p = mem_.host_ptr(saved_at_, saved_.size())) std::memcpy(p, saved_.data(), saved_.size());
  saved_.clear();
}

bool RomWrites::on_write_prot(uc_engine*, uc_mem_type, uint64_t addr, int size, int64_t value, void* self) {
  HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto& s = *static_cast<RomWrites*>(self);
  s.restore();  // the bytes under an earlier dropped store are the ROM's
  std::byte* p = s.mem_.host_ptr(addr, uint64_t(size));
  if (p == nullptr) return false;  // not wholly in one ROM region: a real fault
  s.saved_at_ = addr;
  s.saved_.assign(p, p + size);
  ++s.dropped_;
  s.trace_.emit_lazy([&] {
    return Event{EventKind::Note, s.who_,
                 fmt::format("store of {} byte{} to read-only memory at {:#x} dropped", size, size == 1 ? "" : "s",
                             addr),
                 {{"address", addr}, {"value", uint64_t(value)}}};
  });
  return true;  // Unicorn performs the store; restore() undoes it before it can be seen
}

void RomWrites::on_read(uc_engine*, uc_mem_type, uint64_t, int, int64_t, void* self) {
  HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  static_cast<RomWrites*>(self)->restore();
}

}  // namespace irqremap::arch
