#pragma once
// The unbacked space of one Unicorn engine: MMIO regions without permissions over every
// address that nothing of the machine occupies, so that any virtual address a guest's page
// tables can produce lies inside *some* region of the engine's map.
//
// Why (AArch64; facts checked by tests/arm64/unbacked_space_test.cpp against libunicorn):
//  - Unicorn 2.0.1 looks a load's, store's or fetch's *virtual* address up in its own map
//    before QEMU translates it (unicorn issue #1718); an address outside every region ends
//    the run with UC_ERR_*_UNMAPPED. The region found is used for nothing else: the access
//    itself goes through QEMU's TLB to the *physical* address the guest's tables give.
//    One set of regions over the unused space therefore stands for every virtual page a
//    guest maps (TTBR1 kernel VAs, TTBR0 user VAs, any number of them), where one alias
//    page per virtual page used to: Unicorn's physical map holds at most 1,024 sections on
//    AArch64 and each page rebuilt it (O(N^2)).
//  - The regions have no permissions, so a virtual address inside them reaches the
//    engine's UC_HOOK_MEM_{READ,WRITE,FETCH}_PROT hook first — on a QEMU TLB miss for
//    loads and stores, for every instruction word when a block is translated, and for
//    every access to a device page — before anything is performed. The hook returns
//    `decide`'s answer: true lets QEMU translate and perform the access; false refuses it
//    cleanly (no register or memory is written) and Unicorn ends the run with
//    UC_ERR_{READ,WRITE,FETCH}_PROT. The PC is then the refused instruction only while a
//    UC_HOOK_CODE hook syncs it before every instruction (the vCPU's code hook does).
//  - A physical address inside the regions has nothing behind it. An access can still get
//    there when its virtual address lies outside them (a RAM or device address mapped by
//    the guest onto a hole, or a translation `decide` let through): it reaches the
//    regions' MMIO callbacks, which report it to `unbacked_access` (reads return 0, writes
//    are dropped). Never host memory: a RAM-backed catch-all would let a guest reach host
//    bytes at any address.
#include <unicorn/unicorn.h>

#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <string>
#include <vector>

namespace irqremap::arch {

class UnbackedSpace {
 public:
  enum class Access : uint8_t { Read, Write, Fetch };
  // A virtual address inside the space is about to be accessed: true lets it through.
  using Decide = std::function<bool(uint64_t va, Access access)>;
  // A physical address inside the space was accessed (size in bytes).
  using UnbackedAccess = std::function<void(uint64_t pa, Access access, unsigned size)>;

  static constexpr uint64_t kPage = 0x1000;  // Unicorn's mapping granule

  UnbackedSpace(uc_engine* uc, Decide decide, UnbackedAccess unbacked);
  ~UnbackedSpace();
  UnbackedSpace(const UnbackedSpace&) = delete;
  UnbackedSpace& operator=(const UnbackedSpace&) = delete;

  // Maps the space over every address of the engine that no region holds yet, and hooks
  // it. Call once, after the machine's RAM, ROM and device windows are mapped.
  std::expected<void, std::string> cover();
  // Gives [base, base + size) back (page multiples), for a device window mapped later.
  std::expected<void, std::string> carve(uint64_t base, uint64_t size);
  // Whether `address` lies in the space (nothing of the machine is there).
  bool contains(uint64_t address) const;
  // The space's ranges, [first, last] inclusive, in address order.
  const std::vector<std::pair<uint64_t, uint64_t>>& ranges() const { return ranges_; }
  // Accesses refused by `decide` and unbacked physical accesses so far.
  uint64_t refused() const { return refused_; }
  uint64_t unbacked_accesses() const { return unbacked_; }

 private:
  static bool on_prot(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  static uint64_t on_read(uc_engine* uc, uint64_t offset, unsigned size, void* range);
  static void on_write(uc_engine* uc, uint64_t offset, unsigned size, uint64_t value, void* range);
  std::expected<void, std::string> map_range(uint64_t first, uint64_t last);

  struct Range {
    UnbackedSpace* owner;
    uint64_t base;  // the MMIO callbacks get offsets from the base Unicorn mapped
  };
  uc_engine* uc_;
  Decide decide_;
  UnbackedAccess unbacked_access_;
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
  std::deque<Range> callbacks_;  // stable addresses: Unicorn keeps pointers to them
  uc_hook prot_hook_ = 0;
  uint64_t refused_ = 0, unbacked_ = 0;
};

}  // namespace irqremap::arch
