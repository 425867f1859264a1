#include "arch/x86/pci/edu.h"

#include <fmt/format.h>

#include "snapshot/state_io.h"

#include "remap/mmio.h"

namespace irqremap::x86::pci {

EduDevice::EduDevice(GuestMemory& mem, MsiSink& msi, DmaTranslator& dma, uint16_t requester_id)
    : mem_(mem), msi_sink_(msi), dma_(dma), rid_(requester_id),
      config_(kVendor, kDevice, 0x00FF00, 0x10), msi_(config_) {
  config_.set16(cfg::SUBSYSTEM_VENDOR_ID, 0x1AF4);  // QEMU's default subsystem IDs
  config_.set16(cfg::SUBSYSTEM_ID, 0x1100);
  config_.set8(cfg::INTERRUPT_PIN, 1);  // INTA#
  config_.add_bar(0, BarKind::Mem32, kBarSize);
}

void EduDevice::note(EventKind k, std::string text) {
  trace_.emit_lazy([&] { return Event{k, "edu", std::move(text), {}}; });
}

void EduDevice::raise(uint32_t bits) {
  irq_status_ |= bits;
  if (irq_status_ == 0) return;
  if (msi_.enabled()) {
    const MsiWrite m = msi_.message(rid_);
    note(EventKind::Device, fmt::format("interrupt {:#x}: MSI {:#x}/{:#x}", irq_status_, m.address, m.data));
    msi_sink_.msi_write(m);
  } else {
    note(EventKind::Device, fmt::format("interrupt {:#x}: INTA# asserted", irq_status_));
    set_intx(true);
  }
}

void EduDevice::lower(uint32_t bits) {
  irq_status_ &= ~bits;
  if (irq_status_ == 0 && !msi_.enabled()) set_intx(false);
}

uint64_t EduDevice::bar_read(unsigned /*bar*/, uint64_t off, unsigned size) {
  const uint64_t none = size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  if (off >= kDmaStart && off + size <= kDmaStart + kDmaSize && size <= 8)
    return bits::load_le_n(reinterpret_cast<const std::byte*>(buf_.data() + (off - kDmaStart)), size);
  if (off < 0x80 ? size != 4 : (size != 4 && size != 8)) return none;
  // 64-bit registers: an 8-byte read, or either 4-byte half (Unicorn splits 8-byte reads).
  const auto reg64 = [&](uint64_t base, uint64_t v) {
    return size == 8 ? v : extract_read(v, unsigned(off - base), 4);
  };
  switch (off) {
    case ID: return kIdent;
    case ALIVE: return alive_;
    case FACTORIAL: return fact_;
    case STATUS: return status_;
    case INTR_STATUS: return irq_status_;
    case DMA_SRC: case DMA_SRC + 4: return reg64(DMA_SRC, src_);
    case DMA_DST: case DMA_DST + 4: return reg64(DMA_DST, dst_);
    case DMA_COUNT: case DMA_COUNT + 4: return reg64(DMA_COUNT, cnt_);
    case DMA_CMD: case DMA_CMD + 4: return reg64(DMA_CMD, cmd_);
    default: return none;
  }
}

void EduDevice::bar_write(unsigned /*bar*/, uint64_t off, unsigned size, uint64_t value) {
  if (off >= kDmaStart && off + size <= kDmaStart + kDmaSize && size <= 8) {
    bits::store_le_n(reinterpret_cast<std::byte*>(buf_.data() + (off - kDmaStart)), size, value);
    return;
  }
  if (off < 0x80 ? size != 4 : (size != 4 && size != 8)) {
    note(EventKind::Note, fmt::format("{}-byte write at {:#x} ignored (edu.rst access sizes)", size, off));
    return;
  }
  const auto merge64 = [&](uint64_t& reg, uint64_t base) {
    if (cmd_ & DMA_RUN) return;  // DMA registers are frozen while a transfer runs
    reg = size == 8 ? value : merge_write(reg, unsigned(off - base), 4, value);
  };
  switch (off) {
    case ALIVE: alive_ = ~uint32_t(value); return;
    case FACTORIAL: {
      if (status_ & STATUS_COMPUTING) return;
      uint32_t n = uint32_t(value), r = 1;
      while (n > 0) r *= n--;  // modulo 2^32, as the device's 32-bit register
      fact_ = r;
      if (status_ & STATUS_IRQFACT) raise(FACT_IRQ);
      return;
    }
    case STATUS:
      status_ = (status_ & ~STATUS_IRQFACT) | (uint32_t(value) & STATUS_IRQFACT);
      return;
    case INTR_RAISE: raise(uint32_t(value)); return;
    case INTR_ACK: lower(uint32_t(value)); return;
    case DMA_SRC: case DMA_SRC + 4: merge64(src_, DMA_SRC); return;
    case DMA_DST: case DMA_DST + 4: merge64(dst_, DMA_DST); return;
    case DMA_COUNT: case DMA_COUNT + 4: merge64(cnt_, DMA_COUNT); return;
    case DMA_CMD:
      if (!(value & DMA_RUN) || (cmd_ & DMA_RUN)) return;
      cmd_ = uint32_t(value);
      run_dma();
      return;
    default:
      note(EventKind::Note, fmt::format("write {:#x} at {:#x}: no edu register there", value, off));
      return;
  }
}

bool EduDevice::dma_copy(uint64_t iova, uint8_t* dev, uint64_t count, bool to_ram) {
  while (count > 0) {
    auto m = dma_.dma_translate(rid_, iova, count, to_ram);
    if (!m) {
      note(EventKind::Fault, fmt::format("DMA {} {:#x} stopped: {}", to_ram ? "to" : "from", iova, m.error()));
      return false;
    }
    const uint64_t n = std::min(count, m->length);
    auto span = std::span<std::byte>(reinterpret_cast<std::byte*>(dev), n);
    auto r = to_ram ? mem_.write(m->pa, span) : mem_.read(m->pa, span);
    if (!r) {
      note(EventKind::Fault, fmt::format("DMA stopped: {}", r.error().describe()));
      return false;
    }
    iova += n;
    dev += n;
    count -= n;
  }
  return true;
}

void EduDevice::run_dma() {
  const bool to_ram = (cmd_ & DMA_TO_RAM) != 0;
  const uint64_t dev_addr = to_ram ? src_ : dst_;
  uint64_t ram_addr = to_ram ? dst_ : src_;
  if (!(config_.command() & command::BUS_MASTER)) {
    note(EventKind::Fault, "DMA refused: Command.BUS_MASTER=0");
  } else if (cnt_ > kDmaSize || dev_addr < kDmaStart || dev_addr - kDmaStart > kDmaSize - cnt_) {
    note(EventKind::Fault, fmt::format("DMA refused: device range {:#x}+{:#x} is outside the buffer "
                                       "{:#x}..{:#x}", dev_addr, cnt_, kDmaStart, kDmaStart + kDmaSize - 1));
  } else {
    if ((ram_addr & kDmaMask) != ram_addr) {
      note(EventKind::Note, fmt::format("DMA address {:#x} clamped to the 28-bit DMA mask", ram_addr));
      ram_addr &= kDmaMask;
    }
    note(EventKind::Device, fmt::format("DMA {} bytes {} {:#x} (requester {:#06x})", cnt_,
                                             to_ram ? "buffer -> RAM" : "RAM -> buffer", ram_addr, rid_));
    if (dma_copy(ram_addr, buf_.data() + (dev_addr - kDmaStart), cnt_, to_ram)) ++dma_transfers_;
  }
  cmd_ &= ~DMA_RUN;
  if (cmd_ & DMA_IRQ_EN) raise(DMA_IRQ);
}

void EduDevice::state(snapshot::Io& io) {
  PciFunction::state(io);
  io.field("ALIVE", alive_);
  io.field("FACTORIAL", fact_);
  io.field("STATUS", status_);
  io.field("INTR_STATUS", irq_status_);
  io.field("DMA_SRC", src_);
  io.field("DMA_DST", dst_);
  io.field("DMA_COUNT", cnt_);
  io.field("DMA_CMD", cmd_);
  io.bytes("DMA_buffer", std::span(buf_));
  io.field("dma_transfers", dma_transfers_);
}

}  // namespace irqremap::x86::pci
