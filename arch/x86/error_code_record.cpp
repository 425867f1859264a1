#include "arch/x86/error_code_record.h"

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <vector>

namespace irqremap::x86 {
namespace {

struct EngineCloser {
  void operator()(uc_engine* uc) const { uc_close(uc); }
};
struct ContextFreer {
  void operator()(uc_context* c) const { uc_context_free(c); }
};

struct Probe {
  uc_context* ctx = nullptr;
  std::vector<uint32_t> vectors;
  std::vector<std::byte> snapshot;
};

void on_probe_intr(uc_engine* uc, uint32_t intno, void* user) {
  auto* p = static_cast<Probe*>(user);
  p->vectors.push_back(intno);
  uc_context_save(uc, p->ctx);
  const auto* b = reinterpret_cast<const std::byte*>(p->ctx);
  p->snapshot.assign(b, b + uc_context_size(uc));
  uc_emu_stop(uc);
}

// IRETQ at CPL 0 to `cs` (beyond the GDT): the snapshot taken when #GP is reported.
std::expected<std::vector<std::byte>, std::string> iretq_to(uint16_t cs) {
  uc_engine* raw = nullptr;
  if (uc_err e = uc_open(UC_ARCH_X86, UC_MODE_64, &raw); e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
  std::unique_ptr<uc_engine, EngineCloser> uc(raw);
  uc_context* rawctx = nullptr;
  if (uc_err e = uc_context_alloc(uc.get(), &rawctx); e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
  std::unique_ptr<uc_context, ContextFreer> ctx(rawctx);
  constexpr uint8_t kIretq[] = {0x48, 0xCF};
  const uint64_t frame[] = {0x1100, cs, 0x2, 0x3800, 0x1B};  // RIP, CS, RFLAGS, RSP, SS
  const uint64_t rsp = 0x3000, null_descriptor = 0;
  uc_x86_mmr gdtr{0, 0x2000, 7, 0};
  if (uc_mem_map(uc.get(), 0, 0x10000, UC_PROT_ALL) != UC_ERR_OK ||
      uc_mem_write(uc.get(), 0x1000, kIretq, sizeof kIretq) != UC_ERR_OK ||
      uc_mem_write(uc.get(), 0x2000, &null_descriptor, 8) != UC_ERR_OK ||
      uc_mem_write(uc.get(), rsp, frame, sizeof frame) != UC_ERR_OK ||
      uc_reg_write(uc.get(), UC_X86_REG_GDTR, &gdtr) != UC_ERR_OK ||
      uc_reg_write(uc.get(), UC_X86_REG_RSP, &rsp) != UC_ERR_OK)
    return std::unexpected("unicorn: cannot set up the error-code probe");
  Probe probe;
  probe.ctx = ctx.get();
  uc_hook hook = 0;
  uc_hook_add(uc.get(), &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&on_probe_intr), &probe, 1, 0);
  uc_emu_start(uc.get(), 0x1000, 0, 0, 4);
  if (probe.vectors != std::vector<uint32_t>{13})
    return std::unexpected("unicorn: IRETQ to a CS beyond the GDT did not raise #GP");
  return probe.snapshot;
}

std::expected<size_t, std::string> find_offset() {
  auto a = iretq_to(0x83);
  if (!a) return std::unexpected(a.error());
  auto b = iretq_to(0x93);
  if (!b) return std::unexpected(b.error());
  std::vector<size_t> found;
  for (size_t off = 0; off + 4 <= std::min(a->size(), b->size()); off += 4) {
    int32_t x = 0, y = 0;
    std::memcpy(&x, a->data() + off, 4);
    std::memcpy(&y, b->data() + off, 4);
    if (x == 0x80 && y == 0x90) found.push_back(off);
  }
  if (found.size() != 1)
    return std::unexpected(fmt::format("unicorn: {} candidates for the error-code record", found.size()));
  return found[0];
}

}  // namespace

std::expected<ErrorCodeRecord, std::string> ErrorCodeRecord::locate() {
  static const std::expected<size_t, std::string> offset = find_offset();
  if (!offset) return std::unexpected(offset.error());
  return ErrorCodeRecord(*offset);
}

uint32_t ErrorCodeRecord::read(uc_engine* uc, uc_context* scratch) const {
  uc_context_save(uc, scratch);
  uint32_t v = 0;
  std::memcpy(&v, reinterpret_cast<const std::byte*>(scratch) + offset_, sizeof v);
  return v;
}

}  // namespace irqremap::x86
