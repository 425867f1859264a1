// Booting as QEMU q35 -kernel: multiboot v1 entry state and information structure
// (Multiboot 0.6.96 §3.2, §3.3), fw_cfg items (QEMU docs/specs/fw_cfg.rst), and AP
// start-up by INIT and Start Up IPIs into real mode (Intel SDM vol. 3A §9.4.4, §11.6.1).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "arch/common/multiboot.h"
#include "arch/x86/fw_cfg.h"
#include "arch/x86/x86_machine.h"
#include "tests/x86/code_bytes.h"

using namespace irqremap;
using namespace irqremap::x86;

namespace {

constexpr uint32_t kLoad = 0x10'0000, kResults = 0x20'0000;

void le32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}

// A multiboot image with address fields (flag 16), loaded at 1 MiB and entered at
// kLoad + 0x20 with `code` (32-bit protected mode).
std::vector<std::byte> multiboot_image(const std::vector<uint8_t>& code, uint32_t load = kLoad, uint32_t bss_end = 0) {
  std::vector<uint8_t> b;
  const uint32_t flags = arch::multiboot::kHeaderFlagAddress;
  le32(b, arch::multiboot::kHeaderMagic);
  le32(b, flags);
  le32(b, uint32_t(0) - arch::multiboot::kHeaderMagic - flags);
  le32(b, load);         // header_addr
  le32(b, load);         // load_addr
  le32(b, 0);            // load_end_addr: the whole file
  le32(b, bss_end);      // bss_end_addr (0: none)
  le32(b, load + 0x20);  // entry_addr
  b.resize(0x20, 0);
  b.insert(b.end(), code.begin(), code.end());
  std::vector<std::byte> out(b.size());
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

// mov [kResults + slot*4], eax
std::vector<uint8_t> store_eax(unsigned slot) {
  std::vector<uint8_t> b{0xA3};
  le32(b, kResults + 4 * slot);
  return b;
}

using x86test::cat;

const std::vector<uint8_t> kExit{0xB0, 0x21, 0xE6, 0xF4, 0xF4};  // mov al,0x21; out 0xf4,al; hlt

std::unique_ptr<X86Machine> machine(unsigned cpus = 1, uint64_t ram = 128ull << 20, std::string append = "") {
  X86MachineConfig cfg;
  cfg.cpus = cpus;
  cfg.ram_size = ram;
  cfg.kernel_name = "boot.elf";
  cfg.bootargs = std::move(append);
  cfg.uart_out = [](char) {};
  auto m = X86Machine::create(cfg);
  REQUIRE(m.has_value());
  return std::move(*m);
}

uint32_t result(X86Machine& m, unsigned slot) { return *m.memory().read32(kResults + 4 * slot); }

uint64_t u64_of(FwCfg& f, uint16_t key) {
  const auto* item = f.item(key);
  REQUIRE(item != nullptr);
  uint64_t v = 0;
  for (size_t i = 0; i < item->size() && i < 8; ++i) v |= uint64_t((*item)[i]) << (8 * i);
  return v;
}

}  // namespace

