#pragma once
// The PC's 8254 programmable interval timer (Intel 82C54 datasheet, order 231244) at I/O
// 0x40-0x43, counting at 1.193182 MHz on the machine's deterministic clock: its count is
// derived from the TSC clock (time_stamp_counter.h, one tick per nanosecond), never from
// the host. Counter 0's output is ISA IRQ 0 (the 8259's IR0; the I/O APIC's input 2).
//
// Modelled: the control word (counter select, read/write LSB, MSB or LSB then MSB, mode,
// binary counting), the counter latch command, count reads of all three counters, and
// counter 0's interrupt: mode 0 (interrupt on terminal count: one rising edge N + 1 clocks
// after the count is written), modes 2 and 3 (rate generator and square wave: a rising
// edge every N clocks), mode 4 (software-triggered strobe: one pulse after N + 1 clocks);
// a count of 0 is 65536. The gates are high (counters 0 and 1 are wired so on a PC), so
// modes 1 and 5, which wait for a gate edge, never count.
// Not modelled, said once here: BCD counting (the count is taken as binary), the
// read-back command (ignored), counter 2's gate and output at port 0x61 (the speaker).
//
// A PC BIOS leaves counter 0 in mode 2 (SeaBIOS: mode 2 with the full count, as every BIOS
// since the IBM PC), so IRQ 0 fires at 18.2 Hz (bios_setup).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "arch/x86/io_port.h"
#include "snapshot/state_io.h"

namespace irqremap::x86 {

class Pit8254 {
 public:
  static constexpr uint16_t kPort = 0x40;
  static constexpr uint64_t kHz = 1'193'182;            // the PC's 14.31818 MHz / 12
  static constexpr uint64_t kClockHz = 1'000'000'000;   // the machine's clock (TSC ticks/s)

  // `now()`: the machine's clock in kClockHz ticks; `irq0(level)`: counter 0's output.
  Pit8254(std::function<uint64_t()> now, std::function<void(bool)> irq0)
      : now_(std::move(now)), irq0_(std::move(irq0)) {}

  IoPortDevice& ports() { return ports_; }
  // Raises counter 0's edges that are due by now (the machine calls it between quanta and
  // when time jumps); each due edge is a pulse on IRQ 0, several at once coalesce as an
  // edge-triggered input does.
  void update();
  // The clock time (kClockHz ticks) of counter 0's next edge, if one will come.
  std::optional<uint64_t> next_edge() const;
  // The BIOS's programming: counter 0 in mode 2, LSB then MSB, count 0 (65536).
  void bios_setup();

  // Its part of a machine snapshot (docs/SNAPSHOT.md).
  void state(snapshot::Io& io);

 private:
  struct Counter {
    uint8_t mode = 0;         // 0-5
    uint8_t access = 3;       // 1 LSB, 2 MSB, 3 LSB then MSB
    uint32_t reload = 0;      // N (0 stands for 65536)
    uint64_t start = 0;       // PIT clock when counting began
    bool counting = false;    // a count was written (and, mode 0/4, the edge not yet given)
    bool write_msb_next = false, read_msb_next = false;
    uint8_t write_lsb = 0;
    std::optional<uint16_t> latched;  // the counter latch command's value
    uint64_t edges = 0;       // counter 0: edges raised since `start`
    uint32_t period() const { return reload == 0 ? 0x1'0000 : reload; }
  };
  struct Ports final : IoPortDevice {
    Pit8254& p;
    explicit Ports(Pit8254& pit) : p(pit) {}
    std::string_view io_name() const override { return "pit"; }
    uint16_t io_size() const override { return 4; }
    uint32_t io_in(uint16_t offset, unsigned size) override;
    void io_out(uint16_t offset, unsigned size, uint32_t value) override;
  };
  uint64_t pit_now() const;
  uint16_t count_now(const Counter& c) const;
  void load(Counter& c, uint32_t value);
  // Counter 0's k-th edge (k >= 1) in PIT clocks after its start, if it has one.
  std::optional<uint64_t> edge_at(uint64_t k) const;

  std::function<uint64_t()> now_;
  std::function<void(bool)> irq0_;
  std::array<Counter, 3> counters_{};
  Ports ports_{*this};
};

}  // namespace irqremap::x86
