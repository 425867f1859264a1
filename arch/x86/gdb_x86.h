#pragma once
// The x86-64 machine as a GDB target (arch/common/gdb/): registers as gdb's i386:x86-64
// description numbers them (org.gnu.gdb.i386.core: the 16 general registers, rip,
// eflags, the six selectors and the x87 registers, which gdb requires in the core
// feature; org.gnu.gdb.i386.sse: xmm0-xmm15, mxcsr; org.gnu.gdb.i386.segments: fs_base,
// gs_base), memory through the guest's page tables (page_walk.h) when paging is on, and
// the hooks a session needs: the vCPU's per-instruction callback (X86Vcpu::set_on_insn)
// for breakpoints and steps, one UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE hook per engine for
// watchpoints, the scheduler's boundary hook. The glue only uses the vCPU's public
// interface, so the vCPU's execution strategy can change underneath it (as long as
// set_on_insn still runs before every instruction while it is set, as on arm64).
#include <functional>
#include <memory>
#include <vector>

#include <unicorn/unicorn.h>

#include "arch/common/gdb/session.h"
#include "arch/common/gdb/target.h"
#include "arch/x86/x86_machine.h"

namespace irqremap::x86 {

class X86GdbTarget final : public gdb::Target, public gdb::MachineControl {
 public:
  explicit X86GdbTarget(X86Machine& m) : m_(m) {}
  const gdb::TargetDescription& description() const override;
  unsigned cpu_count() const override { return m_.cpu_count(); }
  std::string cpu_state(unsigned cpu) const override;
  bool read_register(unsigned cpu, unsigned regno, std::span<std::byte> out) override;
  bool write_register(unsigned cpu, unsigned regno, std::span<const std::byte> in) override;
  bool read_memory(unsigned cpu, uint64_t va, std::span<std::byte> out) override;
  bool write_memory(unsigned cpu, uint64_t va, std::span<const std::byte> in) override;
  bool cpu_running(unsigned cpu) const override;
  void end_quantum(unsigned cpu) override;

 private:
  std::optional<uint64_t> translate(unsigned cpu, uint64_t va) const;
  X86Machine& m_;
};

// Hooks `session` into every CPU of `m` until destroyed; made before the first run.
class X86GdbAttachment {
 public:
  X86GdbAttachment(X86Machine& m, gdb::Session& session);
  ~X86GdbAttachment();
  X86GdbAttachment(const X86GdbAttachment&) = delete;
  X86GdbAttachment& operator=(const X86GdbAttachment&) = delete;

 private:
  struct PerCpu {
    gdb::Session* session;
    unsigned cpu;
  };
  static void on_access(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* p);
  X86Machine& m_;
  std::vector<std::unique_ptr<PerCpu>> per_cpu_;
  std::vector<std::pair<uc_engine*, uc_hook>> hooks_;
  std::vector<std::function<void(uint64_t, uint32_t)>> traces_;  // each CPU's --trace callback, if any
};

}  // namespace irqremap::x86
