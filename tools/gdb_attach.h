#pragma once
// `irqremap run --gdb PORT [--gdb-wait]`: a GDB stub on the machine (arch/common/gdb/),
// as QEMU's `-gdb tcp::PORT` and `-S`. Listens on 127.0.0.1 only.
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace irqremap::arm64 {
class Arm64Machine;
}
namespace irqremap::x86 {
class X86Machine;
}

namespace irqremap::cli {

// "1234", or QEMU's spellings "tcp::1234", "tcp:localhost:1234", "tcp:127.0.0.1:1234";
// 0 lets the system choose (the port is printed). UsageError otherwise.
uint16_t parse_gdb_port(std::string_view spec);

// A debugger attached to a machine for one run.
class GdbAttachment {
 public:
  virtual ~GdbAttachment() = default;
  // The run ended with `status`: the client is told the process exited (W).
  virtual void exited(int status) = 0;
};

// Opens the port and hooks the machine, before its first run; prints
// "irqremap: gdb stub on 127.0.0.1:PORT" on `err`.
std::unique_ptr<GdbAttachment> attach_gdb(arm64::Arm64Machine& m, std::string_view spec, bool wait, std::ostream& err);
std::unique_ptr<GdbAttachment> attach_gdb(x86::X86Machine& m, std::string_view spec, bool wait, std::ostream& err);

}  // namespace irqremap::cli
