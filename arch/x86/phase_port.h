#pragma once
// The x86 conduit of the firmware phase marker (arch/common/phase_marker.h): a 32-bit OUT
// to port phase_marker::kX86Port. The port only latches the value; the machine, which knows
// the writing CPU, takes it right after the OUT and emits the phase event.
#include <cstdint>
#include <optional>

#include "arch/common/phase_marker.h"
#include "snapshot/state_io.h"
#include "arch/x86/io_port.h"

namespace irqremap::x86 {

class PhasePort final : public IoPortDevice {
 public:
  std::string_view io_name() const override { return "phase-marker"; }
  uint16_t io_size() const override { return 4; }
  uint32_t io_in(uint16_t, unsigned) override { return 0xFFFF'FFFF; }  // write-only, as unassigned
  void io_out(uint16_t offset, unsigned size, uint32_t value) override {
    if (offset == 0 && size == 4) written_ = value;  // other widths: ignored, as on QEMU
  }
  // The value of the OUT just executed, once.
  std::optional<uint32_t> take() {
    auto v = written_;
    written_.reset();
    return v;
  }
  // Snapshot: a value written and not yet taken (never, between quanta: the machine takes
  // it right after the OUT; kept so the file says so).
  void state(snapshot::Io& io) {
    snapshot::Io::Group g(io, "phase_port");
    bool written = written_.has_value();
    uint32_t value = written_.value_or(0);
    io.field("written", written);
    io.field("value", value);
    if (io.loading()) written_ = written ? std::optional<uint32_t>(value) : std::nullopt;
  }

 private:
  std::optional<uint32_t> written_;
};

}  // namespace irqremap::x86
