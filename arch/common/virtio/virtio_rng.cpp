#include "arch/common/virtio/virtio_rng.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include <fmt/format.h>

#include <sstream>

namespace irqremap::virtio {

uint8_t VirtioRng::next_byte() {
  if (left_ == 0) {
    word_ = gen_();
    left_ = 8;
  }
  --left_;
  const uint8_t b = uint8_t(word_);
  word_ >>= 8;
  return b;
}

std::expected<void, std::string> VirtioRng::process(unsigned, SplitQueue& queue, const pci::BusMaster& bus) {
  for (;;) {
    auto chain = queue.pop(bus);
    if (!chain) return std::unexpected(chain.error());
    if (!*chain) return {};
    uint64_t written = 0;
    for (const SplitQueue::Buffer& b : (*chain)->buffers) {
      if (!b.device_writable) continue;
      std::array<std::byte, 256> chunk;
      for (uint32_t done = 0; done < b.len;) {
        const uint32_t n = std::min<uint32_t>(b.len - done, chunk.size());
        for (uint32_t i = 0; i < n; ++i) chunk[i] = std::byte{next_byte()};
        if (auto ok = bus.write(b.addr + done, std::span(chunk.data(), n)); !ok)
          return std::unexpected(fmt::format("request buffer at {:#x}: {}", b.addr, ok.error()));
        done += n;
      }
      written += b.len;
    }
    bytes_ += written;
    ++requests_;
    if (auto ok = queue.push(bus, (*chain)->head, uint32_t(std::min<uint64_t>(written, UINT32_MAX))); !ok) return ok;
  }
}

}  // namespace irqremap::virtio

namespace irqremap::virtio {

void VirtioRng::state(snapshot::Io& io) {
  snapshot::Io::Group g(io, "virtio-rng");
  std::string gen;
  if (io.saving()) {
    std::ostringstream s;
    s << gen_;
    gen = s.str();
  }
  // 312 64-bit words and an index in decimal: under 7 KiB.
  io.text("mt19937_64", gen, 16384);
  io.field("word", word_);
  io.field("left", left_);
  io.check(left_ <= 8, "more bytes left of a 64-bit word than it has");
  io.field("bytes_given", bytes_);
  io.field("requests", requests_);
  if (!io.loading() || !io.ok()) return;
  std::istringstream s(gen);
  std::mt19937_64 g2;
  s >> g2;
  if (io.check(!s.fail(), "the generator state does not parse")) gen_ = g2;
}

}  // namespace irqremap::virtio
