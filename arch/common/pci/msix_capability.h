#pragma once
// The MSI-X capability (PCI Local Bus Specification 3.0 §6.8.2), ID 11h, and the two
// structures it points at inside the function's memory BARs:
//
//   config  +0 ID, next   +2 Message Control: 10:0 Table Size (N - 1, RO), 14 Function
//           Mask, 15 MSI-X Enable   +4 Table Offset (31:3) / BIR (2:0)   +8 PBA Offset / BIR
//   table   16 bytes per vector (§6.8.2.6-9): +0 Message Address (1:0 RO zero), +4 Message
//           Upper Address, +8 Message Data, +C Vector Control (bit 0 Mask Bit, set at reset)
//   PBA     one Pending Bit per vector, read-only (§6.8.2.10)
//
// Sending (§6.8.3.5 and §6.8.3.4): a vector the function signals while MSI-X is enabled and
// neither the function nor the vector is masked goes out at once as a memory write of the
// entry's data to its address; otherwise its Pending bit is set, and the message goes out
// (Pending cleared) as soon as nothing masks the vector any more: Mask Bit or Function Mask
// cleared, or MSI-X enabled. The specification leaves a signal while MSI-X is disabled to
// INTx; it is held as Pending here too, as QEMU's msix_notify does.
//
// The table is the device's message store. Linux writes an entry once when it activates
// the interrupt and never again when the interrupt moves behind an ITS or an interrupt
// remapping unit: counters() show it (message writes, and those made while the vector
// could fire: enabled, unmasked).
//
// Accesses: software must use aligned DWORD or QWORD accesses (§6.8.2, "for all accesses to
// MSI-X Table and MSI-X PBA fields"); others have undefined results and are ignored here
// (reads return all-ones) and traced by the owner. A QWORD access is two DWORDs, low first.
#include <cstdint>
#include <vector>

#include "arch/common/pci/config_space.h"
#include "remap/msi.h"
#include "snapshot/state_io.h"

namespace irqremap::pci {

class MsixCapability {
 public:
  static constexpr uint8_t kId = 0x11;
  static constexpr uint16_t FUNCTION_MASK = 1u << 14, ENABLE = 1u << 15;  // Message Control
  static constexpr uint32_t VECTOR_MASKED = 1u << 0;                      // Vector Control
  static constexpr unsigned kEntrySize = 16;

  struct Counters {
    uint64_t message_writes = 0;   // DWORD writes to Message Address / Upper / Data
    uint64_t rewrites_live = 0;    // ... of those while MSI-X was enabled and the vector unmasked
    uint64_t sent = 0;             // messages sent
    uint64_t held = 0;             // signals that found the vector masked (Pending set)
  };

  // Adds the capability for `vectors` (1..2048) with the table at `table_offset` in BAR
  // `table_bar` and the PBA at `pba_offset` in BAR `pba_bar` (8-byte aligned offsets);
  // messages go to `sink` with `source` as the requester ID.
  MsixCapability(ConfigSpace& c, unsigned vectors, unsigned table_bar, uint32_t table_offset, unsigned pba_bar,
                 uint32_t pba_offset, MsiSink& sink, uint32_t source);

  unsigned offset() const { return at_; }
  // The requester ID messages carry (known once the bus has placed the function).
  void set_source(uint32_t source) { source_ = source; }
  unsigned vectors() const { return unsigned(entries_.size()); }
  bool enabled() const { return (control() & ENABLE) != 0; }
  bool function_masked() const { return (control() & FUNCTION_MASK) != 0; }
  bool vector_masked(unsigned v) const { return (entries_.at(v).control & VECTOR_MASKED) != 0; }
  bool pending(unsigned v) const { return entries_.at(v).pending; }
  MsiWrite message(unsigned v) const;
  const Counters& counters(unsigned v) const { return entries_.at(v).counters; }

  // Whether BAR `bar` offset `offset` falls in the table / the PBA.
  bool in_table(unsigned bar, uint64_t offset) const;
  bool in_pba(unsigned bar, uint64_t offset) const;
  // Register access inside the table or the PBA (offset from the BAR's start); false when
  // the access is not an aligned DWORD or QWORD (ignored).
  bool read(unsigned bar, uint64_t offset, unsigned size, uint64_t& value) const;
  bool write(unsigned bar, uint64_t offset, unsigned size, uint64_t value);

  // The owner calls this after every config write: clearing Function Mask (or setting
  // Enable) releases pending vectors that are no longer masked.
  void config_written();
  // The function signals vector v (v < vectors(); a vector past the table is ignored, as
  // VIRTIO's NO_VECTOR). Returns whether a message went out now.
  bool notify(unsigned v);
  // Its part of a snapshot: each vector's table entry, Pending bit and counters (the
  // capability's Message Control is in the configuration space).
  void state(snapshot::Io& io);

 private:
  struct Entry {
    uint32_t address_lo = 0, address_hi = 0, data = 0, control = VECTOR_MASKED;
    bool pending = false;
    Counters counters;
  };
  uint16_t control() const { return c_.get16(at_ + 2); }
  bool can_send(unsigned v) const { return enabled() && !function_masked() && !vector_masked(v); }
  void send(unsigned v);
  void release_pending();
  uint32_t read_dword(unsigned bar, uint64_t offset) const;
  void write_dword(unsigned bar, uint64_t offset, uint32_t value);

  ConfigSpace& c_;
  unsigned at_;
  unsigned table_bar_, pba_bar_;
  uint32_t table_offset_, pba_offset_;
  MsiSink& sink_;
  uint32_t source_;
  std::vector<Entry> entries_;
};

}  // namespace irqremap::pci
