#pragma once
// Guest stores to read-only GuestMemory regions (ROM, such as the AArch64 virt flash
// banks) change nothing and the guest goes on, as a store to QEMU's pflash in read-array
// mode is taken as a flash command and leaves the array as it was (the CFI command set
// itself is not modelled: every store is dropped).
//
// Unicorn 2.0.1 checks the region's permissions first: a store to a region without write
// permission reaches UC_HOOK_MEM_WRITE_PROT, which either stops the engine (the hook
// returns false: UC_ERR_WRITE_PROT) or lets the store go on (true). map_guest_memory
// (engine_memory.h) maps ROM and then protects it, and uc_mem_protect marks the region
// read-only in QEMU's own memory map, whose TLB then discards every store to it
// (TLB_DISCARD_WRITE): the store goes on and changes nothing, with no hook on loads (a
// UC_HOOK_MEM_READ would send every load of the engine through QEMU's slow path). This
// hook lets the store go on, counts it and traces it. Tests: tests/arm64/boot_test.cpp
// ("flash: ...").
#include <unicorn/unicorn.h>

#include <cstdint>
#include <string>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/trace.h"
#include "snapshot/state_io.h"

namespace irqremap::arch {

class RomWrites final {
 public:
  // Hooks every read-only region of `mem` on `uc`; `who` names the CPU in trace events.
  RomWrites(uc_engine* uc, GuestMemory& mem, Trace& trace, std::string who);
  ~RomWrites();
  RomWrites(const RomWrites&) = delete;
  RomWrites& operator=(const RomWrites&) = delete;

  // Stores dropped so far.
  uint64_t dropped() const { return dropped_; }
  // Its part of a snapshot: the count of dropped stores (the hooks are construction).
  void state(snapshot::Io& io) { io.field("rom_writes_dropped", dropped_); }

 private:
  static bool on_write_prot(uc_engine* uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void* self);

  uc_engine* uc_;
  GuestMemory& mem_;
  Trace& trace_;
  std::string who_;
  std::vector<uc_hook> hooks_;
  uint64_t dropped_ = 0;
};

}  // namespace irqremap::arch
