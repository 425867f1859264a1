#include "arch/x86/exception_in_flight.h"

#include <fmt/format.h>

#include "arch/x86/engine_context.h"

#include <cstring>
#include <memory>
#include <vector>

namespace irqremap::x86 {
namespace {

using namespace engine_context;

// The experiment: #DE is contributory, so a second #DE while the first is in flight becomes
// #DF (Table 6-5). The hook records each reported vector and a snapshot taken right then.
struct Probe {
  uc_context* ctx = nullptr;
  std::vector<uint32_t> vectors;
  std::vector<std::vector<std::byte>> snapshots;
  unsigned stop_after = 2;
};

void on_probe_intr(uc_engine* uc, uint32_t intno, void* user) {
  auto* p = static_cast<Probe*>(user);
  p->vectors.push_back(intno);
  p->snapshots.push_back(snapshot(uc, p->ctx));
  if (p->vectors.size() >= p->stop_after) uc_emu_stop(uc);
}

std::expected<size_t, std::string> find_offset() {
  auto scratch = open_scratch();
  if (!scratch) return std::unexpected(scratch.error());
  auto& [uc, ctx] = *scratch;
  constexpr uint64_t kCode = 0x1000;
  // xor ecx, ecx; div ecx (#DE, re-executed after the hook since RIP stays on it)
  constexpr uint8_t kInsns[] = {0x31, 0xC9, 0xF7, 0xF1};
  if (uc_mem_map(uc.get(), kCode, 0x1000, UC_PROT_ALL) != UC_ERR_OK ||
      uc_mem_write(uc.get(), kCode, kInsns, sizeof kInsns) != UC_ERR_OK)
    return std::unexpected("unicorn: cannot map the probe page");
  Probe probe;
  probe.ctx = ctx.get();
  uc_hook hook = 0;
  uc_hook_add(uc.get(), &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&on_probe_intr), &probe, 1, 0);
  const std::vector<std::byte> reset = snapshot(uc.get(), ctx.get());
  uc_emu_start(uc.get(), kCode, kCode + sizeof kInsns, 0, 16);
  if (probe.vectors != std::vector<uint32_t>{0, 8})
    return std::unexpected("unicorn: a second #DE was not reported as #DF; unknown exception bookkeeping");
  std::vector<size_t> found;
  for (size_t off = 0; off + sizeof(int) <= reset.size(); off += sizeof(int))
    if (field<int>(reset, off) == -1 && field<int>(probe.snapshots[0], off) == 0 && field<int>(probe.snapshots[1], off) == 8)
      found.push_back(off);
  if (found.size() != 1)
    return std::unexpected(fmt::format("unicorn: {} candidates for the exception-in-flight record", found.size()));
  // Check the finding: with the record cleared, the next #DE is a #DE again.
  const size_t off = found[0];
  write_field<int>(uc.get(), ctx.get(), off, -1);
  probe.vectors.clear();
  probe.stop_after = 1;
  uc_emu_start(uc.get(), kCode + 2, kCode + sizeof kInsns, 0, 16);
  if (probe.vectors != std::vector<uint32_t>{0})
    return std::unexpected("unicorn: clearing the exception-in-flight record did not stop the #DF conversion");
  return off;
}

}  // namespace

std::expected<ExceptionInFlight, std::string> ExceptionInFlight::locate() {
  static const std::expected<size_t, std::string> offset = find_offset();
  if (!offset) return std::unexpected(offset.error());
  return ExceptionInFlight(*offset);
}

int ExceptionInFlight::read(uc_engine* uc, uc_context* scratch) const {
  return engine_context::read_field<int>(uc, scratch, offset_);
}

void ExceptionInFlight::clear(uc_engine* uc, uc_context* scratch) const {
  engine_context::write_field<int>(uc, scratch, offset_, -1);
}

}  // namespace irqremap::x86
