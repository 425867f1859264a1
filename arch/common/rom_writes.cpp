#include "arch/common/rom_writes.h"

#include <fmt/format.h>

#include "arch/common/unicorn_abort.h"

namespace irqremap::arch {

RomWrites::RomWrites(uc_engine* uc, GuestMemory& mem, Trace& trace, std::string who)
    : uc_(uc), mem_(mem), trace_(trace), who_(std::move(who)) {
  for (const GuestMemory::Region& r : mem_.regions()) {
    if (!r.read_only) continue;
    uc_hook h = 0;
    if (uc_hook_add(uc_, &h, UC_HOOK_MEM_WRITE_PROT, reinterpret_cast<void*>(&RomWrites::on_write_prot), this,
                    r.base, r.base + r.size - 1) == UC_ERR_OK)
      hooks_.push_back(h);
  }
}

RomWrites::~RomWrites() {
  for (uc_hook h : hooks_) uc_hook_del(uc_, h);
}

bool RomWrites::on_write_prot(uc_engine*, uc_mem_type, uint64_t addr, int size, int64_t value, void* self) {
  HostCallback in_callback;  // an abort in here is irqremap's own (unicorn_abort.h)
  auto& s = *static_cast<RomWrites*>(self);
  // Only a store wholly inside one ROM region is ours; anything else is a real fault.
  if (s.mem_.host_ptr(addr, uint64_t(size)) == nullptr) return false;
  ++s.dropped_;
  s.trace_.emit_lazy([&] {
    return Event{EventKind::Note, s.who_,
                 fmt::format("store of {} byte{} to read-only memory at {:#x} dropped", size, size == 1 ? "" : "s",
                             addr),
                 {{"address", addr}, {"value", uint64_t(value)}}};
  });
  return true;  // QEMU's TLB discards it (the region is read-only there: see the header)
}

}  // namespace irqremap::arch
