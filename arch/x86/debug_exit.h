#pragma once
// isa-debug-exit, as QEMU's (hw/misc/debugexit.c: iobase 0x501 by default, commonly set to
// 0xf4): a write of `value` ends the machine with exit status (value << 1) | 1, so a guest
// can never exit 0 through it and "1" means a normal guest exit of value 0. The machine
// polls `exit_requested()` after each I/O instruction.
#include <cstdint>
#include <optional>

#include "snapshot/state_io.h"
#include "arch/x86/io_port.h"

namespace irqremap::x86 {

class DebugExit final : public IoPortDevice {
 public:
  static constexpr uint16_t kPort = 0xF4;
  std::string_view io_name() const override { return "isa-debug-exit"; }
  uint16_t io_size() const override { return 1; }
  uint32_t io_in(uint16_t, unsigned) override { return 0xFFFF'FFFF; }  // write-only
  void io_out(uint16_t, unsigned size, uint32_t value) override {
    const uint32_t v = size >= 4 ? value : value & ((1u << (8 * size)) - 1);
    if (!status_) status_ = (v << 1) | 1;  // the first write wins
  }
  // The full status (value << 1) | 1; a process exit keeps its low 8 bits.
  std::optional<uint32_t> exit_requested() const { return status_; }
  void reset() { status_.reset(); }
  // Snapshot: the exit status written, if any.
  void state(snapshot::Io& io) {
    snapshot::Io::Group g(io, "isa_debug_exit");
    bool written = status_.has_value();
    uint32_t status = status_.value_or(0);
    io.field("written", written);
    io.field("status", status);
    if (io.loading()) status_ = written ? std::optional<uint32_t>(status) : std::nullopt;
  }

 private:
  std::optional<uint32_t> status_;
};

}  // namespace irqremap::x86
