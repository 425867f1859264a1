#pragma once
// One CPU's local APIC (Intel SDM vol. 3A chapter 11): the interrupt-acceptance side VT-d
// delivers into (IRR/ISR/TMR, TPR/PPR, EOI), the register file software sees as xAPIC
// MMIO (§11.4.1) or x2APIC MSRs (§11.12), and the ICR that sends IPIs. Plain C++: the
// vCPU glue asks `deliverable()` before each guest instruction block, vectors the
// interrupt through the IDT after `acknowledge()`, and the guest's EOI write ends it.
//
// Modelled: ID, Version, TPR, PPR, EOI, LDR, DFR (flat and cluster), SVR, ISR, TMR, IRR,
// ESR, ICR (fixed, lowest priority, NMI, INIT, Start Up; shorthands), SELF IPI (x2APIC),
// IA32_APIC_BASE mode changes (disabled / xAPIC / x2APIC, §11.12.5).
// The timer (§11.5.4: one-shot, periodic, TSC-deadline) counts on the machine's clock
// (apic_timer.h) and raises its LVT vector at this APIC when it expires, unless masked.
// Not modelled, said once here: the thermal, performance and CMCI sources never fire
// (their LVT entries keep what software writes); APR and RRD read 0. Focus-processor
// checking is not implemented.
// EOI of a level-triggered vector (TMR set) is broadcast to the I/O APICs (§11.8.5), which
// clear Remote IRR of their entries with that vector. The Version register does not
// advertise EOI-broadcast suppression (bit 24 = 0, as QEMU's), so SVR bit 12 is reserved
// and every level EOI is broadcast.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "arch/x86/apic_regs.h"
#include "arch/x86/apic_timer.h"
#include "remap/mmio.h"
#include "remap/remapper.h"
#include "remap/trace.h"

namespace irqremap::snapshot {
class Io;
}

namespace irqremap::x86 {

// An IPI written to the ICR, as the bus routes it (§11.6.1).
struct Ipi {
  uint32_t source = 0;   // sending APIC ID
  uint8_t shorthand = 0; // 0 none, 1 self, 2 all incl. self, 3 all excl. self
  ApicDelivery request;  // dest, DM, vector, DLM, TM (remapped=false: not from VT-d)
  bool operator==(const Ipi&) const = default;
};

enum class ApicMode : uint8_t { Disabled, XApic, X2Apic };

class LocalApic final : public MmioDevice {
 public:
  // apic_id: the initial APIC ID (xAPIC 8 bits; x2APIC 32 bits). bsp sets IA32_APIC_BASE.BSP.
  LocalApic(uint32_t apic_id, bool bsp);

  // --- software view -----------------------------------------------------------------
  // xAPIC MMIO (MmioDevice): the page at IA32_APIC_BASE, per-CPU. Registers are 32 bits at
  // 16-byte strides; narrower or misaligned accesses read the containing register's bytes
  // and are otherwise ignored (§11.4.1: "must be 128-bit aligned ... 32-bit loads and
  // stores"). In x2APIC or disabled mode nothing decodes the page (§11.4.3, §11.12.2):
  // reads return all ones, writes go nowhere.
  std::string_view mmio_name() const override { return "LAPIC"; }
  uint64_t mmio_size() const override { return apic::kPageSize; }
  uint64_t mmio_read(uint64_t offset, unsigned size) override;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) override;

  // RDMSR/WRMSR of IA32_APIC_BASE and 0x800-0x8FF. nullopt / false: the access raises
  // #GP(0) (x2APIC MSR outside x2APIC mode, read-only or absent register, reserved bits,
  // illegal mode transition), which the vCPU glue turns into a guest exception.
  std::optional<uint64_t> msr_read(uint32_t msr) const;
  bool msr_write(uint32_t msr, uint64_t value);
  static bool handles_msr(uint32_t msr) {
    return msr == apic::IA32_APIC_BASE ||
           (msr >= apic::kX2apicMsrFirst && msr <= apic::kX2apicMsrLast);
  }

  // --- the interrupt path ------------------------------------------------------------
  // Accept an interrupt request from the bus (VT-d, a compatibility MSI, an IPI). Fixed
  // and lowest-priority set IRR (and TMR when level); NMI, INIT and Start Up latch for the
  // vCPU glue. A vector below 16 is illegal (§11.5.3): dropped with ESR "Receive Illegal
  // Vector". A globally disabled APIC accepts nothing. Returns whether it was accepted.
  bool accept(const ApicDelivery& request);
  // Called after whatever may change what this APIC offers its CPU: an accepted request
  // and every register write (EOI, TPR, SVR, ICR, IA32_APIC_BASE). The machine uses it to
  // end a running quantum at its next block boundary (x86_vcpu.h "Execution").
  void set_on_change(std::function<void()> f) { on_change_ = std::move(f); }
  // Where the EOI of a level-triggered vector goes (the machine's I/O APIC, §11.8.5).
  void set_eoi_broadcast(std::function<void(uint8_t vector)> f) { eoi_broadcast_ = std::move(f); }

