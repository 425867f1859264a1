#pragma once
// Capstone wrapper for stop messages and --trace: one instruction at a guest-physical
// address, read straight from GuestMemory ("" when the bytes are not in RAM,
// "(undecodable)" when Capstone cannot decode them).
#include <cstdint>
#include <string>

#include "remap/guest_memory.h"

namespace irqremap::arch {

enum class IsaKind : uint8_t { X86_64, Arm64 };

class Disassembler {
 public:
  explicit Disassembler(IsaKind isa);
  ~Disassembler();
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;

  bool ok() const { return handle_ != 0; }
  // "mov x0, #1", "hvc #0", ...
  std::string at(const GuestMemory& mem, uint64_t pc) const;
  // Decodes `bytes` as if at `pc`.
  std::string decode(const uint8_t* bytes, size_t n, uint64_t pc) const;

 private:
  IsaKind isa_;
  size_t handle_ = 0;
};

}  // namespace irqremap::arch
