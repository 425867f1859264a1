#pragma once
// MmioBindings: puts MmioDevice register files into Unicorn engines with uc_mmio_map and
// traces every access (EventKind::RegRead / RegWrite, unit "cpu<N>"), so the same device
// object answers every vCPU of a machine.
//
// Unicorn 2.0 splits a 64-bit guest access into two 32-bit callbacks at offset and
// offset+4 (remap/mmio.h): devices merge the halves themselves. Windows are rounded up to
// 4 KiB, Unicorn's mapping granule. The bindings live as long as this object; destroy it
// after the engines are closed (or never call the engines again).
#include <unicorn/unicorn.h>

#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <string>

#include "remap/mmio.h"
#include "remap/trace.h"

namespace irqremap::arch {

class MmioBindings {
 public:
  explicit MmioBindings(Trace& trace) : trace_(trace) {}
  MmioBindings(const MmioBindings&) = delete;
  MmioBindings& operator=(const MmioBindings&) = delete;

  // Maps `dev` at [base, base + mmio_size()) in `uc`, which belongs to CPU `cpu` (the
  // trace's unit). Errors (overlap, unaligned base) come back as a message.
  std::expected<void, std::string> bind(uc_engine* uc, unsigned cpu, uint64_t base, MmioDevice& dev);

  // Maps the 4 KiB page at `alias` in `uc` onto the device page bound at `target` in the
  // same engine, so an access there reaches the device at `target`'s offset (traced with
  // `target`'s address). For engines that do not translate an address before they look it
  // up (x86_vcpu.h). An error when nothing of `uc` is bound at `target`.
  std::expected<void, std::string> bind_alias(uc_engine* uc, uint64_t alias, uint64_t target);

  // Called before every access reaches a device (the AArch64 machine uses it to tag CPU
  // stores to GITS_TRANSLATER with DeviceID 0); may be empty.
  void set_before_access(std::function<void(unsigned cpu, uint64_t address, bool write)> fn) {
    before_ = std::move(fn);
  }

  uint64_t reads() const { return reads_; }
  uint64_t writes() const { return writes_; }

 private:
  struct Binding {
    MmioBindings* owner;
    MmioDevice* dev;
    unsigned cpu;
    uint64_t base;         // the address traced for the window's first byte
    uc_engine* uc = nullptr;
    uint64_t offset = 0;   // the device offset of the window's first byte
    uint64_t size = 0;     // the window (4 KiB multiple)
  };
  static uint64_t read_cb(uc_engine* uc, uint64_t off, unsigned size, void* user);
  static void write_cb(uc_engine* uc, uint64_t off, unsigned size, uint64_t value, void* user);

  Trace& trace_;
  std::deque<Binding> bindings_;  // stable addresses: Unicorn keeps pointers to them
  std::function<void(unsigned, uint64_t, bool)> before_;
  uint64_t reads_ = 0, writes_ = 0;
};

}  // namespace irqremap::arch
