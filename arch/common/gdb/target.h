#pragma once
// What the GDB stub (stub.h) needs from a machine: its registers as a target description
// lists them, and each CPU's view of memory. A machine implements it in its own glue
// (arch/arm64/gdb_arm64.h, arch/x86/gdb_x86.h); this side has no Unicorn, so the protocol
// is tested against a plain C++ fake (tests/tools/gdb_protocol_test.cpp).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace irqremap::gdb {

// One register in GDB's numbering: its position in the description is its number in
// g/G/p/P packets (GDB manual E.4 "Target Description Format": registers are numbered
// in the order they appear).
struct RegisterDesc {
  std::string_view name;
  unsigned bits;
  std::string_view type;     // "int", "code_ptr", "data_ptr", or a type the feature defines
  std::string_view feature;  // "org.gnu.gdb.aarch64.core", ...
  std::string_view group = "";  // "" (general) or "system", "vector", ...
};

struct TargetDescription {
  std::string_view architecture;       // <architecture>: "aarch64", "i386:x86-64"
  std::span<const RegisterDesc> regs;  // in GDB's order, grouped by feature
  // Type definitions (<vector>, <union>, <flags>) a feature's registers use, keyed by
  // feature name, emitted at the top of that feature.
  std::span<const std::pair<std::string_view, std::string_view>> feature_types;
  unsigned pc_regno;                   // the program counter among regs
  // Where a watchpoint stops: before the access (AArch64 watchpoints are taken before
  // the instruction, Arm ARM D2.10.5, and gdb steps over it itself) or after the
  // instruction that made it (x86 data breakpoints are traps, Intel SDM vol. 3B
  // §17.3.1.2, and gdb reads the new value at once).
  bool watch_stops_after = false;
};

// The <target> document for qXfer:features:read:target.xml.
std::string target_xml(const TargetDescription& d);

class Target {
 public:
  virtual ~Target() = default;
  virtual const TargetDescription& description() const = 0;
  virtual unsigned cpu_count() const = 0;
  // "CPU 1 [running]": what `info threads` shows beside the thread (qThreadExtraInfo).
  virtual std::string cpu_state(unsigned cpu) const = 0;
  // Register `regno` of `cpu`, little-endian, bits / 8 bytes. False: not readable.
  virtual bool read_register(unsigned cpu, unsigned regno, std::span<std::byte> out) = 0;
  virtual bool write_register(unsigned cpu, unsigned regno, std::span<const std::byte> in) = 0;
  // Memory as `cpu` sees it at virtual address `va`, through its own page tables when its
  // MMU is on. False when any byte translates to nothing or to something other than RAM
  // or ROM (a device register is not read on the debugger's behalf: reads have effects).
  virtual bool read_memory(unsigned cpu, uint64_t va, std::span<std::byte> out) = 0;
  virtual bool write_memory(unsigned cpu, uint64_t va, std::span<const std::byte> in) = 0;
};

}  // namespace irqremap::gdb
