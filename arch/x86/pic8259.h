#pragma once
// The PC's two cascaded 8259A programmable interrupt controllers (Intel 8259A datasheet,
// order 231468; as in the ICH9 that q35 models, with its edge/level control registers
// ELCR1/ELCR2 at I/O 0x4D0/0x4D1): master at I/O 0x20/0x21 with ISA IRQ 0-7, slave at
// 0xA0/0xA1 with IRQ 8-15 on the master's IR2. Their INTR output reaches CPU 0's local
// APIC on LINT0, which the firmware programs for ExtINT (virtual wire mode, MultiProcessor
// Specification 1.4 §3.6.2.2): the CPU takes the interrupt with the vector the PICs give
// at INTA (local_apic.h accepts_extint, x86_vcpu.h).
//
// Modelled: the ICW1-ICW4 initialisation sequence (ICW1 clears IMR and ISR, resets the
// priority to IR0 highest and selects IRR for reads), the vector base of ICW2, edge and
// level triggering (ICW1.LTIM or the ELCR bit), OCW1 (IMR), OCW2 (non-specific and
// specific EOI, rotation on EOI and by command, set priority), OCW3 (read IRR or ISR,
// poll, special mask mode), automatic EOI (ICW4.AEOI), fixed and rotating priority, the
// cascade through IR2, and the spurious vector (IR7) when a request goes away before INTA.
// Not modelled, said once here: special fully nested mode (ICW4.SFNM: a slave's higher
// request is held while the slave is in service, as in fully nested mode), buffered mode
// (electrical), 8080/8085 call vectors (ICW4.µPM = 0 is taken as 8086 mode), and the
// single (non-cascaded) configuration's effect on the slave.
//
// Edge-triggered inputs latch in IRR on a rising edge and stay there until acknowledged
// (the datasheet requires the request to stay high until INTA; QEMU's PIC, the reference
// the kvm-unit-tests transcripts come from, keeps the latched request too).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "arch/x86/io_port.h"
#include "snapshot/state_io.h"

namespace irqremap::x86 {

class Pic8259Pair {
 public:
  static constexpr uint16_t kMasterPort = 0x20, kSlavePort = 0xA0, kElcrPort = 0x4D0;
  static constexpr unsigned kCascadeIr = 2;  // the slave's INT on the master's IR2

  Pic8259Pair();

  // ISA line `irq` (0..15) at `level` (high = asserted).
  void set_irq(unsigned irq, bool level);
  // Whether INTR is asserted: an unmasked request of higher priority than every
  // interrupt in service (or any unmasked request in special mask mode).
  bool intr() const;
  // The INTA cycle: the vector of the highest-priority request, which goes in service
  // (or is ended at once under automatic EOI); the IR7 vector when the request went away.
  uint8_t acknowledge();
  // What a PC BIOS leaves (SeaBIOS's pic_setup on QEMU): both initialised in cascade,
  // 8086 mode, vector bases 0x08 and 0x70, every IRQ masked but `unmasked` (bits 0-15).
  void bios_setup(uint16_t unmasked);

  // The I/O ports: master at kMasterPort, slave at kSlavePort (2 each), ELCR at kElcrPort.
  IoPortDevice& master_ports() { return master_ports_; }
  IoPortDevice& slave_ports() { return slave_ports_; }
  IoPortDevice& elcr_ports() { return elcr_ports_; }
  // Called whenever INTR may have changed (the machine wakes or kicks CPU 0).
  void set_on_change(std::function<void()> f) { on_change_ = std::move(f); }

  // For tests and the explanation of a run.
  uint8_t irr(unsigned chip) const { return chips_.at(chip).irr; }
  uint8_t isr(unsigned chip) const { return chips_.at(chip).isr; }
  uint8_t imr(unsigned chip) const { return chips_.at(chip).imr; }

  // Its part of a machine snapshot (docs/SNAPSHOT.md).
  void state(snapshot::Io& io);

 private:
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0;
    uint8_t lines = 0;        // input levels, for edge detection
    uint8_t elcr = 0;         // level-triggered inputs (ELCR)
    uint8_t vector_base = 0;  // ICW2 & 0xF8
    uint8_t lowest = 7;       // lowest-priority IR (rotation); IR0 highest after ICW1
    uint8_t init_step = 0;    // 0: operating; 2, 3, 4: the ICW expected next
    bool icw4_needed = false, single = false, level_mode = false;
    bool auto_eoi = false, rotate_on_aeoi = false, special_mask = false;
    bool read_isr = false, poll = false;
    // The highest-priority IR set in `bits`, in this chip's priority order.
    std::optional<unsigned> highest(uint8_t bits) const;
    // The IR whose request would be raised now, if any.
    std::optional<unsigned> pending() const;
    uint8_t in(unsigned a0);
    void out(unsigned a0, uint8_t v);
    void input(unsigned ir, bool level);
    void eoi(unsigned ir, bool rotate);
    // INTA on this chip for IR `ir`: in service (or ended under AEOI), IRR cleared if edge.
    void ack(unsigned ir);
    void state(snapshot::Io& io);
  };
  struct Ports final : IoPortDevice {
    Pic8259Pair& p;
    unsigned chip;
    Ports(Pic8259Pair& pair, unsigned c) : p(pair), chip(c) {}
    std::string_view io_name() const override { return chip == 0 ? "pic-master" : "pic-slave"; }
    uint16_t io_size() const override { return 2; }
    uint32_t io_in(uint16_t offset, unsigned size) override;
    void io_out(uint16_t offset, unsigned size, uint32_t value) override;
  };
  struct ElcrPorts final : IoPortDevice {
    Pic8259Pair& p;
    explicit ElcrPorts(Pic8259Pair& pair) : p(pair) {}
    std::string_view io_name() const override { return "elcr"; }
    uint16_t io_size() const override { return 2; }
    uint32_t io_in(uint16_t offset, unsigned size) override;
    void io_out(uint16_t offset, unsigned size, uint32_t value) override;
  };
  // The slave's INT drives the master's IR2.
  void cascade();
  void changed() {
    cascade();
    if (on_change_) on_change_();
  }

  std::array<Chip, 2> chips_{};
  Ports master_ports_{*this, 0}, slave_ports_{*this, 1};
  ElcrPorts elcr_ports_{*this};
  std::function<void()> on_change_;
};

}  // namespace irqremap::x86
