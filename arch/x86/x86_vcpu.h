#pragma once
// x86-64 vCPU glue: the x86-specific hooks on one CPU's Unicorn engine, driven by the
// common scheduler as an arch::Vcpu (the shared RAM mapping, MMIO bindings, loader and
// scheduler are arch/common's).
//
//  - IN/OUT go to the machine's IoPortBus (UC_HOOK_INSN); a write to isa-debug-exit stops
//    the engine.
//  - RDMSR/WRMSR of IA32_APIC_BASE and the x2APIC range 800h-8FFh go to this CPU's
//    LocalApic, and those of IA32_TSC and RDTSC/RDTSCP to its TimeStampCounter on the
//    machine's clock (time_stamp_counter.h). Unicorn 2.0.1 has no instruction hook for
//    any of them (it silently reads 0 for MSRs it does not know, and the host's TSC), so
//    the code hook recognises them, prefixed or not (trapped_insn.h), performs them and
//    moves RIP past the instruction; other MSRs execute natively. An access the APIC
//    refuses, an MSR access at CPL > 0 and RDTSC/RDTSCP at CPL > 0 with CR4.TSD set raise
//    #GP(0) in the guest at the instruction (SDM §11.12.1.2, RDMSR, RDTSC), and a LOCK
//    prefix #UD, which Unicorn does not raise. So is a VEX encoding of anything but the
//    BMI1/BMI2 instructions the CPU reports (vex_prefix.h), which Unicorn would run as
//    the legacy or SSE instruction.
//  - HLT executes natively (it ends uc_emu_start with RIP after the HLT); the code hook
//    marks the CPU halted so the scheduler waits for an interrupt.
//  - CPU exceptions and INT n reach UC_HOOK_INTR and are delivered through the guest IDT
//    (exception_delivery.h): #DF/#TS/#NP/#SS/#GP/#PF/#AC push an error code, #PF leaves
//    CR2 (Unicorn sets it) and the frame's RIP is the faulting instruction (INT n: the next
//    one). A guest with no usable gate for the vector stops with one line; a fault while
//    delivering becomes #DF, and a fault while delivering #DF is a triple fault, which
//    stops the run (on a PC it would reset the machine). The engine's own nested-exception
//    record is cleared after each report (exception_in_flight.h), so a #GP after a handled
//    #GP is a #GP again.
//  - Unicorn 2.0.1's x86 walk checks the guest's page tables (faults, rights) but then
//    maps every linear page onto the *same* physical address (target/i386/excp_helper.c,
//    "indentity map guest virtual address"), and it looks an access's linear address up
//    in its own memory map before that (cputlb.c load_helper/store_helper). So with paging
//    on, an access to a VA that is not also a mapped physical address ends uc_emu_start
//    with UC_ERR_*_UNMAPPED, nothing performed, RIP at the instruction (the code hook
//    keeps RIP exact). The vCPU walks the guest's tables itself (page_walk.h): a
//    translation onto RAM maps that RAM page at the VA in this engine, one onto a device
//    maps the device page there (set_alias_mmio), and the instruction runs again next
//    quantum; a translation fault is the #PF the processor would raise (CR2, error code);
//    a translation onto nothing stops the run. Limits, from the same Unicorn behaviour: a
//    VA that is itself RAM is always that RAM page (identity-mapped guests, such as
//    kvm-unit-tests', are exact), and an alias keeps the translation it was made with.
//  - Start-up (SDM vol. 3A §9.4.4, §11.6.1): an INIT accepted by the APIC puts the CPU in
//    wait-for-SIPI (state Off, the APIC reset, §11.4.7.3); a Start Up IPI starts a CPU that
//    waits for one, in real mode at CS = vector << 8, IP = 0, through the boot ROM
//    (boot_rom.h); a Start Up to a running CPU is ignored. Both are taken at the CPU's
//    next scheduling boundary.
//  - Interrupts: before each quantum the machine calls `service_interrupts()`. An NMI is
//    vectored through IDT entry 2 regardless of IF; otherwise, with RFLAGS.IF=1, the
//    APIC's highest deliverable vector (beating PPR) is acknowledged (IRR -> ISR) and
//    vectored through the guest IDT (interrupt_entry.h). A halted CPU wakes for it, with
//    the frame's RIP after the HLT, as on hardware. Interrupts are taken between quanta;
//    the STI interrupt shadow is honoured (a quantum that ends right after STI takes no
//    maskable interrupt before the next instruction), so the `sti; hlt` idle idiom never
//    sleeps through a wake-up. The MOV SS / POP SS shadow is not modelled.
#include <unicorn/unicorn.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <optional>
#include <string>

