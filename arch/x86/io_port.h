#pragma once
// x86 I/O port space (IN/OUT instructions): devices at port ranges, like MmioDevice for
// memory. Ports no device claims read as all ones and ignore writes, as on a PC where
// nothing drives the bus (and as QEMU's unassigned I/O does).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace irqremap::x86 {

class IoPortDevice {
 public:
  virtual ~IoPortDevice() = default;
  virtual std::string_view io_name() const = 0;
  virtual uint16_t io_size() const = 0;  // ports claimed from the base
  // offset from the device's base; size 1, 2 or 4.
  virtual uint32_t io_in(uint16_t offset, unsigned size) = 0;
  virtual void io_out(uint16_t offset, unsigned size, uint32_t value) = 0;
};

class IoPortBus {
 public:
  // Adds a device at `base`; fails with a message when the range wraps or overlaps.
  bool add(uint16_t base, IoPortDevice& dev, std::string* error = nullptr);
  uint32_t in(uint16_t port, unsigned size);
  void out(uint16_t port, unsigned size, uint32_t value);
  // The device claiming `port` (and its base), or nullptr.
  IoPortDevice* find(uint16_t port, uint16_t* base = nullptr) const;

 private:
  std::map<uint16_t, IoPortDevice*> devices_;  // by base port
};

}  // namespace irqremap::x86
