// A multiboot module (`run --initrd` on x86, as QEMU's -initrd with a multiboot kernel):
// where the loader puts it and what the kernel finds in the information structure
// (Multiboot Specification 0.6.96 §3.3: flags bit 3, mods_count, mods_addr, and each
// module's mod_start, mod_end, string). kvm-unit-tests' x86 start-up takes its environment
// from the first module's bytes.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "arch/common/multiboot.h"
#include "remap/guest_memory.h"
#include "tests/tools/cli_run.h"

namespace fs = std::filesystem;
using namespace irqremap;
namespace mb = irqremap::arch::multiboot;

namespace {

// A raw multiboot image with address fields (flag 16): loaded at `load`, `size` bytes.
std::vector<std::byte> image_at(uint32_t load, size_t size) {
  std::vector<std::byte> img(size);
  const uint32_t flags = mb::kHeaderFlagAddress;
  const uint32_t words[8] = {mb::kHeaderMagic, flags, uint32_t(0u - mb::kHeaderMagic - flags), load, load, 0, 0,
                             load + 0x20};
  std::memcpy(img.data(), words, sizeof words);
  return img;
}

uint32_t r32(const GuestMemory& m, uint64_t a) { return m.read32(a).value_or(0xDEAD'BEEF); }

struct Ram {
  GuestMemory mem;
  explicit Ram(uint64_t size) { REQUIRE(mem.add_ram(0, size, "ram").has_value()); }
};

}  // namespace

TEST_CASE("multiboot module: at the page after the kernel, listed once after the information structure, with its bytes and its string (Multiboot 0.6.96 §3.3)") {
  Ram ram(16 << 20);
  const std::vector<std::byte> kernel = image_at(0x10'0000, 0x2345);
  const std::string env = "TEST_DEVICE=0\n";
  mb::Params p;
  p.ram_size = 16 << 20;
  p.cmdline = "apic.flat";
  p.module = mb::Module{std::as_bytes(std::span(env)), "apic.env"};
  auto l = mb::load(ram.mem, kernel, *mb::find_header(kernel), p);
  REQUIRE(l.has_value());
  CHECK(l->module_start == 0x10'3000);  // the kernel's end 0x102345, to the next page
  CHECK(l->module_end == 0x10'3000 + env.size());
  const uint64_t info = l->info_addr;
  CHECK(info == mb::kInfoAddr);
  CHECK((r32(ram.mem, info) & (1u << 3)) != 0);  // flags bit 3: mods_* valid
  CHECK(r32(ram.mem, info + 20) == 1);            // mods_count
  const uint32_t mods = r32(ram.mem, info + 24);  // mods_addr
  CHECK(mods == info + mb::kInfoSize);            // after the structure, in the info page
  CHECK(r32(ram.mem, mods) == l->module_start);
  CHECK(r32(ram.mem, mods + 4) == l->module_end);
  const std::byte* bytes = ram.mem.host_ptr(l->module_start, env.size());
  REQUIRE(bytes != nullptr);
  CHECK(std::memcmp(bytes, env.data(), env.size()) == 0);
  const std::byte* s = ram.mem.host_ptr(r32(ram.mem, mods + 8), 9);
  REQUIRE(s != nullptr);
  CHECK(std::string(reinterpret_cast<const char*>(s)) == "apic.env");
  // Without a module the list is empty.
  Ram ram2(16 << 20);
  mb::Params none = p;
  none.module.reset();
  REQUIRE(mb::load(ram2.mem, kernel, *mb::find_header(kernel), none).has_value());
  CHECK(r32(ram2.mem, info + 20) == 0);
}

TEST_CASE("multiboot module: clear of the boot information page when the kernel loads low (realmode.flat at 0x8000), above 1 MiB") {
  Ram ram(4 << 20);
  const std::vector<std::byte> kernel = image_at(0x8000, 0x1800);  // covers 0x9000: the info page moves after it
  const std::vector<std::byte> module(0x3000, std::byte{0x5A});
  mb::Params p;
  p.ram_size = 4 << 20;
  p.module = mb::Module{module, "m"};
  auto l = mb::load(ram.mem, kernel, *mb::find_header(kernel), p);
  REQUIRE(l.has_value());
  const uint64_t page = l->info_addr & ~uint64_t{0xFFF};
  CHECK(page == 0xA000);
  // Neither the kernel [0x8000, 0x9800) nor the information page [0xA000, 0xB000).
  CHECK(l->module_start >= 0x10'0000);
  CHECK((l->module_start & 0xFFF) == 0);
  CHECK(ram.mem.host_ptr(l->module_start, 1)[0] == std::byte{0x5A});
}

TEST_CASE("multiboot module: one that does not fit in RAM after the kernel is refused with its size and place") {
  Ram ram(2 << 20);
  const std::vector<std::byte> kernel = image_at(0x10'0000, 0x1000);
  const std::vector<std::byte> module(0x10'0000);  // 1 MiB from 0x101000 passes the 2 MiB end
  mb::Params p;
  p.ram_size = 2 << 20;
  p.module = mb::Module{module, "big"};
  auto l = mb::load(ram.mem, kernel, *mb::find_header(kernel), p);
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error() ==
        "multiboot: the module (0x100000 bytes) does not fit in RAM after the kernel: it would go at 0x101000, and "
        "RAM ends at 0x200000");
}

TEST_CASE("run --arch x86 --initrd: a missing file, a directory and a module too big for RAM are one-line usage errors") {
  const fs::path kernel = fs::temp_directory_path() / "irqremap-mb-kernel.bin";
  const fs::path big = fs::temp_directory_path() / "irqremap-mb-big.env";
  {
    const std::vector<std::byte> k = image_at(0x10'0000, 0x1000);
    std::ofstream(kernel, std::ios::binary).write(reinterpret_cast<const char*>(k.data()), std::streamsize(k.size()));
    std::ofstream f(big, std::ios::binary);
    f.seekp((3 << 20) - 1);
    f.put('\0');
  }
  struct Case {
    std::string initrd, says;
  };
  const Case cases[] = {
      {"/nonexistent-env", "--initrd /nonexistent-env: cannot open (no such file)"},
      {"/", "--initrd /: not a regular file"},
      {big.string(), "the module (0x300000 bytes) does not fit in RAM after the kernel"},
  };
  for (const Case& c : cases) {
    auto r = clitest::run_cli({"run", "--arch", "x86", "--mem", "2", "--kernel", kernel.string(), "--initrd", c.initrd});
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  }
  fs::remove(kernel);
  fs::remove(big);
}