#include "arch/common/scheduler.h"
#include "arch/common/va_aliases.h"
#include "arch/x86/boot_rom.h"
#include "arch/x86/exception_in_flight.h"
#include "arch/x86/page_walk.h"
#include "arch/x86/io_port.h"
#include "arch/x86/local_apic.h"
#include "arch/x86/time_stamp_counter.h"
#include "arch/x86/trapped_insn.h"
#include "remap/guest_memory.h"
#include "remap/mmio.h"
#include "remap/trace.h"

namespace irqremap::x86 {

class X86Vcpu final : public arch::Vcpu {
 public:
  // Installs the hooks on `uc` (not owned; must outlive this object or be closed after it).
  X86Vcpu(unsigned index, uc_engine* uc, GuestMemory& mem, LocalApic& apic, IoPortBus& io);
  ~X86Vcpu() override;
  X86Vcpu(const X86Vcpu&) = delete;
  X86Vcpu& operator=(const X86Vcpu&) = delete;

  // 64-bit reset state for an entry point: RIP = entry, RSP = stack, RFLAGS = 2 (IF=0),
  // running, not halted. Segment and descriptor-table registers keep Unicorn's 64-bit
  // reset values (flat, CS=0); firmware loads its own GDT/IDT.
  void reset(uint64_t entry, uint64_t stack);
  // Restores Unicorn's reset state (saved when the vCPU was made) and runs the boot ROM
  // (boot_rom.h) on `path`: multiboot (EBX = `ebx`) or real mode at the start-up vector.
  void start_in_boot_rom(boot_rom::Path path, uint32_t ebx, uint8_t startup_vector = 0);
  // The per-CPU page at boot_rom::kStartupPointer: the m16:16 pointer {IP 0, CS vector<<8}.
  MmioDevice& startup_page() { return startup_page_; }

  // arch::Vcpu. Off until reset() (or in wait-for-SIPI), WaitingForInterrupt while halted
  // or while off with an INIT or Start Up pending.
  unsigned index() const override { return index_; }
  arch::VcpuState state() const override;
  // Vector a pending NMI or a deliverable interrupt (see above). On a delivery error (bad
  // IDT gate, frame outside RAM) the CPU records `error()` and its next step stops the run.
  void service_interrupts() override { take_interrupt(); }
  // Always exact: the x86 vCPU counts every instruction.
  arch::StepResult step(uint64_t max_insns, bool exact = true) override;
  uint64_t pc() const override { return rip(); }
  // Instructions entered so far in the running step (0 between steps): the machine's
  // clock counts them so an event inside a quantum gets its own time.
  uint64_t executed_in_step() const { return in_step_ ? executed_ : 0; }

  // service_interrupts() that says whether an interrupt was taken.
  bool take_interrupt();

  bool halted() const { return halted_; }
  void set_halted(bool h) { halted_ = h; }
  // Set when a hook stopped the engine because the run cannot go on (exception, #GP
  // from an APIC MSR, delivery failure). Cleared by take_error().
  const std::optional<std::string>& error() const { return error_; }
  std::optional<std::string> take_error() { return std::exchange(error_, std::nullopt); }

  uc_engine* engine() const { return uc_; }
  uint64_t rip() const;
  uint64_t rflags() const;
  // Interrupts vectored into the guest so far, by vector (tests and traces).
  uint64_t taken(uint8_t vector) const { return taken_[vector]; }

  // Called before each guest instruction (instruction counting, --trace).
  void set_on_insn(std::function<void(uint64_t address, uint32_t size)> f) { on_insn_ = std::move(f); }
  const std::function<void(uint64_t address, uint32_t size)>& on_insn() const { return on_insn_; }
  // Maps the device page at `pa_page` at `va_page` in this CPU's engine (the machine's
  // MMIO bindings); false when no device is there. See "linear address" above.
  void set_alias_mmio(std::function<bool(uint64_t va_page, uint64_t pa_page)> f) { alias_mmio_ = std::move(f); }
  // The machine's clock, which this CPU's time-stamp counter counts (time_stamp_counter.h).
  // Without one (a bare engine in tests) it counts the instructions this CPU entered.
  void set_clock(std::function<uint64_t()> f) { clock_ = std::move(f); }
  // Called after each OUT so the machine can stop the engine (debug exit).
  void set_after_out(std::function<void()> f) { after_out_ = std::move(f); }
  Trace& trace() { return trace_; }

