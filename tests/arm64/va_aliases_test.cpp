// Alias pages (arch/common/va_aliases.h) against a real Unicorn 2.0.1 engine. Its QEMU
// aborts the host process once an engine's physical map holds TARGET_PAGE_SIZE sections
// (1,024 on AArch64), and a guest that touches many pages whose VA differs from the PA
// would get there one alias page at a time: the cap stops it first, with a message.
#include <doctest/doctest.h>

#include <unicorn/unicorn.h>

#include "arch/common/va_aliases.h"
#include "remap/guest_memory.h"
#include "remap/trace.h"

using namespace irqremap;

namespace {

struct Engine {
  explicit Engine(uc_arch arch, uc_mode mode) { REQUIRE(uc_open(arch, mode, &uc) == UC_ERR_OK); }
  ~Engine() { uc_close(uc); }
  uc_engine* uc = nullptr;
};

}  // namespace

TEST_CASE("va aliases: an AArch64 engine takes its whole cap of alias pages without Unicorn's section-count abort, then refuses with a message") {
  Engine e(UC_ARCH_ARM64, UC_MODE_ARM);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0x4000'0000, 0x40'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(arch::VaAliases::kArm64MaxPages);
  // Every alias a distinct VA page onto the same RAM page, as a guest's higher-half map
  // of its heap would ask for them.
  const uint64_t va0 = 0xFFFF'0000'0000'0000ull;
  for (std::size_t i = 0; i < arch::VaAliases::kArm64MaxPages; ++i)
    REQUIRE(aliases.map(e.uc, mem, va0 + i * arch::VaAliases::kPage, 0x4000'0000, nullptr, trace, 0));
  CHECK(aliases.full());
  CHECK(aliases.size() == arch::VaAliases::kArm64MaxPages);
  const uint64_t next = va0 + arch::VaAliases::kArm64MaxPages * arch::VaAliases::kPage;
  CHECK_FALSE(aliases.map(e.uc, mem, next, 0x4000'0000, nullptr, trace, 0));
  CHECK_FALSE(aliases.contains(next));
  CHECK(aliases.cap_message(next, 0x4000'0000).find("already has 768 alias pages") != std::string::npos);
  // The pages mapped so far still work: the engine reads RAM through the last alias.
  REQUIRE(mem.write64(0x4000'0008, 0x1122'3344'5566'7788ull).has_value());
  uint64_t v = 0;
  CHECK(uc_mem_read(e.uc, next - arch::VaAliases::kPage + 8, &v, 8) == UC_ERR_OK);
  CHECK(v == 0x1122'3344'5566'7788ull);
}

TEST_CASE("va aliases: the cap is the engine's own, not a count shared by all pages (x86 engine, small cap)") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(4);
  for (uint64_t i = 0; i < 4; ++i) CHECK(aliases.map(e.uc, mem, 0x8000'0000 + i * 0x1000, 0x2000, nullptr, trace, 0));
  CHECK_FALSE(aliases.map(e.uc, mem, 0x9000'0000, 0x2000, nullptr, trace, 0));
  CHECK_FALSE(aliases.map(e.uc, mem, 0x8000'0000, 0x2000, nullptr, trace, 0));  // already an alias
  CHECK(aliases.contains(0x8000'0FFF));
}
