#pragma once
// Debugger access to guest memory by virtual address, for both machines' GDB targets:
// page by page (4 KiB), because consecutive virtual pages need not be consecutive physical
// ones; each page through `translate` (the machine's own stage 1 walk: VA -> PA or
// nullopt). RAM and ROM only: the debugger writes flash too, as QEMU's does (it is not the
// guest); device registers are not reached. False when a page has nothing behind it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "remap/guest_memory.h"

namespace irqremap::gdb {

template <typename Translate>
bool read_paged(const GuestMemory& mem, uint64_t va, std::span<std::byte> out, Translate translate) {
  while (!out.empty()) {
    const uint64_t n = std::min<uint64_t>(out.size(), 0x1000 - (va & 0xFFF));
    const std::optional<uint64_t> pa = translate(va);
    const std::byte* host = pa ? mem.host_ptr(*pa, n) : nullptr;
    if (host == nullptr) return false;
    std::memcpy(out.data(), host, n);
    out = out.subspan(n);
    va += n;
  }
  return true;
}

template <typename Translate>
bool write_paged(const GuestMemory& mem, uint64_t va, std::span<const std::byte> in, Translate translate) {
  while (!in.empty()) {
    const uint64_t n = std::min<uint64_t>(in.size(), 0x1000 - (va & 0xFFF));
    const std::optional<uint64_t> pa = translate(va);
    std::byte* host = pa ? mem.host_ptr(*pa, n) : nullptr;
    if (host == nullptr) return false;
    std::memcpy(host, in.data(), n);
    in = in.subspan(n);
    va += n;
  }
  return true;
}

}  // namespace irqremap::gdb
