#pragma once
// The AArch64 machine as a GDB target (arch/common/gdb/): registers as gdb's aarch64
// description numbers them (org.gnu.gdb.aarch64.core: x0-x30, sp, pc, cpsr;
// org.gnu.gdb.aarch64.fpu: v0-v31, fpsr, fpcr; and the EL1 system registers a firmware
// author looks at after an exception, in a feature of irqremap's own, which gdb shows
// with `info registers system`), memory through each CPU's stage 1 tables
// (stage1_walk.h) when its MMU is on, and the hooks a session needs.
//
// Breakpoints and steps: the attached machine runs its vCPUs in precise mode (a code
// hook before every instruction, as --trace does; arm64_vcpu.h "Execution") from its
// first quantum. Fast mode cannot stop after an arbitrary instruction (a quantum ends
// only at a block boundary or at an address hooked when its block was translated), and a
// single step needs exactly that. Precise mode takes an interrupt right after the
// instruction that signalled it instead of at the end of its translated block; both are
// what the architecture allows (Arm ARM D1.16), and a run with --gdb executes exactly as
// a run with --trace. Within a debugged run, setting, hitting and removing breakpoints
// and watchpoints changes nothing: stops are served inside the hooks (session.h), and
// the hooks are there from the first instruction whether anything is set or not.
// Watchpoints: one UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE hook per engine, which Unicorn
// calls before each data access with its virtual address.
#include <memory>
#include <vector>

#include <unicorn/unicorn.h>

#include "arch/arm64/arm64_machine.h"
#include "arch/common/gdb/session.h"
#include "arch/common/gdb/target.h"

namespace irqremap::arm64 {

class Arm64GdbTarget final : public gdb::Target, public gdb::MachineControl {
 public:
  explicit Arm64GdbTarget(Arm64Machine& m) : m_(m) {}
  const gdb::TargetDescription& description() const override;
  unsigned cpu_count() const override { return m_.cpu_count(); }
  std::string cpu_state(unsigned cpu) const override;
  bool read_register(unsigned cpu, unsigned regno, std::span<std::byte> out) override;
  bool write_register(unsigned cpu, unsigned regno, std::span<const std::byte> in) override;
  bool read_memory(unsigned cpu, uint64_t va, std::span<std::byte> out) override;
  bool write_memory(unsigned cpu, uint64_t va, std::span<const std::byte> in) override;
  bool cpu_running(unsigned cpu) const override;
  void end_quantum(unsigned cpu) override { m_.cpu(cpu).end_quantum(); }

 private:
  // The guest-physical address of `va` for `cpu` (flat with its MMU off).
  std::optional<uint64_t> translate(unsigned cpu, uint64_t va) const;
  Arm64Machine& m_;
};

// Hooks `session` into every CPU of `m` until destroyed. Made before the machine's first
// run (the vCPUs choose their execution mode at their first quantum).
class Arm64GdbAttachment {
 public:
  Arm64GdbAttachment(Arm64Machine& m, gdb::Session& session);
  ~Arm64GdbAttachment();
  Arm64GdbAttachment(const Arm64GdbAttachment&) = delete;
  Arm64GdbAttachment& operator=(const Arm64GdbAttachment&) = delete;

 private:
  struct PerCpu {
    gdb::Session* session;
    unsigned cpu;
  };
  static void on_access(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* p);
  Arm64Machine& m_;
  std::vector<std::unique_ptr<PerCpu>> per_cpu_;
  std::vector<std::pair<uc_engine*, uc_hook>> hooks_;
  std::vector<std::function<void(uint64_t)>> traces_;  // each CPU's --trace callback, if any
};

}  // namespace irqremap::arm64
