// VA != PA at the scale of an operating system's vmalloc (issue 32 item 7), in the test
// command's time: a guest that maps 100 MiB of virtual pages onto physical pages in
// descending order (every page a run of its own physically, as kvm-unit-tests' sieve.flat
// gets them from its page allocator after a free) writes each page through its virtual
// address and reads it back. Unicorn 2.0.1 looks linear addresses up as physical ones
// (arch/x86/x86_vcpu.h), so the vCPU maps alias runs; one run per page would be 25,600
// engine regions, past what an engine holds (arch/common/va_aliases.h). The whole
// kvm-unit-tests sieve, the same pattern at 6 G instructions, is `ctest -L long`.
#include <doctest/doctest.h>
#include <unicorn/unicorn.h>

#include <memory>
#include <vector>

#include "arch/x86/debug_exit.h"
#include "arch/x86/lapic_bus.h"
#include "arch/x86/x86_vcpu.h"
#include "remap/trace.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint64_t kScaleCode = 0x1000, kScaleStack = 0x8000;
constexpr uint64_t kScalePml4 = 0x10000, kScalePdpt = 0x11000, kScalePdLow = 0x12000, kScalePdHigh = 0x13000;
constexpr uint64_t kScalePts = 0x14000;       // 50 page tables for the 25,600 pages
constexpr uint64_t kScaleVa = 0x4000'0000;    // PDPT entry 1
constexpr uint64_t kScaleData = 0x0100'0000;  // 16 MiB: the data pages' physical base
constexpr uint64_t kScalePages = 25'600;      // 100 MiB
constexpr uint64_t kScaleRam = 128ull << 20;

// The page `i` of the buffer: physical pages in descending order.
constexpr uint64_t scale_pa(uint64_t i) { return kScaleData + (kScalePages - 1 - i) * 0x1000; }

struct ScaleRig {
  GuestMemory mem;
  LapicBus bus{1};
  IoPortBus io;
  DebugExit exit;
  uc_engine* uc = nullptr;
  std::unique_ptr<X86Vcpu> cpu;
  RecordingSink events;
  ScaleRig() {
    mem.set_file_backed(true);  // as the x86 machine's RAM (X86Machine::init)
    auto r = mem.add_ram(0, kScaleRam, "ram");
    REQUIRE(r.has_value());
    REQUIRE(uc_open(UC_ARCH_X86, UC_MODE_64, &uc) == UC_ERR_OK);
    REQUIRE(uc_mem_map_ptr(uc, 0, kScaleRam, UC_PROT_ALL, r->host) == UC_ERR_OK);
    REQUIRE(io.add(0xF4, exit));
    cpu = std::make_unique<X86Vcpu>(0, uc, mem, bus.apic(0), io);
    cpu->set_after_out([this] { if (exit.exit_requested()) uc_emu_stop(uc); });
    cpu->trace().attach(&events);
  }
  ~ScaleRig() {
    cpu->trace().detach(&events);
    cpu.reset();
    uc_close(uc);
  }
};

// 4-level tables (SDM vol. 3A §4.5): the low 2 MiB identity-mapped by one large page (code,
// stack, tables), and the buffer's 25,600 4 KiB pages at kScaleVa.
void scale_tables(ScaleRig& rig) {
  REQUIRE(rig.mem.write64(kScalePml4, kScalePdpt | 3));
  REQUIRE(rig.mem.write64(kScalePdpt, kScalePdLow | 3));
  REQUIRE(rig.mem.write64(kScalePdpt + 8, kScalePdHigh | 3));
  REQUIRE(rig.mem.write64(kScalePdLow, 0x83));  // 2 MiB page at 0, present, writable
  for (uint64_t t = 0; t < kScalePages / 512; ++t)
    REQUIRE(rig.mem.write64(kScalePdHigh + 8 * t, (kScalePts + t * 0x1000) | 3));
  for (uint64_t i = 0; i < kScalePages; ++i) REQUIRE(rig.mem.write64(kScalePts + 8 * i, scale_pa(i) | 3));
  uint64_t cr3 = kScalePml4, cr4 = 0, cr0 = 0;
  uc_reg_read(rig.uc, UC_X86_REG_CR4, &cr4);
  uc_reg_read(rig.uc, UC_X86_REG_CR0, &cr0);
  cr4 |= 1u << 5;   // PAE
  cr0 |= 1u << 31;  // PG
  uc_reg_write(rig.uc, UC_X86_REG_CR3, &cr3);
  uc_reg_write(rig.uc, UC_X86_REG_CR4, &cr4);
  uc_reg_write(rig.uc, UC_X86_REG_CR0, &cr0);
}

}  // namespace

