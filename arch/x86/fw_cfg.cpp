#include "arch/x86/fw_cfg.h"

#include "snapshot/state_io.h"

namespace irqremap::x86 {

void FwCfg::set_le(uint16_t key, uint64_t v, unsigned n) {
  std::vector<uint8_t> b(n);
  for (unsigned i = 0; i < n; ++i) b[i] = uint8_t(v >> (8 * i));
  items_[key] = std::move(b);
}

const std::vector<uint8_t>* FwCfg::item(uint16_t key) const {
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : &it->second;
}

void FwCfg::select(uint16_t key) {
  selector_ = key;
  offset_ = 0;
}

uint8_t FwCfg::read_byte() {
  const std::vector<uint8_t>* it = item(selector_);
  if (it == nullptr || offset_ >= it->size()) return 0;
  return (*it)[offset_++];
}

uint32_t FwCfg::io_in(uint16_t offset, unsigned size) {
  if (offset != 1) return 0xFFFF'FFFF;  // the selector port is write-only
  // fw_cfg.rst: on x86 the data register is 8 bits wide; a wider read returns successive
  // bytes in the low lanes (QEMU's port access splits it the same way).
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= uint32_t(read_byte()) << (8 * i);
  return v;
}

void FwCfg::io_out(uint16_t offset, unsigned size, uint32_t value) {
  if (offset == 0 && size >= 2) select(uint16_t(value));
  // Byte writes to the selector and any write to the data port have no effect.
}


void FwCfg::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "fw_cfg");
  io.field("selector", selector_);
  uint64_t offset = offset_;
  io.field("offset", offset);
  // At most the selector's 16-bit key space; an item at most the largest kernel the
  // machine loads (its RAM).
  constexpr size_t kMaxItems = 1u << 16, kMaxItemBytes = size_t{1} << 32;
  const size_t n = io.count("items", items_.size(), kMaxItems);
  std::map<uint16_t, std::vector<uint8_t>> loaded;
  auto it = items_.begin();
  for (size_t i = 0; i < n; ++i) {
    snapshot::Io::Group item(io, "item");
    uint16_t key = io.saving() ? it->first : 0;
    std::vector<uint8_t> bytes;
    io.field("key", key);
    io.blob("data", io.saving() ? it->second : bytes, kMaxItemBytes);
    if (io.saving()) ++it;
    else loaded[key] = std::move(bytes);
  }
  if (io.loading() && io.ok()) {
    items_ = std::move(loaded);
    offset_ = size_t(offset);  // read_byte() bounds it by the item's size
  }
}

}  // namespace irqremap::x86
