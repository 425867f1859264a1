#pragma once
// Unicorn 2.0.1 glue shared by the records found by experiment (exception_in_flight.h,
// error_code_record.h, segment_state.h): a scratch x86-64 engine with a saved-context
// buffer, snapshots of the CPU state uc_context_save copies, and fields of it read and
// written at an offset. The API exposes none of those fields, so each record's offset is
// found once by running a few instructions on a scratch engine and comparing snapshots.
#include <unicorn/unicorn.h>

#include <cstddef>
#include <cstring>
#include <expected>
#include <memory>
#include <string>
#include <vector>

namespace irqremap::x86::engine_context {

struct EngineCloser {
  void operator()(uc_engine* uc) const { uc_close(uc); }
};
struct ContextFreer {
  void operator()(uc_context* c) const { uc_context_free(c); }
};

// A fresh 64-bit engine and a context buffer for it.
struct Scratch {
  std::unique_ptr<uc_engine, EngineCloser> uc;
  std::unique_ptr<uc_context, ContextFreer> ctx;
};
std::expected<Scratch, std::string> open_scratch();

// The CPU state as uc_context_save copies it now.
std::vector<std::byte> snapshot(uc_engine* uc, uc_context* ctx);

template <typename T>
T field(const std::vector<std::byte>& bytes, std::size_t offset) {
  T v{};
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

template <typename T>
void put(std::byte* bytes, std::size_t offset, T v) {
  std::memcpy(bytes + offset, &v, sizeof v);
}

// The field of the engine's live state at `offset` (through the scratch context).
template <typename T>
T read_field(uc_engine* uc, uc_context* scratch, std::size_t offset) {
  uc_context_save(uc, scratch);
  T v{};
  std::memcpy(&v, reinterpret_cast<const std::byte*>(scratch) + offset, sizeof v);
  return v;
}

// Writes the field of the engine's live state at `offset`.
template <typename T>
void write_field(uc_engine* uc, uc_context* scratch, std::size_t offset, T v) {
  uc_context_save(uc, scratch);
  std::memcpy(reinterpret_cast<std::byte*>(scratch) + offset, &v, sizeof v);
  uc_context_restore(uc, scratch);
}

}  // namespace irqremap::x86::engine_context