 private:
  static void on_code(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static uint32_t on_in(uc_engine* uc, uint32_t port, int size, void* self);
  static void on_out(uc_engine* uc, uint32_t port, int size, uint32_t value, void* self);
  static void on_intr(uc_engine* uc, uint32_t intno, void* self);
  static bool on_invalid(uc_engine* uc, void* self);
  static bool on_unmapped(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  // After uc_emu_start ended on an access Unicorn refused as unmapped: an alias page and a
  // retry, a #PF, or a stop (nullopt: the CPU goes on).
  std::optional<arch::StopRequest> take_unmapped(uc_err e);
  bool map_alias(uint64_t va, uint64_t pa);
  void fail(std::string what);
  void raise_exception(uint32_t vector, std::optional<uint32_t> error_code = {});
  PagingRegs paging_regs() const;
  bool user_mode() const;  // CPL 3
  // Whether the instruction at RIP writes memory (nullopt: its bytes are not readable).
  std::optional<bool> instruction_writes() const;
  bool take_startup_events();
  // The instruction's bytes (its RAM, or through the engine at an alias page); nullptr
  // when they cannot be read.
  const uint8_t* insn_bytes(uint64_t address, uint32_t size, std::array<uint8_t, 15>& scratch) const;
  void perform(TrappedInsn t, uint64_t address, uint32_t size);
  bool msr_access(uint64_t address, uint32_t size, bool write);
  void read_tsc(uint64_t address, uint32_t size, bool with_aux);
  unsigned cpl() const;
  // Whether the CPU runs 64-bit code: IA-32e mode and CS.L (SDM vol. 3A §5.2.1).
  bool code64() const;
  uint64_t clock() const { return clock_ ? clock_() : entered_; }
  // Raises `vector` at a trapped instruction (RIP still at it) and traces `event`.
  void fault_trapped(uint32_t vector, std::optional<uint32_t> error_code, const std::string& event);
  void refuse_msr(const std::string& what);
  bool vector_into_guest(uint8_t vector, std::string_view what, std::optional<uint64_t> error_code = {});

  class StartupPage final : public MmioDevice {
   public:
    std::string_view mmio_name() const override { return "startup-pointer"; }
    uint64_t mmio_size() const override { return boot_rom::kStartupPageSize; }
    uint64_t mmio_read(uint64_t offset, unsigned size) override;
    void mmio_write(uint64_t, unsigned, uint64_t) override {}
    uint8_t vector = 0;
  };

  unsigned index_;
  uc_engine* uc_;
  GuestMemory& mem_;
  LocalApic& apic_;
  IoPortBus& io_;
  uc_hook code_hook_ = 0, in_hook_ = 0, out_hook_ = 0, intr_hook_ = 0, invalid_hook_ = 0, unmapped_hook_ = 0;
  struct Unmapped {
    uint64_t address;
    uc_mem_type type;
  };
  std::optional<Unmapped> unmapped_;  // recorded by on_unmapped, taken after uc_emu_start
  arch::VaAliases aliases_{arch::VaAliases::kX86MaxPages};  // alias pages mapped at linear addresses
  std::function<bool(uint64_t va_page, uint64_t pa_page)> alias_mmio_;
  uc_context* reset_context_ = nullptr;  // Unicorn's state right after uc_open
  uc_context* scratch_context_ = nullptr;  // for clearing the engine's exception in flight
  std::optional<ExceptionInFlight> in_flight_;
  StartupPage startup_page_;
  bool running_ = false;
  bool halted_ = false;
  uint64_t executed_ = 0;  // instructions entered in the current step
  uint64_t entered_ = 0;   // instructions entered since the vCPU was made
  std::function<uint64_t()> clock_;
  TimeStampCounter tsc_;
  bool in_step_ = false;
  bool sti_shadow_ = false;  // the last instruction executed was STI
  std::optional<std::string> error_;
  std::array<uint64_t, 256> taken_{};
  std::function<void()> after_out_;
  std::function<void(uint64_t, uint32_t)> on_insn_;
  Trace trace_;
};

// "#GP" for 13, "#UD" for 6, ... ("vector 0x41" for the others).
std::string exception_name(uint32_t vector);

}  // namespace irqremap::x86
