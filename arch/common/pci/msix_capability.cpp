#include "arch/common/pci/msix_capability.h"

#include <stdexcept>

namespace irqremap::pci {

MsixCapability::MsixCapability(ConfigSpace& c, unsigned vectors, unsigned table_bar, uint32_t table_offset,
                               unsigned pba_bar, uint32_t pba_offset, MsiSink& sink, uint32_t source)
    : c_(c), at_(c.add_capability(kId, 12)), table_bar_(table_bar), pba_bar_(pba_bar),
      table_offset_(table_offset), pba_offset_(pba_offset), sink_(sink), source_(source), entries_(vectors) {
  if (vectors == 0 || vectors > 2048 || table_bar > 5 || pba_bar > 5 || (table_offset & 7) || (pba_offset & 7))
    throw std::invalid_argument("MSI-X: 1..2048 vectors, BIR 0..5, 8-byte aligned offsets");
  c_.set16(at_ + 2, uint16_t(vectors - 1));
  c_.set_wmask(at_ + 2, 2, FUNCTION_MASK | ENABLE);
  c_.set32(at_ + 4, table_offset | table_bar);
  c_.set32(at_ + 8, pba_offset | pba_bar);
}

MsiWrite MsixCapability::message(unsigned v) const {
  const Entry& e = entries_.at(v);
  return MsiWrite{e.address_lo | (uint64_t(e.address_hi) << 32), e.data, source_};
}

bool MsixCapability::in_table(unsigned bar, uint64_t offset) const {
  return bar == table_bar_ && offset >= table_offset_ && offset - table_offset_ < entries_.size() * kEntrySize;
}

bool MsixCapability::in_pba(unsigned bar, uint64_t offset) const {
  return bar == pba_bar_ && offset >= pba_offset_ && offset - pba_offset_ < ((entries_.size() + 63) / 64) * 8;
}

uint32_t MsixCapability::read_dword(unsigned bar, uint64_t offset) const {
  if (in_table(bar, offset)) {
    const uint64_t o = offset - table_offset_;
    const Entry& e = entries_[o / kEntrySize];
    switch (o % kEntrySize) {
      case 0: return e.address_lo;
      case 4: return e.address_hi;
      case 8: return e.data;
      default: return e.control;
    }
  }
  // PBA: bit n of QWORD n / 64 is vector n's Pending bit.
  const uint64_t first = (offset - pba_offset_) * 8;
  uint32_t bits = 0;
  for (unsigned i = 0; i < 32 && first + i < entries_.size(); ++i)
    if (entries_[first + i].pending) bits |= 1u << i;
  return bits;
}

bool MsixCapability::read(unsigned bar, uint64_t offset, unsigned size, uint64_t& value) const {
  if ((size != 4 && size != 8) || (offset % size) != 0) return false;
  value = read_dword(bar, offset);
  if (size == 8) value |= uint64_t(read_dword(bar, offset + 4)) << 32;
  return true;
}

void MsixCapability::write_dword(unsigned bar, uint64_t offset, uint32_t value) {
  if (!in_table(bar, offset)) return;  // the PBA is read-only
  const uint64_t o = offset - table_offset_;
  const unsigned v = unsigned(o / kEntrySize);
  Entry& e = entries_[v];
  const unsigned field = unsigned(o % kEntrySize);
  if (field == 12) {
    // Only the Mask Bit is defined (§6.8.2.9); unmasking releases a pending message.
    e.control = value & VECTOR_MASKED;
    release_pending();
    return;
  }
  ++e.counters.message_writes;
  if (can_send(v)) ++e.counters.rewrites_live;
  if (field == 0) e.address_lo = value & ~3u;  // DWORD-aligned address (§6.8.2.6)
  else if (field == 4) e.address_hi = value;
  else e.data = value;
}

bool MsixCapability::write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
  if ((size != 4 && size != 8) || (offset % size) != 0) return false;
  write_dword(bar, offset, uint32_t(value));
  if (size == 8) write_dword(bar, offset + 4, uint32_t(value >> 32));
  return true;
}

void MsixCapability::send(unsigned v) {
  Entry& e = entries_[v];
  e.pending = false;
  ++e.counters.sent;
  sink_.msi_write(message(v));
}

void MsixCapability::release_pending() {
  for (unsigned v = 0; v < entries_.size(); ++v)
    if (entries_[v].pending && can_send(v)) send(v);
}

void MsixCapability::config_written() { release_pending(); }

bool MsixCapability::notify(unsigned v) {
  if (v >= entries_.size()) return false;
  if (!can_send(v)) {
    entries_[v].pending = true;
    ++entries_[v].counters.held;
    return false;
  }
  send(v);
  return true;
}

}  // namespace irqremap::pci

namespace irqremap::pci {

void MsixCapability::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "msix");
  // The vector count is the capability's construction; a file with another is refused.
  const size_t n = io.count("vectors", entries_.size(), entries_.size());
  if (!io.check(n == entries_.size(), "another MSI-X table size")) return;
  for (Entry& e : entries_) {
    snapshot::Io::Group v(io, "vector");
    io.field("Message_Address", e.address_lo);
    io.field("Message_Upper_Address", e.address_hi);
    io.field("Message_Data", e.data);
    io.field("Vector_Control", e.control);
    io.field("Pending", e.pending);
    io.field("message_writes", e.counters.message_writes);
    io.field("rewrites_live", e.counters.rewrites_live);
    io.field("sent", e.counters.sent);
    io.field("held", e.counters.held);
  }
}

}  // namespace irqremap::pci