  // The highest IRR vector whose priority class beats PPR (§11.8.3.1), if the APIC is
  // software-enabled. The glue vectors it only when RFLAGS.IF=1.
  std::optional<uint8_t> deliverable() const;
  // INTA: move the highest deliverable IRR vector to ISR and return it (§11.8.4).
  std::optional<uint8_t> acknowledge();
  // Whether an interrupt could wake the CPU from HLT (deliverable, or NMI/INIT pending).
  bool wake_pending() const { return deliverable().has_value() || nmi_pending_ || init_pending_; }
  // --- the timer (apic_timer.h) -------------------------------------------------------
  // The machine's clock (TSC clock ticks); without one the timer stands at time 0.
  void set_clock(std::function<uint64_t()> f) { clock_ = std::move(f); }
  // When the timer next expires on the clock, if armed.
  std::optional<uint64_t> timer_expiry() const { return timer_.next_expiry(); }
  // Whether its expiry would change anything: the LVT Timer is unmasked and its vector
  // not already pending in IRR (an idle machine jumps time only to such an expiry).
  bool timer_expiry_matters() const;
  // Brings the timer up to the clock: an expiry since the last call sets the LVT Timer's
  // vector in IRR (fixed, edge), unless the entry is masked.
  void update_timer();
  // IA32_TSC_DEADLINE (6E0H): in the CPU's TSC as software reads and writes it, and on
  // the clock (the vCPU converts with its TSC offset).
  uint64_t tsc_deadline() const { return timer_.deadline(); }
  void write_tsc_deadline(uint64_t tsc, uint64_t clock);
  const ApicTimer& timer() const { return timer_; }

  // Whether the 8259s' INTR reaches this CPU (their ExtINT): through LINT0 programmed for
  // ExtINT and unmasked (virtual wire mode, MultiProcessor Specification 1.4 §3.6.2.2), or
  // straight to the processor when the APIC is globally disabled (SDM §11.4.3).
  bool accepts_extint() const;
  // What the firmware leaves on the bootstrap processor: LINT0 in ExtINT mode, unmasked
  // (0x700), so the PICs' interrupts reach it; QEMU's APIC reset does the same for CPU 0
  // (hw/intc/apic_common.c apic_reset_common), the SVR's software enable notwithstanding.
  void set_virtual_wire();
  bool take_nmi();   // an accepted NMI, consumed by the glue
  bool take_init();  // an accepted INIT, consumed by the glue
  std::optional<uint8_t> take_startup();  // an accepted SIPI's vector
  bool init_pending() const { return init_pending_; }
  bool nmi_pending() const { return nmi_pending_; }
  bool startup_pending() const { return sipi_.has_value(); }
  // The INIT the glue performs (§11.4.7.3 "Local APIC State After an INIT Reset"): every
  // register to its power-up value except the APIC ID, IA32_APIC_BASE and the mode; a
  // Start Up IPI accepted after the INIT stays latched.
  void init_reset();

  // --- state for the bus, the glue and tests ------------------------------------------
  uint32_t apic_id() const { return id_; }
  // The ID a physical destination names this APIC by (§11.6.2.1): in xAPIC mode the ID
  // register's bits 31:24 as software last wrote them (§11.4.6: writable on this model,
  // so two APICs may share one and then both accept), in x2APIC mode the x2APIC ID.
  uint32_t physical_id() const { return mode_ == ApicMode::X2Apic ? id_ : xapic_id_reg_ >> 24; }
  ApicMode mode() const { return mode_; }
  uint64_t apic_base() const { return base_; }
  // Where the xAPIC page is: IA32_APIC_BASE[MAXPHYADDR-1:12] (§11.4.4).
  uint64_t base_address() const { return fields::get(base_, apic::BASE_ADDR) << 12; }
  // MAXPHYADDR (CPUID.80000008H:EAX[7:0]): IA32_APIC_BASE bits from it up to 51 are
  // reserved (§11.4.4, Figure 11-5), a write setting one is #GP(0). Default 52.
  void set_max_phys_bits(unsigned bits) { max_phys_bits_ = bits; }
  // Whether the CPU has x2APIC mode (CPUID.1:ECX[21]); without it IA32_APIC_BASE.EXTD is
  // reserved (§11.12.1: #GP on setting it) and the x2APIC MSRs stay out of reach.
  void set_x2apic_supported(bool on) { x2apic_supported_ = on; }
  // Called after a write of IA32_APIC_BASE that moved the page (the machine binds a
  // window there: lapic_window.h).
  void set_on_base_change(std::function<void(uint64_t address)> f) { on_base_change_ = std::move(f); }
  bool software_enabled() const;
  uint8_t tpr() const { return uint8_t(tpr_); }
  // CR8 (SDM vol. 3A §11.8.6.1): reads give TPR[7:4]; a write sets TPR[7:4] and clears
  // TPR[3:0]. The processor keeps the TPR behind CR8 in every APIC mode: while the APIC is
  // hardware-disabled CR8 still reads back what was written (what Intel processors and KVM
  // do; the SDM only says a disabled APIC is as if absent), and the disable already reset
  // the register (§11.4.7.1), so re-enabling starts from what CR8 holds.
  uint64_t cr8() const { return tpr_ >> 4; }
  void write_cr8(uint64_t value);
  uint8_t ppr() const;
  bool irr(uint8_t vector) const { return test(irr_, vector); }
  bool isr(uint8_t vector) const { return test(isr_, vector); }
  bool tmr(uint8_t vector) const { return test(tmr_, vector); }
  uint32_t esr() const { return esr_; }
  // Whether a logical destination `dest` (MDA) selects this APIC (§11.6.2.2; x2APIC
  // §11.12.10.2). Physical destination matching is done by the bus (ID or broadcast).
  bool matches_logical(uint32_t dest) const;
  uint32_t logical_id() const;  // LDR as software sees it

