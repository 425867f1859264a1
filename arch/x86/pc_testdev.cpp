#include "arch/x86/pc_testdev.h"

#include "snapshot/state_io.h"

namespace irqremap::x86 {

PcTestdev::PcTestdev(std::function<void(unsigned pin, bool level)> set_irq) : set_irq_(std::move(set_irq)) {}

namespace {
uint32_t all_ones(unsigned size) { return size >= 4 ? 0xFFFF'FFFFu : (1u << (8 * size)) - 1; }
// Register byte `b` (0..3) of `reg`.
uint32_t byte_of(uint32_t reg, unsigned b) { return (reg >> (8 * b)) & 0xFF; }
void put_byte(uint32_t& reg, unsigned b, uint32_t v) { reg = (reg & ~(0xFFu << (8 * b))) | ((v & 0xFF) << (8 * b)); }
}  // namespace

uint32_t PcTestdev::Ports::io_in(uint16_t offset, unsigned size) {
  uint32_t v = 0;
  if (offset < kFlushOffset) {
    for (unsigned i = 0; i < size && offset + i < kFlushOffset; ++i) v |= byte_of(d.scratch_, offset + i) << (8 * i);
    return v;
  }
  if (offset >= kByteOffset) {
    for (unsigned i = 0; i < size; ++i) v |= byte_of(d.scratch_, (offset - kByteOffset + i) % 4) << (8 * i);
    return v;
  }
  return all_ones(size);  // the flush port and the unassigned 0xE5..0xE7
}

void PcTestdev::Ports::io_out(uint16_t offset, unsigned size, uint32_t value) {
  if (offset < kFlushOffset) {
    for (unsigned i = 0; i < size && offset + i < kFlushOffset; ++i) put_byte(d.scratch_, offset + i, value >> (8 * i));
  } else if (offset >= kByteOffset) {
    for (unsigned i = 0; i < size; ++i) put_byte(d.scratch_, (offset - kByteOffset + i) % 4, value >> (8 * i));
  }
  // kFlushOffset: a host-side page flush on QEMU; no guest-visible effect.
}

uint64_t PcTestdev::Iomem::mmio_read(uint64_t offset, unsigned size) {
  uint64_t v = 0;
  for (unsigned i = 0; i < size && offset + i < kIomemSize; ++i) v |= uint64_t(bytes[offset + i]) << (8 * i);
  return v;
}

void PcTestdev::Iomem::mmio_write(uint64_t offset, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size && offset + i < kIomemSize; ++i) bytes[offset + i] = uint8_t(value >> (8 * i));
}

void PcTestdev::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "pc_testdev");
  io.field("scratch", scratch_);
  io.bytes("iomem", std::span(iomem_.bytes));
}

}  // namespace irqremap::x86
