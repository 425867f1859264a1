#include "arch/x86/error_code_record.h"

#include <fmt/format.h>

#include "arch/x86/engine_context.h"

#include <cstring>
#include <memory>
#include <vector>

namespace irqremap::x86 {
namespace {

using namespace engine_context;

struct Probe {
  uc_context* ctx = nullptr;
  std::vector<uint32_t> vectors;
  std::vector<std::byte> snapshot;
};

void on_probe_intr(uc_engine* uc, uint32_t intno, void* user) {
  auto* p = static_cast<Probe*>(user);
  p->vectors.push_back(intno);
  p->snapshot = snapshot(uc, p->ctx);
  uc_emu_stop(uc);
}

// IRETQ at CPL 0 to `cs` (beyond the GDT): the snapshot taken when #GP is reported.
std::expected<std::vector<std::byte>, std::string> iretq_to(uint16_t cs) {
  auto scratch = open_scratch();
  if (!scratch) return std::unexpected(scratch.error());
  auto& [uc, ctx] = *scratch;
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
    if (field<int32_t>(*a, off) == 0x80 && field<int32_t>(*b, off) == 0x90) found.push_back(off);
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
  return engine_context::read_field<uint32_t>(uc, scratch, offset_);
}

}  // namespace irqremap::x86