  // The APIC's part of a machine snapshot: IA32_APIC_BASE and the mode, every register
  // (IRR/ISR/TMR included), the latched NMI, INIT and Start Up (local_apic_state.cpp).
  void state(snapshot::Io& io);

  // Where ICR writes go (the bus routes them).
  void set_ipi_sender(std::function<void(const Ipi&)> send) { send_ = std::move(send); }
  Trace& trace() { return trace_; }

 private:
  using Bits256 = std::array<uint32_t, 8>;
  static bool test(const Bits256& b, uint8_t v) { return (b[v / 32] >> (v % 32)) & 1u; }
  static void put(Bits256& b, uint8_t v, bool on) {
    if (on) b[v / 32] |= 1u << (v % 32); else b[v / 32] &= ~(1u << (v % 32));
  }
  static int highest(const Bits256& b);

  // Register file by 16-byte index, shared by the MMIO and MSR views. `x2` selects x2APIC
  // semantics (full 32-bit ID, read-only LDR, no DFR).
  std::optional<uint32_t> read_reg(uint64_t offset, bool x2) const;
  // false: the register is read-only or absent in this mode (#GP under x2APIC).
  bool write_reg(uint64_t offset, uint32_t value, bool x2);
  void eoi();
  void send_icr(uint64_t icr, bool x2);
  void reset_registers();
  std::string unit() const;
  // A trace event from this APIC. `make` gives its text and values and runs only when
  // someone listens: an untraced guest's register accesses format nothing.
  struct NoteText {
    std::string text;
    std::vector<std::pair<std::string, uint64_t>> values;
  };
  template <typename MakeNote>
  void note(EventKind kind, MakeNote&& make) const {
    if (trace_.on()) emit_note(kind, make());
  }
  void emit_note(EventKind kind, NoteText n) const;

  uint32_t id_;       // initial APIC ID
  bool bsp_;
  ApicMode mode_ = ApicMode::XApic;
  uint64_t base_;     // IA32_APIC_BASE
  unsigned max_phys_bits_ = 52;
  bool x2apic_supported_ = true;
  std::function<void(uint64_t)> on_base_change_;
  uint32_t xapic_id_reg_ = 0;  // xAPIC ID register (writable, bits 31:24)
  uint32_t tpr_ = 0, ldr_ = 0, dfr_ = 0xFFFF'FFFF, svr_ = 0xFF;
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint32_t icr_lo_ = 0, icr_hi_ = 0;
  std::array<uint32_t, 7> lvt_{};  // CMCI, Timer, Thermal, PMC, LINT0, LINT1, Error
  ApicTimer timer_;
  std::function<uint64_t()> clock_;
  uint64_t now() const { return clock_ ? clock_() : 0; }
  Bits256 irr_{}, isr_{}, tmr_{};
  bool nmi_pending_ = false, init_pending_ = false;
  std::function<void()> on_change_;
  std::function<void(uint8_t)> eoi_broadcast_;
  // Calls on_change_ when it goes out of scope (every return of a changing function).
  struct ChangeNotice {
    const LocalApic& apic;
    ~ChangeNotice() {
      if (apic.on_change_) apic.on_change_();
    }
  };
  std::optional<uint8_t> sipi_;
  std::function<void(const Ipi&)> send_;
  Trace trace_;
};

}  // namespace irqremap::x86