TEST_CASE("x86 VA != PA at vmalloc scale: 25,600 pages mapped in descending physical order are written and read back through their virtual addresses, as a handful of alias runs (SDM vol. 3A §4.5; arch/common/va_aliases.h)") {
  ScaleRig rig;
  scale_tables(rig);
  // loop1: mov [rax], rax; add rax, 0x1000; dec ecx; jnz loop1        (each page's VA in it)
  // loop2: mov rdx, [rax]; cmp rdx, rax; jne bad; add rax, 0x1000; dec ecx; jnz loop2
  //        mov al, 0x21; out 0xf4, al; hlt     bad: mov al, 0x33; out 0xf4, al; hlt
  const std::vector<uint8_t> code = {
      0x48, 0xB8, 0x00, 0x00, 0x00, 0x40, 0, 0, 0, 0,  // mov rax, 0x4000_0000
      0xB9, 0x00, 0x64, 0x00, 0x00,                    // mov ecx, 25600
      0x48, 0x89, 0x00,                                // mov [rax], rax
      0x48, 0x05, 0x00, 0x10, 0x00, 0x00,              // add rax, 0x1000
      0xFF, 0xC9,                                      // dec ecx
      0x75, 0xF3,                                      // jnz loop1
      0x48, 0xB8, 0x00, 0x00, 0x00, 0x40, 0, 0, 0, 0,  // mov rax, 0x4000_0000
      0xB9, 0x00, 0x64, 0x00, 0x00,                    // mov ecx, 25600
      0x48, 0x8B, 0x10,                                // mov rdx, [rax]
      0x48, 0x39, 0xC2,                                // cmp rdx, rax
      0x75, 0x0F,                                      // jne bad
      0x48, 0x05, 0x00, 0x10, 0x00, 0x00,              // add rax, 0x1000
      0xFF, 0xC9,                                      // dec ecx
      0x75, 0xEE,                                      // jnz loop2
      0xB0, 0x21, 0xE6, 0xF4, 0xF4,                    // exit 0x21; hlt
      0xB0, 0x33, 0xE6, 0xF4, 0xF4};                   // bad: exit 0x33; hlt
  REQUIRE(rig.mem.write(kScaleCode, std::as_bytes(std::span(code))));
  rig.cpu->reset(kScaleCode, kScaleStack);
  for (int q = 0; q < 10'000 && !rig.exit.exit_requested(); ++q) {
    const arch::StepResult r = rig.cpu->step(100'000);
    INFO("stop: ", r.stop ? r.stop->what : std::string());
    REQUIRE_FALSE(r.stop);
  }
  CHECK(rig.exit.exit_requested() == ((0x21 << 1) | 1));  // every page read back its own VA
  // Each write reached the page's physical address, once.
  for (const uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{4096}, uint64_t{12'345}, kScalePages - 1})
    CHECK(*rig.mem.read64(scale_pa(i)) == kScaleVa + i * 0x1000);
  // As runs of 16 MiB (4,096 pages each, every page a part of its own): seven mappings,
  // none replaced.
  size_t mapped = 0, replaced = 0;
  for (const Event& e : rig.events.events) {
    if (e.text.find("alias of") == std::string::npos) continue;
    if (e.text.find("replaced") != std::string::npos) ++replaced;
    else ++mapped;
  }
  CHECK(mapped == 7);
  CHECK(replaced == 0);
}
