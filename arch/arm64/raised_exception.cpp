#include "arch/arm64/raised_exception.h"

#include <cstring>

namespace irqremap::arm64 {

namespace {

constexpr uint16_t kProbeImm = 0x5A5A;
constexpr uint32_t kProbeSvc = 0xD400'0001u | (uint32_t{kProbeImm} << 5);  // SVC #0x5A5A
constexpr uint32_t kProbeSyndrome = (0x15u << 26) | (1u << 25) | kProbeImm;

// Calls `use(bytes, size)` with the engine's saved context; false when it cannot be saved.
template <typename Use>
bool with_snapshot(uc_engine* uc, Use&& use) {
  uc_context* ctx = nullptr;
  if (uc_context_alloc(uc, &ctx) != UC_ERR_OK) return false;
  const bool ok = uc_context_save(uc, ctx) == UC_ERR_OK;
  if (ok) use(reinterpret_cast<const unsigned char*>(ctx), uc_context_size(uc));
  uc_context_free(ctx);
  return ok;
}

struct Probe {
  bool taken = false;
  std::optional<size_t> offset;  // of exception.syndrome in the snapshot
  bool ambiguous = false;
};

// At the probe's SVC: the one offset that holds its syndrome.
void probe_hook(uc_engine* uc, uint32_t, void* user) {
  auto& p = *static_cast<Probe*>(user);
  p.taken = with_snapshot(uc, [&p](const unsigned char* bytes, size_t n) {
    for (size_t o = 0; o + 16 <= n; o += 4) {
      uint32_t v;
      std::memcpy(&v, bytes + o, 4);
      if (v != kProbeSyndrome) continue;
      if (p.offset) p.ambiguous = true;
      p.offset = o;
    }
  });
  uc_emu_stop(uc);
}

// Finds the syndrome's offset by taking SVC #0x5A5A in a scratch engine.
std::optional<size_t> find_offset() {
  uc_engine* uc = nullptr;
  if (uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc) != UC_ERR_OK) return std::nullopt;
  uc_ctl_set_cpu_model(uc, UC_CPU_ARM64_A57);
  Probe p;
  constexpr uint64_t kBase = 0x1000;
  uc_hook h = 0;
  if (uc_mem_map(uc, kBase, 0x1000, UC_PROT_ALL) == UC_ERR_OK &&
      uc_mem_write(uc, kBase, &kProbeSvc, sizeof kProbeSvc) == UC_ERR_OK &&
      uc_hook_add(uc, &h, UC_HOOK_INTR, reinterpret_cast<void*>(&probe_hook), &p, 1, 0) == UC_ERR_OK) {
    uc_emu_start(uc, kBase, kBase + 4, 0, 1);
  }
  uc_close(uc);
  if (!p.taken || p.ambiguous) return std::nullopt;  // ambiguous: trust nothing
  return p.offset;
}

}  // namespace

std::optional<RaisedException> raised_exception(uc_engine* uc) {
  static const std::optional<size_t> offset = find_offset();
  if (!offset) return std::nullopt;
  std::optional<RaisedException> r;
  // exception.{syndrome (u32), fsr (u32), vaddress (u64)} are consecutive.
  with_snapshot(uc, [&](const unsigned char* bytes, size_t n) {
    if (n < *offset + 16) return;
    r.emplace();
    std::memcpy(&r->syndrome, bytes + *offset, 4);
    std::memcpy(&r->vaddress, bytes + *offset + 8, 8);
  });
  return r;
}

}  // namespace irqremap::arm64
