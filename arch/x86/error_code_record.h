#pragma once
// Unicorn 2.0.1 glue: the error code of an exception the engine raised.
//
// QEMU stores the error code it would push in its CPU state (target/i386/excp_helper.c,
// raise_interrupt2: env->error_code) before it leaves the translated code; Unicorn then
// reports the vector to UC_HOOK_INTR and never pushes the code, and its API has no
// register for it. So #TS/#NP/#SS/#GP raised by the engine itself (IRETQ to a bad CS, a
// segment load, ...) would lose their selector error code. The field is part of the CPU
// state uc_context_save copies; its offset is found once by experiment on a scratch
// engine: IRETQ to CS 0x83 and then to CS 0x93, both beyond a one-entry GDT, raise
// #GP(0x80) and #GP(0x90) (SDM IRET, "#GP(selector) if the return code segment selector
// ... is outside the descriptor table limit"); the one field that holds 0x80 and then
// 0x90 is the record.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

namespace irqremap::x86 {

class ErrorCodeRecord {
 public:
  static std::expected<ErrorCodeRecord, std::string> locate();
  // The error code of the exception being reported (read from UC_HOOK_INTR).
  uint32_t read(uc_engine* uc, uc_context* scratch) const;
  size_t offset() const { return offset_; }

 private:
  explicit ErrorCodeRecord(size_t offset) : offset_(offset) {}
  size_t offset_;
};

}  // namespace irqremap::x86
