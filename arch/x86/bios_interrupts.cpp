#include "arch/x86/bios_interrupts.h"

#include <array>
#include <cstring>

namespace irqremap::x86::bios {

namespace {

// 16-bit real-mode code.
constexpr std::array<uint8_t, 20> kTimer = {
    0x1E,                          // push ds
    0x50,                          // push ax
    0x31, 0xC0,                    // xor ax, ax
    0x8E, 0xD8,                    // mov ds, ax
    0x66, 0xFF, 0x06, 0x6C, 0x04,  // inc dword [0x046C]
    0xCD, 0x1C,                    // int 0x1C (the user timer tick)
    0xB0, 0x20,                    // mov al, 0x20 (OCW2: non-specific EOI)
    0xE6, 0x20,                    // out 0x20, al
    0x58,                          // pop ax
    0x1F,                          // pop ds
    0xCF,                          // iret
};
constexpr std::array<uint8_t, 7> kMasterEoi = {0x50, 0xB0, 0x20, 0xE6, 0x20, 0x58, 0xCF};
constexpr std::array<uint8_t, 9> kSlaveEoi = {0x50, 0xB0, 0x20, 0xE6, 0xA0, 0xE6, 0x20, 0x58, 0xCF};

}  // namespace

bool install(GuestMemory& mem) {
  const uint64_t base = uint64_t{kSegment} << 4;
  std::byte* low = mem.writable_host_ptr(0, 0x10'0000);
  if (low == nullptr) return false;
  auto put = [&](uint16_t offset, const auto& code) { std::memcpy(low + base + offset, code.data(), code.size()); };
  put(kTimerHandler, kTimer);
  put(kMasterEoiHandler, kMasterEoi);
  put(kSlaveEoiHandler, kSlaveEoi);
  low[base + kIretHandler] = std::byte{0xCF};
  for (unsigned v = 0; v < 256; ++v) {
    uint16_t offset = kIretHandler;
    if (v == 0x08) offset = kTimerHandler;
    else if (v >= 0x09 && v <= 0x0F) offset = kMasterEoiHandler;
    else if (v >= 0x70 && v <= 0x77) offset = kSlaveEoiHandler;
    const uint32_t entry = uint32_t{kSegment} << 16 | offset;  // offset in bytes 0-1, segment in 2-3
    std::memcpy(low + 4 * v, &entry, 4);
  }
  std::memset(low + kTickCount, 0, 4);
  return true;
}

}  // namespace irqremap::x86::bios
