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
//  - PUSHF: Unicorn 2.0.1 copies RFLAGS.RF into the image it pushes (its helper reads the
//    whole RFLAGS; the SDM's PUSHF, and QEMU 7.2's, store 0 for RF and VM), and its IRET
//    loads RF from the image; the code hook on PUSHF clears RF first. Its RF lasts to the
//    end of the translated block it was loaded for (read in its source: gen_eob resets it), not
//    one instruction: an instruction breakpoint later in the block an IRETQ with RF = 1
//    returns into (a fault handler's, interrupt_entry.h) is not taken.
//  - HLT executes natively (it ends uc_emu_start with RIP after the HLT); a code hook on it
//    marks the CPU halted so the scheduler waits for an interrupt.
//  - CPU exceptions reach UC_HOOK_INTR and are delivered through the guest IDT as the
//    processor does in IA-32e mode (interrupt_entry.h: gate and code-segment checks, a
//    privilege change on the 64-bit TSS's RSPn, IST stacks): #DF/#TS/#NP/#SS/#GP/#PF/#AC
//    push an error code (exception_delivery.h; the engine's own for the segment faults
//    it raises, error_code_record.h), #PF leaves CR2 (Unicorn sets it) and the
//    frame's RIP is the faulting instruction. INT n, INT3 and INTO are trap sites, performed
//    by the vCPU with the gate's DPL checked (frame RIP: the next instruction; a fault in
//    their delivery is the INT's own). A new CS, SS and CPL go into Unicorn's CPU state
//    through segment_state.h (uc_reg_write of CS/SS in 64-bit mode stores the selector
//    only); IRETQ is Unicorn's own. A fault while delivering is delivered instead, or as
//    #DF (SDM vol. 3A Table 6-5); a fault while delivering #DF is a triple fault, which
//    stops the run (on a PC it would reset the machine), as does a table or frame outside
//    RAM with nothing architected to raise. The engine's own nested-exception record is
//    cleared after each report (exception_in_flight.h), so a #GP after a handled #GP is a
//    #GP again.
//  - CPUID is answered by a UC_HOOK_INSN hook that skips Unicorn's helper (cpuid_leaves.h).
//    SGDT/SIDT/SLDT/STR/SMSW (CR4.UMIP above CPL 0) and MOV to CR4 (reserved bits) are
//    trap sites checked before Unicorn runs them; RDMSR/WRMSR get msr_checks.h's #GP(0)
//    checks (Unicorn 2.0.1 makes none of these checks: it reads 0 for an MSR it does not
//    implement and stores any value in those it does; its IA32_MCG_CAP reports 10 banks).
//  - SYSCALL is a trap site performed here (SDM vol. 2B SYSCALL: #UD without EFER.SCE;
//    RCX, R11, FMASK, CS/SS from STAR, RIP from LSTAR or, from compatibility mode, CSTAR)
//    and CPUID 80000001h reports it: Unicorn 2.0.1's SYSCALL only calls UC_HOOK_INSN hooks
//    and goes on at the next instruction, and its CPUID has no SYSCALL, so its WRMSR drops
//    EFER.SCE; WRMSR of EFER puts SCE into its CPU state (segment_state.h), where its own
//    SYSRET (QEMU's helper_sysret, with its checks) finds it.
//  - MOV to/from DR7 and MOV to DR0-DR3 are performed here: DR7's enable bits never reach
//    Unicorn, which crashed the host once a breakpoint was armed (trapped_insn.h); the
//    instruction breakpoints DR7 enables are trap sites that raise #DB with DR6.Bn. Data
//    breakpoints (R/W 01, 11) and I/O breakpoints (R/W 10 with CR4.DE) are seen through a
//    UC_HOOK_MEM_READ/WRITE bounded to the watched bytes and through IN/OUT, and raise the
//    #DB trap before the next instruction (debug_breakpoints.h); while any is armed the CPU
//    runs in precise mode, whose per-instruction hook is that boundary. With DR7.GD set
//    every MOV to/from a DR is a #DB fault with DR6.BD and GD cleared (SDM vol. 3A §18.2.4).
//    Unicorn 2.0.1 fact: its x86 TCG backend emits the inline load/store fast path only
//    while no UC_HOOK_MEM_READ/WRITE exists, checked when a block is translated, and
//    passes such hooks the linear address, bounded by the access's first byte.
//  - Unicorn 2.0.1's x86 walk checks the guest's page tables (faults, rights) but then
//    maps every linear page onto the *same* physical address (target/i386/excp_helper.c,
//    "indentity map guest virtual address"), and it looks an access's linear address up
//    in its own memory map before that (cputlb.c load_helper/store_helper). So with paging
//    on, an access to a VA that is not also a mapped physical address reaches
//    UC_HOOK_MEM_UNMAPPED before anything is performed. The hook walks the guest's tables
//    itself (page_walk.h): a translation onto RAM maps that RAM at the VA in this engine,
//    as one run over every following page the tables map onto the following physical
//    pages (arch/common/va_aliases.h: one engine region per run, not per page), one onto a
//    device maps the device page there (set_alias_mmio), and the hook returns true, so
//    Unicorn performs the access there and the instruction goes on; a translation fault
//    maps a scratch page at the VA for the moment, so that Unicorn's own walk, which runs
//    next, raises the #PF itself with the faulting instruction's RIP (the scratch page
//    goes when the #PF is reported); a translation onto nothing stops the run. The runs
//    are this CPU's TLB: MOV to CR0/CR3/CR4, INVLPG and INVPCID drop them all before they
//    execute (tlb_invalidation.h; the code hook sees them), so a guest that changes a
//    mapping and invalidates as the SDM requires (vol. 3A §4.10.4) sees the new one.
//    What remains impossible with Unicorn 2.0.1: a VA that is itself RAM (or ROM, or a
//    device window) is always that physical page, whatever the tables say (identity-mapped
//    guests, such as kvm-unit-tests', are exact); a guest that relies on a changed mapping
//    without invalidating sees the old one a little longer than hardware might, as an
//    alias holds what the TLB would. A CPU holds at most VaAliases::kX86MaxRuns runs
//    (physically scattered pages each make a run of their own); past that each new run
//    replaces the oldest, except the one the running block is in, as a TLB replaces
//    entries (SDM vol. 3A §4.10.4.1: a processor may invalidate more than asked). A guest
//    whose working set is more runs than that still runs, only slower.
//  - Start-up (SDM vol. 3A §9.4.4, §11.6.1): an INIT accepted by the APIC puts the CPU in
//    wait-for-SIPI (state Off, the APIC reset, §11.4.7.3); a Start Up IPI starts a CPU that
//    waits for one, in real mode at CS = vector << 8, IP = 0, through the boot ROM
//    (boot_rom.h); a Start Up to a running CPU is ignored. Both are taken at the CPU's
//    next scheduling boundary.
//  - Interrupts: before each quantum the machine calls `service_interrupts()`. An NMI is
//    vectored through IDT entry 2 regardless of IF; otherwise, with RFLAGS.IF=1, the
//    APIC's highest deliverable vector (beating PPR) is acknowledged (IRR -> ISR) and
//    vectored through the guest IDT (interrupt_entry.h). A halted CPU wakes for it, with
//    the frame's RIP after the HLT, as on hardware. The STI interrupt shadow is honoured
//    (a quantum that ends right after STI takes no maskable interrupt before the next
//    instruction), so the `sti; hlt` idle idiom never sleeps through a wake-up; NMIs wait
//    for the end of the STI shadow too (nmi_takeable).
//
// Execution. Without an instruction trace the vCPU has no per-instruction hook (fast mode,
// chosen at each step by whether set_on_insn() has a callback; the precise mode counts
// and checks every instruction in on_code). What fast mode relies on, each checked against
// libunicorn 2.0.1 by tests/x86/fast_mode_test.cpp:
//  - UC_HOOK_BLOCK runs at the start of every translated block, chained ones included, with
//    its address (linear: CS.base + RIP) and size in bytes; a uc_emu_stop from it ends the
//    run before the block executes. RIP is then the block's only on a bare engine: with
//    this vCPU's hooks a stop between chained blocks left RIP at the block before (the
//    sieve ran a block twice), so the vCPU writes RIP itself (resume_at_stop).
//  - uc_ctl_request_cache from the block hook returns the running block's uc_tb: its
//    instruction count (icount) and size. Instructions are counted a block at a time; the
//    count is looked up once per block address and size and kept.
//  - RAM and ROM are mapped without execute permission, so translating a block fetches
//    each of its bytes through UC_HOOK_MEM_FETCH_PROT, once, at translation (never when
//    the block runs again). A fetch there drops what was kept for a block at that address:
//    code written since (QEMU retranslates it) is decoded again.
//  - A UC_HOOK_CODE added after a block was translated is not in it until the block is
//    translated again (uc_ctl_remove_cache). So the first time a block runs, the vCPU
//    decodes it (block_decode.h), adds a code hook bounded to each instruction it must see
//    (RDMSR, WRMSR, RDTSC, RDTSCP, SYSCALL, C4/C5, HLT, INT n/INT3/INTO, SGDT/SIDT/SLDT/STR/SMSW,
//    MOV to CR4), drops the block and stops before it; the block is translated again with
//    the hooks. A code hook that writes RIP ends the block
//    there and Unicorn goes on at the written RIP in a new block (RDTSC and MSRs performed
//    by the vCPU are skipped that way).
//  - STI ends its block, and the block after it is one instruction (QEMU's
//    HF_INHIBIT_IRQ_MASK): the STI shadow is that one block. MOV SS and POP SS do the same
//    (QEMU's gen_eob_inhibit_irq), so their shadow, which holds NMIs back too, is also one
//    block (block_decode.h shadow_after). IRET is a trap site: it ends NMI blocking. POPF and IRET end their block
//    too (QEMU's gen_eob; IRET is a jump). So an instruction that opens the interrupt
//    window is always followed by a block boundary, where a pending interrupt is taken
//    (`sti; nop; cli` takes it before the CLI).
//  - PAUSE ends its block (QEMU's helper_pause leaves the execution loop) and the run goes
//    on at the next instruction, inside the same uc_emu_start: its delay (pause_latency.h)
//    is counted when the block has run whole (the next block hook, or the end of the
//    step), with no code hook, as the block's instructions are.
//  - An access to an unmapped VA reports RIP at the start of its block, not at the
//    instruction: the unmapped hook never lets Unicorn stop for an alias or a #PF (above),
//    so this matters only to a stop's line, which then names the block's first
//    instruction.
//  - QEMU raises an exception inside a block with the exact RIP (cpu_restore_state), so
//    the instructions of the block before it count, and the faulting one, as the precise
//    mode counts them. A quantum that must end at an exception's handler ends at the
//    handler's block boundary: a uc_emu_stop from UC_HOOK_INTR after the hook had moved
//    RIP to the handler was not honoured (the run went on, and so did every later stop).
// A quantum ends at the first block boundary at or after its limit (the run's budget is
// kept to the instruction: the block that would overshoot runs one instruction at a time
// under a code hook bounded to it). A quantum's limit is time, in instruction-times: its
// instructions and the stall of its PAUSEs (pause_latency.h), so a CPU spinning on PAUSE
// ends its turn as soon as a CPU retiring instructions would; an exact limit (the budget)
// counts instructions only. A change at any local APIC (set_attention: an
// accepted interrupt, an EOI or TPR write, an IPI) is looked at in the next block
// boundary: this CPU stops there for an interrupt it can take, or for another CPU that
// has become able to run. An interrupt made pending by an instruction is thus taken after
// that instruction and at the latest at the end of its translated block, as QEMU's TCG
// takes interrupts only between blocks; the SDM has interrupts serviced at instruction
// boundaries (vol. 3A §6.9, "Priority Among Concurrent Exceptions and Interrupts") and
// forbids one only in the STI and MOV SS shadows (§6.8.1, §6.8.3). No access is
// performed twice. With an instruction trace (precise mode) the code hook of the next
// instruction looks instead, so there the interrupt is taken right after the instruction.
#include <unicorn/unicorn.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <optional>
#include <string>

