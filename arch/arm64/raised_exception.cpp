#include "arch/arm64/raised_exception.h"

#include <cstring>
#include <vector>

namespace irqremap::arm64 {

namespace {

constexpr uint16_t kProbeImm = 0x5A5A;
constexpr uint32_t kProbeSvc = 0xD400'0001u | (uint32_t{kProbeImm} << 5);  // SVC #0x5A5A
constexpr uint32_t kProbeSyndrome = (0x15u << 26) | (1u << 25) | kProbeImm;

// A copy of the engine's saved context as bytes.
std::vector<unsigned char> snapshot(uc_engine* uc) {
  std::vector<unsigned char> bytes;
  uc_context* ctx = nullptr;
  if (uc_context_alloc(uc, &ctx) != UC_ERR_OK) return bytes;
  if (uc_context_save(uc, ctx) == UC_ERR_OK) {
    const size_t n = uc_context_size(uc);
    bytes.resize(n);
    std::memcpy(bytes.data(), ctx, n);
  }
  uc_context_free(ctx);
  return bytes;
}

struct Probe {
  std::optional<size_t> offset;  // of exception.syndrome in the snapshot
  std::vector<unsigned char> at_svc;
};

void probe_hook(uc_engine* uc, uint32_t, void* user) {
  static_cast<Probe*>(user)->at_svc = snapshot(uc);
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
  std::optional<size_t> found;
  for (size_t o = 0; o + 16 <= p.at_svc.size(); o += 4) {
    uint32_t v;
    std::memcpy(&v, p.at_svc.data() + o, 4);
    if (v != kProbeSyndrome) continue;
    if (found) return std::nullopt;  // ambiguous: trust nothing
    found = o;
  }
  return found;
}

}  // namespace

std::optional<RaisedException> raised_exception(uc_engine* uc) {
  static const std::optional<size_t> offset = find_offset();
  if (!offset) return std::nullopt;
  const std::vector<unsigned char> bytes = snapshot(uc);
  // exception.{syndrome (u32), fsr (u32), vaddress (u64)} are consecutive.
  if (bytes.size() < *offset + 16) return std::nullopt;
  RaisedException r;
  std::memcpy(&r.syndrome, bytes.data() + *offset, 4);
  std::memcpy(&r.vaddress, bytes.data() + *offset + 8, 8);
  return r;
}

}  // namespace irqremap::arm64
