#pragma once
// One PCI function on the machine's bus: its configuration space, its BARs' register
// files and its interrupt pin. Plain C++ (no Unicorn): tests drive it directly.
#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "arch/common/pci/config_space.h"
#include "snapshot/state_io.h"

namespace irqremap::pci {

// What a bus-mastering function's DMA goes through: the machine routes it to VT-d
// (vtd::Unit::translate_dma) when a unit is present and passes it untranslated otherwise.
class DmaTranslator {
 public:
  struct Mapping {
    uint64_t pa = 0;
    uint64_t length = 0;  // contiguous bytes from pa (at most the size asked for)
  };
  virtual ~DmaTranslator() = default;
  virtual std::expected<Mapping, std::string> dma_translate(uint16_t rid, uint64_t iova,
                                                            uint64_t size, bool write) = 0;
};

class PciFunction {
 public:
  virtual ~PciFunction() = default;
  virtual std::string_view pci_name() const = 0;
  virtual ConfigSpace& config() = 0;
  const ConfigSpace& config() const { return const_cast<PciFunction*>(this)->config(); }
  // A config read (1, 2 or 4 bytes): the bytes, unless a register is computed when read
  // (virtio's PCI configuration access window).
  virtual uint32_t config_read(unsigned offset, unsigned size) { return config().read(offset, size); }
  // Side effects of a config write, after the masks applied (MSI enable, Command).
  virtual void config_written(unsigned /*offset*/, unsigned /*size*/) {}
  // Register file of BAR n at `offset` into the BAR (size 1, 2, 4 or 8).
  virtual uint64_t bar_read(unsigned /*bar*/, uint64_t /*offset*/, unsigned size) {
    return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  }
  virtual void bar_write(unsigned /*bar*/, uint64_t /*offset*/, unsigned /*size*/, uint64_t /*value*/) {}

  // INTx: the bus connects the function's pin to an interrupt controller input.
  void connect_intx(std::function<void(bool level)> line) { intx_ = std::move(line); }
  // After a Command write: INTx follows Command.INTX_DISABLE at once (PCI 3.0 §6.2.2).
  void refresh_intx() { set_intx(intx_request_); }
  // Its part of a snapshot: the configuration space and the INTx request and pin level;
  // a function with state of its own adds it.
  virtual void state(snapshot::Io& io);

 protected:
  // Drives INTx# (asserted = true) unless Command.INTX_DISABLE masks it (PCI 3.0 §6.2.2);
  // Status.INTERRUPT follows the device's request either way.
  void set_intx(bool asserted);

 private:
  std::function<void(bool)> intx_;
  bool intx_request_ = false;  // what the device asks for
  bool intx_out_ = false;      // what the pin drives
};

}  // namespace irqremap::pci
