#pragma once
// QEMU's educational PCI device "edu" (QEMU docs/specs/edu.rst; vendor 1234h, device
// 11E8h, revision 10h, class 00FFh), as kvm-unit-tests' lib/pci-edu.c drives it.
//
// BAR0, 1 MiB memory (edu.rst "MMIO area spec"; only 4-byte accesses below 0x80, 4 or 8
// from 0x80 — Unicorn delivers an 8-byte access as two 4-byte halves, which are merged):
//   0x00 RO  identification 0x010000ED     0x04 RW  liveness: reads the inverse of the write
//   0x08 RW  factorial                     0x20 RW  status: 0x01 computing (RO), 0x80 IRQ
//                                                    when the factorial is done
//   0x24 RO  interrupt status              0x60 WO  interrupt raise (ORed into 0x24)
//   0x64 WO  interrupt acknowledge         0x80/0x88/0x90 RW  DMA source/destination/count
//   0x98 RW  DMA command: 0x01 start, 0x02 direction (0: RAM to edu, 1: edu to RAM),
//            0x04 raise interrupt 0x100 when done
//   0x40000..0x40FFF  the 4 KiB DMA buffer. DMA addresses 0x40000.. name it (edu.rst
//            "DMA controller"); irqremap also maps it at BAR0 + 0x40000 so firmware and
//            tests can look at it (QEMU's BAR reads all-ones there).
// Interrupts: MSI (64-bit capability at 0x40) when enabled, else INTx (pin INTA), level
// while the interrupt status is non-zero.
//
// Decisions, written down once:
//  - QEMU finishes a DMA 100 ms of virtual time after the command and computes factorials
//    on a host thread. Here both complete at the register write (zero virtual time), so
//    runs are deterministic; software polling the busy bits sees them clear at once.
//  - A DMA is bounded to the buffer: QEMU's edu_check_range logs an out-of-range transfer
//    and copies anyway; here the transfer is refused (nothing copied, traced) and the
//    command completes.
//  - DMA addresses are clamped to the device's 28-bit DMA mask, as QEMU's dma_mask
//    default ((1 << 28) - 1), and go through the bus's DmaTranslator (VT-d) under the
//    device's requester ID, page by page. A translation fault stops the transfer there.
//  - DMA needs Command.BUS_MASTER (PCI 3.0 §6.2.2); without it nothing is transferred.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "arch/x86/pci/generic.h"
#include "remap/guest_memory.h"
#include "remap/msi.h"
#include "remap/trace.h"

namespace irqremap::x86::pci {

class EduDevice final : public PciFunction {
 public:
  static constexpr uint16_t kVendor = 0x1234, kDevice = 0x11E8;
  static constexpr uint64_t kBarSize = 1u << 20;
  static constexpr uint64_t kDmaStart = 0x40000, kDmaSize = 4096;
  static constexpr uint64_t kDmaMask = (uint64_t{1} << 28) - 1;
  // Register offsets (edu.rst).
  static constexpr uint64_t ID = 0x00, ALIVE = 0x04, FACTORIAL = 0x08, STATUS = 0x20;
  static constexpr uint64_t INTR_STATUS = 0x24, INTR_RAISE = 0x60, INTR_ACK = 0x64;
  static constexpr uint64_t DMA_SRC = 0x80, DMA_DST = 0x88, DMA_COUNT = 0x90, DMA_CMD = 0x98;
  static constexpr uint32_t kIdent = 0x010000ED;
  static constexpr uint32_t STATUS_COMPUTING = 0x01, STATUS_IRQFACT = 0x80;
  static constexpr uint32_t FACT_IRQ = 0x1, DMA_IRQ = 0x100;
  static constexpr uint64_t DMA_RUN = 0x1, DMA_TO_RAM = 0x2, DMA_IRQ_EN = 0x4;

  EduDevice(GuestMemory& mem, MsiSink& msi, DmaTranslator& dma, uint16_t requester_id);

  std::string_view pci_name() const override { return "edu"; }
  ConfigSpace& config() override { return config_; }
  uint64_t bar_read(unsigned bar, uint64_t offset, unsigned size) override;
  void bar_write(unsigned bar, uint64_t offset, unsigned size, uint64_t value) override;

  uint16_t requester_id() const { return rid_; }
  const MsiCapability& msi() const { return msi_; }
  uint32_t irq_status() const { return irq_status_; }
  std::span<const uint8_t> buffer() const { return buf_; }
  uint64_t dma_transfers() const { return dma_transfers_; }
  // Snapshot: the configuration space, then edu.rst's registers and the DMA buffer. A DMA
  // and a factorial complete at their register write (see above), so none is in flight.
  void state(snapshot::Io& io) override;
  Trace& trace() { return trace_; }

 private:
  void raise(uint32_t bits);
  void lower(uint32_t bits);
  void run_dma();
  bool dma_copy(uint64_t iova, uint8_t* dev, uint64_t count, bool to_ram);
  void note(EventKind k, std::string text);

  GuestMemory& mem_;
  MsiSink& msi_sink_;
  DmaTranslator& dma_;
  uint16_t rid_;
  ConfigSpace config_;
  MsiCapability msi_;
  Trace trace_;
  uint32_t alive_ = 0, fact_ = 0, status_ = 0, irq_status_ = 0;
  uint64_t src_ = 0, dst_ = 0, cnt_ = 0, cmd_ = 0;
  std::array<uint8_t, kDmaSize> buf_{};
  uint64_t dma_transfers_ = 0;
};

}  // namespace irqremap::x86::pci
