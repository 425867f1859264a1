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
  CHECK(aliases.cap_message(0x9000'0000, 0x2000).find("already has 4 alias runs (4 pages)") != std::string::npos);
  // The pages mapped so far still work: the engine reads RAM through the last alias.
  REQUIRE(mem.write64(0x2008, 0x1122'3344'5566'7788ull).has_value());
  uint64_t v = 0;
  CHECK(uc_mem_read(e.uc, 0x8000'3008, &v, 8) == UC_ERR_OK);
  CHECK(v == 0x1122'3344'5566'7788ull);
}

TEST_CASE("va aliases: one run covers the pages the tables map contiguously (one engine region, not one per page), stops before the next run, and drop_all unmaps them as a TLB flush does (SDM vol. 3A §4.10.4.1)") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(2);
  const auto sixteen = [](uint64_t, uint64_t, uint64_t most) { return std::min<uint64_t>(most, 16); };
  // A run already at 0x8000_4000 bounds the next one from below it to 4 pages.
  REQUIRE(aliases.map(e.uc, mem, 0x8000'4000, 0x9'0000, nullptr, trace, 0, sixteen));
  CHECK(aliases.run_pages(0x8000'4000) == 16);
  REQUIRE(aliases.map(e.uc, mem, 0x8000'0123, 0x2000, nullptr, trace, 0, sixteen));
  CHECK(aliases.run_pages(0x8000'0000) == 4);
  CHECK(aliases.runs() == 2);
  CHECK(aliases.pages() == 20);
  CHECK(aliases.full());  // the cap counts runs
  REQUIRE(mem.write64(0x9'F008, 0x0102'0304'0506'0708ull).has_value());
  uint64_t v = 0;
  CHECK(uc_mem_read(e.uc, 0x8001'3008, &v, 8) == UC_ERR_OK);  // the last page of the run at 0x8000_4000
  CHECK(v == 0x0102'0304'0506'0708ull);
  CHECK(aliases.drop_all(e.uc) == 2);
  CHECK_FALSE(aliases.contains(0x8000'0000));
  CHECK(uc_mem_read(e.uc, 0x8001'3008, &v, 8) != UC_ERR_OK);  // gone from the engine
  // Mapped again after the flush, the VA reaches the new translation's memory.
  REQUIRE(mem.write64(0x5008, 0x1111'2222'3333'4444ull).has_value());
  REQUIRE(aliases.map(e.uc, mem, 0x8001'3000, 0x5000, nullptr, trace, 0));
  CHECK(uc_mem_read(e.uc, 0x8001'3008, &v, 8) == UC_ERR_OK);
  CHECK(v == 0x1111'2222'3333'4444ull);
  CHECK(aliases.drop(e.uc, 0x8001'3FFF) == 1);
  CHECK(aliases.runs() == 0);
}