#include "arch/common/scheduler.h"
#include "arch/common/va_aliases.h"
#include "arch/x86/block_decode.h"
#include "arch/x86/boot_rom.h"
#include "arch/x86/debug_breakpoints.h"
#include "arch/x86/error_code_record.h"
#include "arch/x86/exception_in_flight.h"
#include "arch/x86/interrupt_entry.h"
#include "arch/x86/segment_state.h"
#include "arch/x86/page_walk.h"
#include "arch/x86/io_port.h"
#include "arch/x86/cpuid_leaves.h"
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
  // Runs for `max_insns` instruction-times (instructions and PAUSE stall), or exactly
  // `max_insns` instructions if `exact`. Precise mode stops at the limit exactly; fast mode
  // at the first block boundary at or after it, unless `exact` (see "Execution" above).
  arch::StepResult step(uint64_t max_insns, bool exact = true) override;
  uint64_t pc() const override { return rip(); }
  // Instructions entered so far in the running step (0 between steps): the machine's
  // clock counts them so an event inside a quantum gets its own time. Fast mode counts
  // whole blocks, and in a trap-site hook the block's instructions up to that one.
  uint64_t executed_in_step() const { return in_step_ ? executed_ + in_block_ : 0; }
  // The instruction-times the running step's PAUSEs have held the CPU beyond their own
  // instruction so far (0 between steps; pause_latency.h): the clock counts them too.
  uint64_t stall_in_step() const { return in_step_ ? stall_ : 0; }
  // The stall of the last step's PAUSEs (instruction-times beyond its instructions), until
  // the next step begins: the machine's time counts it with the step's instructions.
  uint64_t stall_of_step() const { return stall_; }
  // The machine's attention counter, which moves whenever a local APIC changes (see
  // "Execution"), and what tells whether another CPU needs its turn now. Without one the
  // CPU looks only at its own APIC, at every block boundary while something is pending.
  void set_attention(const uint64_t* counter, std::function<bool()> others_need_turn) {
    attention_ = counter;
    others_need_turn_ = std::move(others_need_turn);
  }

  // service_interrupts() that says whether an interrupt was taken.
  bool take_interrupt();
  // At the boundary a quantum ended at: an NMI takeable there is taken now, before another
  // CPU runs. A processor takes an NMI at the first instruction boundary after it arrives
  // (SDM vol. 3A §6.7.1 allows one more to be latched while it is blocked, not two), so one
  // that arrived during this quantum must not wait for the CPU's next turn, where a second
  // NMI from another CPU would merge with it (kvm-unit-tests' "multiple nmi").
  bool take_nmi_at_boundary();

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

  // Called before each guest instruction (--trace); leave empty otherwise: with it the
  // vCPU runs in precise mode (see "Execution").
  void set_on_insn(std::function<void(uint64_t address, uint32_t size)> f) { on_insn_ = std::move(f); }
  const std::function<void(uint64_t address, uint32_t size)>& on_insn() const { return on_insn_; }
  // Maps the device page at `pa_page` at `va_page` in this CPU's engine (the machine's
  // MMIO bindings); false when no device is there. See "linear address" above.
  void set_alias_mmio(std::function<bool(uint64_t va_page, uint64_t pa_page)> f) { alias_mmio_ = std::move(f); }
  // This CPU's share of the machine's host mappings for scattered alias pages
  // (arch/common/va_aliases.h); before the first run.
  void set_alias_pieces(std::size_t n) { aliases_.set_max_pieces(n); }
  // The machine's clock, which this CPU's time-stamp counter counts (time_stamp_counter.h).
  // Without one (a bare engine in tests) it counts the instructions this CPU entered and
  // their PAUSE stall.
  void set_clock(std::function<uint64_t()> f) { clock_ = std::move(f); }
  // What CPUID reports and which feature registers exist (cpuid_leaves.h); set before the
  // first instruction. The APIC's own half (x2APIC) is set on the LocalApic.
  void set_features(const CpuFeatures& f) { features_ = f; }
  // The 8259s' INTA for this CPU (the machine's, on CPU 0): the vector of an external
  // interrupt the PICs raise and the local APIC passes on (LocalApic::accepts_extint), or
  // nothing. Taken after the local APIC's own interrupts, as their priorities are
  // unrelated and QEMU's CPU asks the APIC first (target/i386 cpu_get_pic_interrupt).
  void set_extint(std::function<bool()> pending, std::function<uint8_t()> acknowledge) {
    extint_pending_ = std::move(pending);
    extint_ack_ = std::move(acknowledge);
  }
  bool extint_pending() const { return extint_pending_ && extint_pending_(); }
  // Called after each OUT so the machine can stop the engine (debug exit).
  void set_after_out(std::function<void()> f) { after_out_ = std::move(f); }
  Trace& trace() { return trace_; }

  // The CPU's part of a machine snapshot, between quanta (x86_vcpu_state.cpp): the
  // architected registers through uc_reg_read/uc_reg_write by name, the segment registers
  // with their hidden parts and the mode (segment_state.h: what a fresh engine needs),
  // x87/SSE state, the debug registers, and the vCPU's own state (running, halted, STI
  // shadow, TSC offset, a pending #DB, a pending stop, the Start Up vector) and the VA
  // alias runs (this CPU's TLB, va_aliases.h: they may hold what the tables no longer say,
  // so they are mapped again as they were). Derived state is not saved: the fast mode's
  // blocks and trap-site hooks are rebuilt as the restored CPU runs into them.
  void state(snapshot::Io& io);
  // QEMU's hflags now (tests: a restored engine's must equal the saved one's).
  std::optional<uint32_t> engine_hflags() const;

 private:
  static void on_code(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  // Fast mode (see "Execution"): the block hook, the trap-site hooks, the exact tail's
  // counting hook, and the fetch hook that sees translations.
  static void on_block(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static void on_site(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static void on_count(uc_engine* uc, uint64_t address, uint32_t size, void* self);
  static bool on_fetch(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  // Installs the hooks of the mode this step runs in.
  void choose_mode();
  // RAM and ROM lose execute permission and the fetch hook sees translations (fast mode;
  // kept once installed).
  void watch_fetches();
  // What the vCPU must do before the instruction at `address` runs (both modes).
  void check_insn(uint64_t address, uint32_t size);
  struct Block {
    uint32_t size = 0;
    uint32_t icount = 0;
    bool hooked = false;  // its trap sites have code hooks
    DecodedBlock decoded;
  };
  // The block at `address` as kept, decoded on first sight.
  Block& block_at(uint64_t address, uint32_t size);
  // Adds the code hooks `b` needs; true if any was new (the block must be translated again).
  bool hook_sites(Block& b);
  // The running block's instructions from its start up to and including the one at `at`
  // (all of them when `at` is outside it).
  uint64_t through(uint64_t at) const;
  // Counts the running block up to and including the instruction at `at`, which ended it
  // (an exception, a RIP written by a hook).
  void settle_block(uint64_t at);
  // Whether an interrupt could be taken at this boundary.
  bool interrupt_ready(bool in_shadow) const;
  // Whether the quantum ends at this boundary (a block's in fast mode, an instruction's in
  // precise mode) for an interrupt or another CPU (see "Execution").
  bool boundary_stop(bool in_shadow);
  // An NMI is pending and may be taken now: not blocked by one in service (until IRET),
  // nor by an STI or MOV SS / POP SS shadow. SDM vol. 2B STI: NMIs "may be blocked" for
  // one instruction after STI; Intel processors block them (what kvm-unit-tests'
  // "nmi-after-sti" expects), so this CPU does.
  bool nmi_takeable(bool in_shadow) const;
  std::optional<uc_err> run_exact_tail();
  // 16, 32 or 64: the code the CPU runs now (CR0.PE, IA32_EFER.LMA, CS.L, CS.D).
  unsigned code_bits() const;
  // The CS descriptor, or its high or low dword, if it can be read (nullopt: the null
  // selector of Unicorn's 64-bit reset state, or a table entry that cannot be read).
  std::optional<uint64_t> cs_descriptor() const;
  std::optional<uint32_t> cs_descriptor_high() const;
  std::optional<uint32_t> cs_descriptor_low() const;
  // CS.base: hook addresses are linear (CS.base + RIP).
  uint64_t cs_base() const;
  // CS.base + RIP, in fast mode only (precise mode needs no block positions).
  uint64_t linear_rip() const { return precise_ ? rip() : rip() + cs_base(); }
  // After a block-hook stop: RIP = the block it stopped before (stop_at_).
  void resume_at_stop();
  static uint32_t on_in(uc_engine* uc, uint32_t port, int size, void* self);
  static void on_out(uc_engine* uc, uint32_t port, int size, uint32_t value, void* self);
  static void on_intr(uc_engine* uc, uint32_t intno, void* self);
  // Unicorn 2.0.1 raises #GP(0) for any non-canonical linear address (QEMU's page walk,
  // "test virtual address sign extension"), a branch's target included, which it has
  // already loaded into RIP, so the fetch faults there. The SDM's vectors: #GP(0) at the
  // branch with RSP as before it (JMP, CALL, RET "64-Bit Mode Exceptions"; `branch` is
  // the branch's linear address), #SS(0) for a reference through SS (§6.15, Interrupt
  // 12). Returns the vector to raise (13 or 12); RIP and RSP rewound for a branch.
  // Unicorn's register for general-purpose register number 0 (RAX) to 15 (R15), the
  // numbering of ModRM, REX and the decoded operands.
  static constexpr int kGprIds[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
                                      UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
                                      UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                                      UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
  uint32_t canonical_fault(std::optional<uint64_t> branch);
  // CPUID answered from cpuid_leaves.h (Unicorn's helper skipped).
  static int on_cpuid(uc_engine* uc, void* self);
  // UMIP, MOV to CR4, MOV to/from DR7 (trapped_insn.h): false when it raised a fault or
  // performed the instruction (RIP written).
  bool check_system_insn(const CheckedInsn& c);
  // Instruction breakpoints (SDM vol. 3A §18.2, §18.3.1.1): the addresses DR7 enables,
  // trap sites in fast mode; a #DB fault at a match with RFLAGS.RF clear.
  void update_breakpoints();
  bool instruction_breakpoint(uint64_t address);
  // Data and I/O breakpoints (debug_breakpoints.h, §18.3.1.2): a memory hook bounded to the
  // watched bytes and IN/OUT collect DR6.Bn in debug_hits_; the next instruction's code
  // hook raises the #DB trap (precise mode while any is armed: choose_mode).
  void update_data_breakpoints(std::vector<DataBreakpoint> bps);
  static void on_data(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  void io_breakpoint(uint16_t port, int size);
  bool data_breakpoint_trap(uint64_t address);
  static bool on_invalid(uc_engine* uc, void* self);
  static bool on_unmapped(uc_engine* uc, uc_mem_type type, uint64_t address, int size, int64_t value, void* self);
  // An access Unicorn found nothing at (see "linear address" above): true when it can go
  // on (an alias page, or the scratch page that makes Unicorn raise the #PF), false with
  // stop_ set.
  bool take_unmapped(uc_mem_type type, uint64_t va);
  // Unmaps the #PF scratch page, if it is mapped.
  void drop_scratch();
  bool map_alias(uint64_t va, uint64_t pa);
  void fail(std::string what);
  // `debug_fault`: a #DB of DR7.GD, a fault (its frame's RF is 1); other #DBs are traps or
  // instruction breakpoints, which push RF as it is (interrupt_entry.h, InterruptEvent::fault).
  void raise_exception(uint32_t vector, std::optional<uint32_t> error_code = {}, bool debug_fault = false);
  // Delivers `event` (RIP is what its frame holds); a fault during delivery is delivered in
  // its place, as a #DF where SDM vol. 3A Table 6-5 says so, with the frame's RIP `fault_rip`
  // (a software interrupt's own address); a fault while delivering #DF stops the run
  // (triple fault). False when nothing could be delivered.
  bool deliver(InterruptEvent event, std::string_view what, uint64_t fault_rip);
  // INT n, INT3 or INTO at `address` (the code hook, RIP at it): performed here, with the
  // gate's DPL checked (interrupt_entry.h).
  void software_interrupt(uint8_t vector, uint32_t size);
  PagingRegs paging_regs() const;
  bool user_mode() const;  // CPL 3
  // Whether the instruction at RIP writes memory (nullopt: its bytes are not readable).
  std::optional<bool> instruction_writes() const;
  bool take_startup_events();
  // The instruction's bytes (its RAM, or through the engine at an alias page); nullptr
  // when they cannot be read.
  const uint8_t* insn_bytes(uint64_t address, uint32_t size, std::array<uint8_t, 15>& scratch) const;
  void perform(TrappedInsn t, uint64_t address, uint32_t size);
  // Both move RIP past the instruction (`size` bytes) when they perform it.
  bool msr_access(uint32_t size, bool write);
  void read_tsc(uint32_t size, bool with_aux);
  // SYSCALL, performed here: Unicorn 2.0.1's only calls hooks (see above).
  void system_call(uint32_t size);
  unsigned cpl() const;
  // Whether the CPU runs 64-bit code: IA-32e mode and CS.L (SDM vol. 3A §5.2.1).
  bool code64() const;
  // Whether the default operand size is 32 bits (CS.D in protected mode; 16 in real and
  // virtual-8086 mode), for code outside 64-bit mode.
  bool code32_operands() const;
  // What the running step has spent against its limit: time, or instructions if exact.
  uint64_t spent() const { return executed_ + (exact_ ? 0 : stall_); }
  void add_stall(uint64_t n) {
    stall_ += n;
    stalled_ += n;
  }
  uint64_t clock() const { return clock_ ? clock_() : entered_ + stalled_ + (precise_ ? 0 : executed_in_step()); }
  // Raises `vector` at a trapped instruction (RIP still at it) and traces `event`.
  void fault_trapped(uint32_t vector, std::optional<uint32_t> error_code, const std::string& event,
                     bool debug_fault = false);
  void refuse_msr(const std::string& what);
  bool vector_into_guest(uint8_t vector, std::string_view what, std::optional<uint64_t> error_code = {});
  // The same in real-address mode, through the IVT (real_mode_interrupt.h).
  bool vector_into_real_mode(uint8_t vector, std::string_view what);
  // Unicorn 2.0.1's PUSHF copies RFLAGS.RF into its image; the SDM's stores 0 there.
  void clear_rf_before_pushf();
  // One delivery attempt; the architected fault (or none: a table outside RAM) on failure.
  std::optional<DeliveryFault> try_vector(const InterruptEvent& event, std::string_view what);

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
  CpuFeatures features_;
  IoPortBus& io_;
  uc_hook code_hook_ = 0, in_hook_ = 0, out_hook_ = 0, cpuid_hook_ = 0, intr_hook_ = 0, invalid_hook_ = 0, unmapped_hook_ = 0;
  std::optional<arch::StopRequest> stop_;  // a stop decided in a hook (take_unmapped)
  // The #PF scratch page: where it is mapped and the error code the walk found.
  std::vector<uint8_t> scratch_page_;
  std::optional<uint64_t> scratch_at_;
  std::optional<uint32_t> scratch_error_code_;
  arch::VaAliases aliases_{arch::VaAliases::kX86MaxRuns};  // alias runs mapped at linear addresses
  std::function<bool(uint64_t va_page, uint64_t pa_page)> alias_mmio_;
  uc_context* reset_context_ = nullptr;  // Unicorn's state right after uc_open
  uc_context* scratch_context_ = nullptr;  // for clearing the engine's exception in flight
  std::optional<ExceptionInFlight> in_flight_;
  std::optional<ErrorCodeRecord> error_codes_;  // the engine's error code (error_code_record.h)
  std::optional<SegmentState> segments_;  // CS/SS hidden parts and the CPL (segment_state.h)
  uint64_t dr7_ = 0x400;      // DR7 as the guest wrote it (trapped_insn.h: Unicorn gets no enables)
  uint32_t insn_size_ = 0;    // the checked instruction's size (check_system_insn)
  std::vector<uint64_t> breakpoints_;  // enabled instruction breakpoints (DR7, DR0-DR3)
  std::vector<DataBreakpoint> data_breakpoints_;  // enabled data and I/O breakpoints
  uint8_t debug_hits_ = 0;  // B0-B3 matched by the instruction running (its #DB trap follows)
  uc_hook data_hook_ = 0;   // UC_HOOK_MEM_READ/WRITE over the watched bytes, while any
  StartupPage startup_page_;
  bool running_ = false;
  bool halted_ = false;
  uint64_t executed_ = 0;  // instructions entered in the current step
  uint64_t entered_ = 0;   // instructions entered since the vCPU was made
  uint64_t last_insn_ = 0;  // the last instruction precise mode's code hook saw (linear)
  uint64_t stall_ = 0;     // PAUSE stall in the current (or last) step, in instruction-times
  uint64_t stalled_ = 0;   // PAUSE stall since the vCPU was made (the clock without a machine)
  std::function<uint64_t()> clock_;
  std::function<bool()> extint_pending_;
  std::function<uint8_t()> extint_ack_;
  TimeStampCounter tsc_;
  bool in_step_ = false;
  bool sti_shadow_ = false;  // the last instruction executed opened an interrupt shadow (STI, MOV SS, POP SS)
  bool movss_shadow_ = false;  // ... and it was MOV SS or POP SS: NMIs wait too
  // NMIs are blocked from the delivery of one until the next IRET (SDM vol. 3A §6.7.1).
  bool nmi_blocked_ = false;
  // Execution mode and the fast mode's state (see "Execution").
  bool precise_ = true, mode_chosen_ = false;
  uc_hook block_hook_ = 0, fetch_hook_ = 0;
  // Blocks kept by address; one address can hold blocks of several sizes (Unicorn
  // translates a one-off block of fewer instructions where a run resumes after a stop).
  std::unordered_map<uint64_t, std::vector<Block>> blocks_;
  // The blocks seen last, one slot per address hash, in front of blocks_ (its lookup cost
  // more than the rest of the block hook). A slot is cleared whenever blocks_ changes at
  // its address.
  struct Recent {
    uint64_t address = ~uint64_t{0};
    uint32_t size = 0;
    Block* block = nullptr;
  };
  static constexpr std::size_t kRecentSlots = 1024;
  std::array<Recent, kRecentSlots> recent_{};
  static std::size_t recent_slot(uint64_t address) { return (address ^ (address >> 10)) % kRecentSlots; }
  std::unordered_set<uint64_t> hooked_at_;  // addresses with a trap-site code hook
  std::vector<uc_hook> site_hooks_;
  BlockDecoder decoder_;
  const Block* cur_ = nullptr;      // the running block (nullptr: none, or dropped)
  uint64_t block_start_ = 0, pending_ = 0;  // the running block and its instructions
  uint64_t pending_stall_ = 0;      // ... and the delay of the PAUSE it ends with
  uint64_t in_block_ = 0;           // see executed_in_step()
  uint64_t limit_ = 0;              // instructions this quantum may retire
  bool exact_ = false;              // the limit is the run's budget: keep it exactly
  bool irq_check_ = false;          // something is pending at the APIC: look at boundaries
  bool retranslate_ = false;        // stopped before a block to hook its sites
  bool sites_full_ = false;         // too many trap-site hooks: precise mode from now on
  bool end_quantum_ = false;        // end the quantum at the next block boundary
  std::optional<uint64_t> stop_at_;  // the block a block-hook stop ended the run before
  bool counting_ = false;           // run_exact_tail: on_count counts
  bool prev_sti_ = false;           // the block before ended with an interrupt shadow ...
  bool prev_movss_ = false;         // ... of MOV SS or POP SS
  uint64_t prev_end_ = 0;           // ... and ended here
  struct Tail {
    uint64_t address, size;
  };
  std::optional<Tail> exact_tail_;  // the block that would have overshot the budget
  const uint64_t* attention_ = nullptr;
  uint64_t seen_attention_ = 0;
  std::function<bool()> others_need_turn_;
  std::optional<std::string> error_;
  std::array<uint64_t, 256> taken_{};
  std::function<void()> after_out_;
  std::function<void(uint64_t, uint32_t)> on_insn_;
  Trace trace_;
};

// "#GP" for 13, "#UD" for 6, ... ("vector 0x41" for the others).
std::string exception_name(uint32_t vector);

}  // namespace irqremap::x86
