#include "arch/x86/engine_context.h"

#include <fmt/format.h>

namespace irqremap::x86::engine_context {

std::expected<Scratch, std::string> open_scratch() {
  uc_engine* uc = nullptr;
  if (uc_err e = uc_open(UC_ARCH_X86, UC_MODE_64, &uc); e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
  Scratch s;
  s.uc.reset(uc);
  uc_context* ctx = nullptr;
  if (uc_err e = uc_context_alloc(uc, &ctx); e != UC_ERR_OK)
    return std::unexpected(fmt::format("unicorn: {}", uc_strerror(e)));
  s.ctx.reset(ctx);
  return s;
}

std::vector<std::byte> snapshot(uc_engine* uc, uc_context* ctx) {
  uc_context_save(uc, ctx);
  const auto* p = reinterpret_cast<const std::byte*>(ctx);
  return {p, p + uc_context_size(uc)};
}

}  // namespace irqremap::x86::engine_context
