// Alias pages (arch/common/va_aliases.h) against a real Unicorn 2.0.1 x86 engine. Its QEMU
// aborts the host process once an engine's physical map holds TARGET_PAGE_SIZE sections
// (4,096 on x86), and a guest that touches many pages whose VA differs from the PA would
// get there one alias page at a time: the cap stops it first, with a message.
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

TEST_CASE("va aliases: the cap is the engine's own, not a count shared by all pages (x86 engine, small cap), and refuses with a message") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(4);
  for (uint64_t i = 0; i < 4; ++i) CHECK(aliases.map(e.uc, mem, 0x8000'0000 + i * 0x1000, 0x2000, nullptr, trace, 0));
  CHECK_FALSE(aliases.map(e.uc, mem, 0x9000'0000, 0x2000, nullptr, trace, 0));
  CHECK_FALSE(aliases.map(e.uc, mem, 0x8000'0000, 0x2000, nullptr, trace, 0));  // already an alias
  CHECK(aliases.contains(0x8000'0FFF));
  CHECK(aliases.full());
  CHECK(aliases.cap_message(0x9000'0000, 0x2000).find("already has 4 alias pages") != std::string::npos);
  // The pages mapped so far still work: the engine reads RAM through the last alias.
  REQUIRE(mem.write64(0x2008, 0x1122'3344'5566'7788ull).has_value());
  uint64_t v = 0;
  CHECK(uc_mem_read(e.uc, 0x8000'3008, &v, 8) == UC_ERR_OK);
  CHECK(v == 0x1122'3344'5566'7788ull);
}
