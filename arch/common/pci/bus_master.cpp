#include "arch/common/pci/bus_master.h"

#include <algorithm>

#include <fmt/format.h>

namespace irqremap::pci {

namespace {

// Splits [addr, addr + size) into the pieces the translator maps contiguously and runs
// `access(pa, offset, n)` on each.
template <typename Access>
std::expected<void, std::string> each_piece(DmaTranslator* t, uint16_t rid, uint64_t addr, uint64_t size,
                                            bool write, Access access) {
  if (size != 0 && addr + size - 1 < addr)
    return std::unexpected(fmt::format("DMA {} of {} bytes at {:#x} wraps the address space",
                                       write ? "write" : "read", size, addr));
  uint64_t done = 0;
  while (done < size) {
    uint64_t pa = addr + done, n = size - done;
    if (t != nullptr) {
      auto m = t->dma_translate(rid, addr + done, n, write);
      if (!m) return std::unexpected(m.error());
      if (m->length == 0)
        return std::unexpected(fmt::format("DMA {} at {:#x}: the translation maps no byte", write ? "write" : "read",
                                           addr + done));
      pa = m->pa;
      n = std::min(n, m->length);
    }
    if (auto ok = access(pa, done, n); !ok) return std::unexpected(ok.error().describe());
    done += n;
  }
  return {};
}

}  // namespace

std::expected<void, std::string> BusMaster::read(uint64_t addr, std::span<std::byte> out) const {
  return each_piece(translator_, rid_, addr, out.size(), false,
                    [&](uint64_t pa, uint64_t off, uint64_t n) { return mem_.read(pa, out.subspan(off, n)); });
}

std::expected<void, std::string> BusMaster::write(uint64_t addr, std::span<const std::byte> in) const {
  return each_piece(translator_, rid_, addr, in.size(), true,
                    [&](uint64_t pa, uint64_t off, uint64_t n) { return mem_.write(pa, in.subspan(off, n)); });
}

}  // namespace irqremap::pci