TEST_CASE("multiboot: entry in 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = the information structure (§3.2)") {
  auto m = machine();
  const auto code = cat({store_eax(0),                               // EAX
                         {0x89, 0xD8}, store_eax(1),                 // mov eax, ebx
                         {0x0F, 0x20, 0xC0}, store_eax(2),           // mov eax, cr0
                         {0x31, 0xC0, 0x8C, 0xC8}, store_eax(3),     // xor eax,eax; mov ax, cs
                         {0x31, 0xC0, 0x8C, 0xD8}, store_eax(4),     // mov ax, ds
                         kExit});
  auto entry = m->load(multiboot_image(code));
  REQUIRE(entry.has_value());
  CHECK(*entry == kLoad + 0x20);
  CHECK(m->multiboot());
  const arch::RunResult r = m->run(*entry, 10'000);
  CHECK(r.exit_status == ((0x21 << 1) | 1));
  CHECK(result(*m, 0) == arch::multiboot::kBootMagic);
  CHECK(result(*m, 1) == arch::multiboot::kInfoAddr);
  CHECK((result(*m, 2) & 1) == 1);            // CR0.PE
  CHECK((result(*m, 2) & 0x8000'0000u) == 0);  // CR0.PG
  // Flat code and data segments from a GDT (any selectors; both with base 0, checked by
  // the stores above landing at their linear addresses).
  CHECK(result(*m, 3) != 0);
  CHECK(result(*m, 4) != 0);
}

TEST_CASE("multiboot: the information structure has the memory sizes for --mem, the command line '<kernel> <append>' and a memory map (§3.3)") {
  auto m = machine(1, 256ull << 20, "smp=1 foo");
  REQUIRE(m->load(multiboot_image(kExit)).has_value());
  GuestMemory& mem = m->memory();
  const uint64_t mbi = arch::multiboot::kInfoAddr;
  const uint32_t flags = *mem.read32(mbi);
  CHECK((flags & (1u << 0)) != 0);  // mem_lower/mem_upper
  CHECK((flags & (1u << 2)) != 0);  // cmdline
  CHECK((flags & (1u << 6)) != 0);  // mmap
  CHECK(*mem.read32(mbi + 4) == 640);                        // mem_lower, KiB
  CHECK(*mem.read32(mbi + 8) == (256u << 10) - 1024);        // mem_upper: 1 MiB to the end of RAM
  const uint32_t cmdline = *mem.read32(mbi + 16);
  std::string s;
  for (uint32_t a = cmdline; s.size() < 64; ++a) {
    const char c = char(*mem.read8(a));
    if (c == 0) break;
    s.push_back(c);
  }
  CHECK(s == "boot.elf smp=1 foo");
  // The map's entries step by size + 4 (the size field excludes itself); the last one
  // covers RAM above 1 MiB up to --mem.
  const uint32_t length = *mem.read32(mbi + 44), addr = *mem.read32(mbi + 48);
  uint64_t top = 0;
  for (uint32_t at = addr; at < addr + length; at += *mem.read32(at) + 4) {
    const uint64_t base = *mem.read64(at + 4), len = *mem.read64(at + 12);
    if (*mem.read32(at + 20) == 1) top = std::max(top, base + len);
  }
  CHECK(top == 256ull << 20);
}

TEST_CASE("multiboot: an image that covers the information page (loaded at 0x8000, as kvm-unit-tests' realmode) keeps its bytes; the information goes to the page after its end and EBX points there") {
  auto m = machine();
  // Code at 0x8020, then bytes up to 0x9800 that must survive, bss to 0xDA30.
  auto code = cat({{0x89, 0xD8}, store_eax(0), kExit});  // mov eax, ebx
  code.resize(0x9800 - 0x8020, 0xA5);
  auto entry = m->load(multiboot_image(code, 0x8000, 0xDA30));
  REQUIRE(entry.has_value());
  CHECK(*entry == 0x8020);
  CHECK(*m->memory().read8(0x9000) == 0xA5);  // QEMU's map address holds the image's byte
  CHECK(*m->memory().read8(0x9500) == 0xA5);
  const arch::RunResult r = m->run(*entry, 10'000);
  CHECK(r.exit_status == ((0x21 << 1) | 1));
  const uint32_t mbi = result(*m, 0);
  CHECK(mbi == 0xE000 + 0x500);  // the page after 0xDA30, laid out as QEMU's at 0x9000
  CHECK(*m->memory().read32(mbi + 48) == 0xE000);  // mmap_addr
  CHECK(*m->memory().read32(mbi + 4) == 640);      // mem_lower
  CHECK(u64_of(m->fw_cfg(), FwCfg::INITRD_ADDR) == mbi);
}

TEST_CASE("fw_cfg: selecting a key rewinds it; the signature reads 'QEMU' byte by byte; past the end and unknown keys read 0") {
  FwCfg f;
  f.set(FwCfg::SIGNATURE, {'Q', 'E', 'M', 'U'});
  f.set_u16(FwCfg::NB_CPUS, 4);
  f.io_out(0, 2, FwCfg::SIGNATURE);
  std::string sig;
  for (int i = 0; i < 4; ++i) sig.push_back(char(f.io_in(1, 1)));
  CHECK(sig == "QEMU");
  CHECK(f.io_in(1, 1) == 0);
  f.io_out(0, 2, FwCfg::SIGNATURE);
  CHECK(f.io_in(1, 1) == 'Q');  // rewound
  f.io_out(0, 2, FwCfg::NB_CPUS);
  CHECK(f.io_in(1, 1) == 4);
  CHECK(f.io_in(1, 1) == 0);
  f.io_out(0, 2, 0x7777);
  CHECK(f.io_in(1, 1) == 0);
}

TEST_CASE("fw_cfg on the machine: CPU count, RAM size, ID and, after a multiboot load, the kernel's entry and address as QEMU's loader hands them") {
  auto m = machine(3, 64ull << 20);
  REQUIRE(m->load(multiboot_image(kExit)).has_value());
  FwCfg& f = m->fw_cfg();
  auto u64 = [&](uint16_t key) {
    const auto* item = f.item(key);
    REQUIRE(item != nullptr);
    uint64_t v = 0;
    for (size_t i = 0; i < item->size() && i < 8; ++i) v |= uint64_t((*item)[i]) << (8 * i);
    return v;
  };
  CHECK(u64(FwCfg::NB_CPUS) == 3);
  CHECK(u64(FwCfg::MAX_CPUS) == 3);
  CHECK(u64(FwCfg::RAM_SIZE) == 64ull << 20);
  CHECK(u64(FwCfg::ID) == FwCfg::kIdTraditional);
  CHECK(u64(FwCfg::KERNEL_ENTRY) == kLoad + 0x20);
  CHECK(u64(FwCfg::KERNEL_ADDR) == kLoad);
  CHECK(u64(FwCfg::INITRD_ADDR) == arch::multiboot::kInfoAddr);
  // The guest reads the same through ports 0x510/0x511.
  const auto code = cat({{0x66, 0xBA, 0x10, 0x05, 0x66, 0xB8, 0x05, 0x00, 0x66, 0xEF,  // out 0x510, ax=NB_CPUS
                          0x42, 0x31, 0xC0, 0xEC},                                      // inc dx; in al, dx
                         store_eax(0), kExit});
  auto m2 = machine(3);
  auto entry = m2->load(multiboot_image(code));
  REQUIRE(entry.has_value());
  CHECK(m2->run(*entry, 10'000).exit_status == ((0x21 << 1) | 1));
  CHECK(result(*m2, 0) == 3);
}

TEST_CASE("INIT then Start Up IPI through the xAPIC ICR starts an AP in real mode at vector << 12; a second SIPI is ignored (SDM §9.4.4)") {
  auto m = machine(2);
  // BSP, 32-bit: ICR high = APIC 1; ICR low = INIT (assert, level); then Start Up vector 8
  // twice; then wait for the AP's word at 0x8100 and exit.
  const uint32_t icr_lo = 0xFEE0'0300, icr_hi = 0xFEE0'0310;
  auto mov_mem = [](uint32_t addr, uint32_t v) {
    std::vector<uint8_t> b{0xC7, 0x05};
    le32(b, addr);
    le32(b, v);
    return b;
  };
  const auto bsp = cat({mov_mem(icr_hi, 1u << 24), mov_mem(icr_lo, 0x0000'4500),
                        mov_mem(icr_hi, 1u << 24), mov_mem(icr_lo, 0x0000'4608),
                        mov_mem(icr_hi, 1u << 24), mov_mem(icr_lo, 0x0000'4608),
                        {0x66, 0x81, 0x3D}, [] { std::vector<uint8_t> b; le32(b, 0x8100); return b; }(),
                        {0x34, 0x12, 0x75, 0xF5},  // cmp word [0x8100], 0x1234; jne back
                        kExit});
  auto entry = m->load(multiboot_image(bsp));
  REQUIRE(entry.has_value());
  // AP, 16-bit real mode at 0800:0000: record CS and CR0, then the marker, then halt.
  const std::vector<uint8_t> ap{0x8C, 0xC8,              // mov ax, cs
                                0x2E, 0xA3, 0x04, 0x01,  // mov cs:[0x104], ax
                                0x0F, 0x20, 0xC0,        // mov eax, cr0 (low word)
                                0x2E, 0xA3, 0x08, 0x01,  // mov cs:[0x108], ax
                                0xB8, 0x34, 0x12,        // mov ax, 0x1234
                                0x2E, 0xA3, 0x00, 0x01,  // mov cs:[0x100], ax
                                0xF4, 0xEB, 0xFD};       // hlt; jmp back to hlt
  REQUIRE(m->memory().write(0x8000, std::as_bytes(std::span(ap))));
  CHECK_FALSE(m->cpu_running(1));
  const arch::RunResult r = m->run(*entry, 200'000);
  CHECK(r.exit_status == ((0x21 << 1) | 1));
  CHECK(m->cpu_running(1));
  CHECK(*m->memory().read16(0x8100) == 0x1234);
  CHECK(*m->memory().read16(0x8104) == 0x0800);        // CS = vector << 8
  CHECK((*m->memory().read16(0x8108) & 1) == 0);      // CR0.PE = 0: real mode
}
