#pragma once
// Guest stores to read-only GuestMemory regions (ROM, such as the AArch64 virt flash
// banks) change nothing and the guest goes on, as a store to QEMU's pflash in read-array
// mode is taken as a flash command and leaves the array as it was (the CFI command set
// itself is not modelled: every store is dropped).
//
// Unicorn 2.0.1 cannot drop a store: ROM is mapped without write permission
// (engine_memory.h), and UC_HOOK_MEM_WRITE_PROT either stops the engine (hook returns
// false: UC_ERR_WRITE_PROT) or lets the store through to the host bytes (returns true;
// checked by tests/arm64/virt_flash_test.cpp). So the hook saves the bytes the store will
// overwrite and lets it through, and the saved bytes go back before anything can see the
// change: before the next load from ROM (UC_HOOK_MEM_READ on the ROM ranges), before the
// next dropped store, and when the CPU's quantum ends (restore(), called by the machine
// before another CPU or a device model runs). Not covered: fetching an instruction from
// the very bytes just stored to, within the same quantum.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "remap/guest_memory.h"
#include "remap/trace.h"

namespace irqremap::arch {

class RomWrites final {
 public:
  // Hooks every read-only region of `mem` on `uc`; `who` names the CPU in trace events.
  RomWrites(uc_engine* uc, GuestMemory& mem, Trace& trace, std::string who);
  ~RomWrites();
  RomWrites(const RomWrites&) = delete;
  RomWrites& operator=(const RomWrites&) = delete;

  // Puts back the bytes of the last dropped store (no-op when there is none).
  void restore();
  // Stores dropped so far.
  uint64_t dropped() const { return dropped_; }

 private:
  static bool on_write_prot(uc_engine* uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void* self);
  static void on_read(uc_engine* uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void* self);

  uc_engine* uc_;
  GuestMemory& mem_;
  Trace& trace_;
  std::string who_;
  std::vector<uc_hook> hooks_;
  uint64_t saved_at_ = 0;
  std::vector<std::byte> saved_;  // the ROM bytes under the last dropped store
  uint64_t dropped_ = 0;
};

}  // namespace irqremap::arch
