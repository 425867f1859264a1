// Alias pages (arch/common/va_aliases.h) against a real Unicorn 2.0.1 x86 engine. Its QEMU
// aborts the host process once an engine's physical map holds TARGET_PAGE_SIZE sections
// (4,096 on x86), and a guest that touches many pages whose VA differs from the PA would
// get there one alias page at a time: the cap keeps each engine below it, replacing the
// oldest run.
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

// The tables of a guest that maps `pages` pages from `va0` onto consecutive pages from `pa0`.
arch::VaAliases::Translate linear(uint64_t va0, uint64_t pa0, uint64_t pages) {
  return [=](uint64_t va) -> std::optional<uint64_t> {
    if (va - va0 >= pages * 0x1000) return std::nullopt;
    return pa0 + (va - va0);
  };
}

// The tables of a guest that maps the pages from `va0` on onto `pas`, one each.
arch::VaAliases::Translate scattered(uint64_t va0, std::vector<uint64_t> pas) {
  return [=](uint64_t va) -> std::optional<uint64_t> {
    const uint64_t i = (va - va0) / 0x1000;
    if (va < va0 || i >= pas.size()) return std::nullopt;
    return pas[i];
  };
}

}  // namespace

TEST_CASE("va aliases: at the cap a new run replaces the oldest, as a TLB replaces entries (SDM vol. 3A §4.10.4.1: a processor may invalidate more than asked), and the replaced VA is gone from the engine") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  RecordingSink rec;
  trace.attach(&rec);
  arch::VaAliases aliases(4);
  for (uint64_t i = 0; i < 4; ++i) CHECK(aliases.map(e.uc, mem, 0x8000'0000 + i * 0x1000, 0x2000, nullptr, trace, 0));
  CHECK(aliases.full());
  CHECK_FALSE(aliases.map(e.uc, mem, 0x8000'0000, 0x2000, nullptr, trace, 0));  // already an alias
  CHECK(aliases.replaced() == 0);
  // A fifth run: the first one mapped (VA 0x8000_0000) goes, the other three stay.
  REQUIRE(aliases.map(e.uc, mem, 0x9000'0000, 0x3000, nullptr, trace, 3));
  CHECK(aliases.runs() == 4);
  CHECK(aliases.replaced() == 1);
  CHECK_FALSE(aliases.contains(0x8000'0FFF));
  CHECK(aliases.contains(0x8000'1000));
  CHECK(aliases.contains(0x9000'0000));
  uint8_t b = 0;
  CHECK(uc_mem_read(e.uc, 0x8000'0000, &b, 1) != UC_ERR_OK);  // an access there faults in again
  REQUIRE(mem.write64(0x3010, 0x1122'3344'5566'7788ull).has_value());
  uint64_t v = 0;
  CHECK(uc_mem_read(e.uc, 0x9000'0010, &v, 8) == UC_ERR_OK);
  CHECK(v == 0x1122'3344'5566'7788ull);
  // The replacement is traced as a Note of the CPU's unit.
  bool noted = false;
  for (const Event& ev : rec.events)
    noted |= ev.unit == "cpu3" && ev.text.find("at VA 0x80000000 (PA 0x2000) replaced") != std::string::npos &&
             ev.value("va") == 0x8000'0000;
  CHECK(noted);
  // Oldest first: the order a snapshot saves and a restore maps them in.
  const auto runs = aliases.list();
  REQUIRE(runs.size() == 4);
  CHECK(runs[0].va_page == 0x8000'1000);
  CHECK(runs[3].va_page == 0x9000'0000);
  CHECK(runs[3].pa_page == 0x3000);
  trace.detach(&rec);
}

TEST_CASE("va aliases: the run holding the running code is never the one replaced, and INVLPG's drop takes a run out of the replacement order") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(3);
  REQUIRE(aliases.map(e.uc, mem, 0x8000'0000, 0x1000, nullptr, trace, 0));  // oldest: the code
  REQUIRE(aliases.map(e.uc, mem, 0x8000'2000, 0x4000, nullptr, trace, 0));
  REQUIRE(aliases.map(e.uc, mem, 0x8000'4000, 0x6000, nullptr, trace, 0));
  REQUIRE(aliases.map(e.uc, mem, 0x8000'6000, 0x8000, nullptr, trace, 0, nullptr, 0x8000'0123));
  CHECK(aliases.contains(0x8000'0000));        // kept: the running block is there
  CHECK_FALSE(aliases.contains(0x8000'2000));  // the oldest other run went
  // INVLPG drops 0x8000_4000; the next replacement then takes the code's run (no keep).
  CHECK(aliases.drop(e.uc, 0x8000'4567) == 1);
  REQUIRE(aliases.map(e.uc, mem, 0x8000'8000, 0xA000, nullptr, trace, 0));
  REQUIRE(aliases.map(e.uc, mem, 0x8000'A000, 0xC000, nullptr, trace, 0));
  CHECK_FALSE(aliases.contains(0x8000'0000));
  CHECK(aliases.contains(0x8000'6000));
  CHECK(aliases.runs() == 3);
  // A cap of one run that holds the running code cannot make room: refused.
  arch::VaAliases one(1);
  Engine e2(UC_ARCH_X86, UC_MODE_64);
  REQUIRE(one.map(e2.uc, mem, 0x7000'0000, 0x1000, nullptr, trace, 0));
  CHECK_FALSE(one.map(e2.uc, mem, 0x7000'2000, 0x2000, nullptr, trace, 0, nullptr, 0x7000'0FFF));
  CHECK(one.contains(0x7000'0000));
}

TEST_CASE("va aliases: one run covers the pages the tables map contiguously (one engine region, not one per page), stops before the next run, and drop_all unmaps them as a TLB flush does (SDM vol. 3A §4.10.4.1)") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(2);
  // A run already at 0x8000_4000 bounds the next one from below it to 4 pages.
  REQUIRE(aliases.map(e.uc, mem, 0x8000'4000, 0x9'0000, nullptr, trace, 0, linear(0x8000'4000, 0x9'0000, 16)));
  CHECK(aliases.run_pages(0x8000'4000) == 16);
  REQUIRE(aliases.map(e.uc, mem, 0x8000'0123, 0x2000, nullptr, trace, 0, linear(0x8000'0000, 0x2000, 16)));
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

TEST_CASE("va aliases: physically scattered pages make one run, the RAM's memory file mapped side by side (one engine region for a vmalloc'd buffer): reads and writes through it are the RAM's own bytes, both ways") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  mem.set_file_backed(true);
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(8, 64);
  // Five VA pages onto PAs 0x7000, 0x3000, 0x4000, 0x9000, 0x1000: four parts.
  const std::vector<uint64_t> pas = {0x7000, 0x3000, 0x4000, 0x9000, 0x1000};
  REQUIRE(aliases.map(e.uc, mem, 0x4000'2010, 0x7000, nullptr, trace, 0, scattered(0x4000'2000, pas)));
  CHECK(aliases.runs() == 1);
  CHECK(aliases.run_pages(0x4000'2000) == 5);
  CHECK(aliases.pieces() == 4);
  for (uint64_t i = 0; i < pas.size(); ++i) REQUIRE(mem.write64(pas[i] + 0x18, 0xA0 + i).has_value());
  for (uint64_t i = 0; i < pas.size(); ++i) {
    uint64_t v = 0;
    CHECK(uc_mem_read(e.uc, 0x4000'2018 + i * 0x1000, &v, 8) == UC_ERR_OK);
    CHECK(v == 0xA0 + i);
  }
  // A write through the engine lands in RAM at the page's PA; one that crosses from the
  // fourth page into the fifth lands in both PAs.
  const uint64_t w = 0x1122'3344'5566'7788ull;
  CHECK(uc_mem_write(e.uc, 0x4000'3100, &w, 8) == UC_ERR_OK);
  CHECK(*mem.read64(0x3100) == w);
  CHECK(uc_mem_write(e.uc, 0x4000'5FFC, &w, 8) == UC_ERR_OK);
  CHECK(*mem.read32(0x9FFC) == 0x5566'7788u);
  CHECK(*mem.read32(0x1000) == 0x1122'3344u);
  // Zeroing RAM (a loader's clear) is seen through the window too.
  REQUIRE(mem.zero(0x3000, 0x2000));
  uint64_t v = 1;
  CHECK(uc_mem_read(e.uc, 0x4000'3100, &v, 8) == UC_ERR_OK);
  CHECK(v == 0);
  // The parts as a snapshot saves them: oldest run first, later parts joined.
  const auto parts = aliases.list();
  REQUIRE(parts.size() == 4);
  CHECK((parts[0].va_page == 0x4000'2000 && parts[0].pa_page == 0x7000 && parts[0].pages == 1 && !parts[0].joined));
  CHECK((parts[1].va_page == 0x4000'3000 && parts[1].pa_page == 0x3000 && parts[1].pages == 2 && parts[1].joined));
  CHECK((parts[3].va_page == 0x4000'6000 && parts[3].pa_page == 0x1000 && parts[3].joined));
  CHECK(aliases.drop(e.uc, 0x4000'5000) == 1);
  CHECK(aliases.pieces() == 0);
  CHECK(uc_mem_read(e.uc, 0x4000'2018, &v, 8) != UC_ERR_OK);
}

TEST_CASE("va aliases: without a memory file a run ends where the physical pages stop following each other; a run stops at the end of its RAM region and at a page with no translation") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(8);
  REQUIRE(aliases.map(e.uc, mem, 0x4000'0000, 0x7000, nullptr, trace, 0, scattered(0x4000'0000, {0x7000, 0x8000, 0x3000})));
  CHECK(aliases.run_pages(0x4000'0000) == 2);
  CHECK(aliases.pieces() == 0);
  GuestMemory filed;
  filed.set_file_backed(true);
  REQUIRE(filed.add_ram(0, 0x4000, "ram").has_value());
  Engine e2(UC_ARCH_X86, UC_MODE_64);
  arch::VaAliases other(8);
  // 0x4000 is past the region; the third page has no translation in the second case.
  REQUIRE(other.map(e2.uc, filed, 0x5000'0000, 0x3000, nullptr, trace, 0, scattered(0x5000'0000, {0x3000, 0x1000, 0x4000})));
  CHECK(other.run_pages(0x5000'0000) == 2);
  REQUIRE(other.map(e2.uc, filed, 0x6000'0000, 0x2000, nullptr, trace, 0, scattered(0x6000'0000, {0x2000, 0x0000})));
  CHECK(other.run_pages(0x6000'0000) == 2);
}

TEST_CASE("va aliases: host mappings of scattered pages are capped per CPU (the host's vm.max_map_count): the oldest runs go to make room, and a run that cannot get more stops at its last part") {
  Engine e(UC_ARCH_X86, UC_MODE_64);
  GuestMemory mem;
  mem.set_file_backed(true);
  REQUIRE(mem.add_ram(0, 0x10'0000, "ram").has_value());
  Trace trace;
  arch::VaAliases aliases(16, 6);
  // Every page on its own: descending PAs.
  const auto descending = [](uint64_t va0, uint64_t pa0) {
    return [=](uint64_t va) -> std::optional<uint64_t> { return pa0 - (va - va0); };
  };
  REQUIRE(aliases.map(e.uc, mem, 0x4000'0000, 0x8'0000, nullptr, trace, 0, descending(0x4000'0000, 0x8'0000)));
  CHECK(aliases.run_pages(0x4000'0000) == 6);  // six parts: the cap
  CHECK(aliases.pieces() == 6);
  REQUIRE(aliases.map(e.uc, mem, 0x5000'0000, 0x9'0000, nullptr, trace, 0, descending(0x5000'0000, 0x9'0000)));
  CHECK_FALSE(aliases.contains(0x4000'0000));  // replaced to make room
  CHECK(aliases.run_pages(0x5000'0000) == 6);
  CHECK(aliases.replaced() == 1);
  // With the only run holding the running code, the new run cannot get a second part.
  REQUIRE(aliases.map(e.uc, mem, 0x6000'0000, 0xA'0000, nullptr, trace, 0, descending(0x6000'0000, 0xA'0000), 0x5000'0000));
  CHECK(aliases.contains(0x5000'0000));
  CHECK(aliases.run_pages(0x6000'0000) == 1);
  uint64_t v = 0;
  REQUIRE(mem.write64(0xA'0010, 77).has_value());
  CHECK(uc_mem_read(e.uc, 0x6000'0010, &v, 8) == UC_ERR_OK);
  CHECK(v == 77);
}
