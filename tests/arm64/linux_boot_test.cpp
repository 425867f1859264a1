// Booting a Linux arm64 Image and an initrd on the AArch64 machine as QEMU 7.2 virt does
// (arch/arm64/linux_image.h, virt_boot.h; Linux Documentation/arch/arm64/booting.rst):
// where the kernel, the initrd and the device tree go, the registers at entry, /chosen's
// linux,initrd-start/-end, and `run --initrd` with its refusals.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/fdt_virt.h"
#include "tests/tools/cli_run.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t kReport = 0x4000'1000;  // where the guests below store what they saw
constexpr uint32_t kSelfLoop = 0x1400'0000;  // b .

void put32(std::vector<std::byte>& f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}
void put64(std::vector<std::byte>& f, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) f[at + i] = std::byte((v >> (8 * i)) & 0xFF);
}

// A Linux arm64 Image (booting.rst §4): code0 branches over the 64-byte header to `code`
// at offset 0x40; little endian, 4 KiB pages.
std::vector<std::byte> linux_image(uint64_t text_offset, uint64_t image_size, std::initializer_list<uint32_t> code) {
  std::vector<std::byte> f(0x40 + 4 * code.size());
  put32(f, 0x00, 0x1400'0010);  // code0: b +0x40
  put64(f, 0x08, text_offset);
  put64(f, 0x10, image_size);
  put64(f, 0x18, 0xa);           // LE, 4 KiB pages, anywhere
  put32(f, 0x38, 0x644d'5241);   // "ARM\x64"
  size_t at = 0x40;
  for (uint32_t w : code) {
    put32(f, at, w);
    at += 4;
  }
  return f;
}

// Stores x0..x3 at kReport and, PC-relative, the image's own address after them.
const std::initializer_list<uint32_t> kReportRegs = {
    0x10ff'fe04,  // adr x4, #-0x40        (the image's first byte)
    0xd2a8'0005,  // movz x5, #0x4000, lsl #16
    0xf282'0005,  // movk x5, #0x1000      (x5 = kReport)
    0xa900'04a0,  // stp x0, x1, [x5]
    0xa901'0ca2,  // stp x2, x3, [x5, #16]
    0xf900'10a4,  // str x4, [x5, #32]
    kSelfLoop,
};

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out;
  for (char c : s) out.push_back(std::byte(uint8_t(c)));
  return out;
}

std::string write_file(const std::string& name, const std::vector<std::byte>& bytes) {
  const std::string path = "/tmp/irqremap-linux-boot-" + name;
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

struct Report {
  uint64_t x[4];
  uint64_t image;
};

Report run_and_report(Arm64Machine& m, uint64_t entry) {
  // Junk in x1..x3 beforehand: the boot protocol's zeros must come from the machine.
  for (uc_arm64_reg r : {UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3}) m.cpu(0).set_reg(r, 0xdead'beef);
  const auto r = m.run(entry, 100);
  CHECK(r.stop == arch::StopKind::Budget);  // parked in `b .`, no fault
  Report out{};
  for (unsigned i = 0; i < 4; ++i) out.x[i] = *m.memory().read64(kReport + 8 * i);
  out.image = *m.memory().read64(kReport + 32);
  return out;
}

std::unique_ptr<Arm64Machine> machine(uint64_t ram = 128 * MiB) {
  Arm64MachineConfig cfg;
  cfg.ram_size = ram;
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  return std::move(*m);
}

}  // namespace

TEST_CASE("linux boot: an Image with text_offset 0 runs at RAM base + 2 MiB with x0 = the tree, x1..x3 = 0") {
  auto m = machine();
  const auto img = linux_image(0, 0x10'0000, kReportRegs);
  auto entry = m->load(img);
  REQUIRE(entry);
  CHECK(*entry == 0x4020'0000);
  const Report rep = run_and_report(*m, *entry);
  // The code found itself at 0x4020_0000 (2 MiB aligned: no "[Firmware Bug]: Kernel image
  // misaligned at boot"), not at the raw-image address 0x4008_0000.
  CHECK(rep.image == 0x4020'0000);
  CHECK(m->memory().read32(0x4020'0038) == 0x644d'5241u);
  CHECK(m->memory().read32(0x4008'0038) == 0u);
  // booting.rst §4: x0 = the tree's physical address, x1 = x2 = x3 = 0.
  CHECK(rep.x[0] == 0x4400'0000);
  CHECK(m->fdt_address() == 0x4400'0000ull);
  CHECK(rep.x[1] == 0);
  CHECK(rep.x[2] == 0);
  CHECK(rep.x[3] == 0);
  CHECK(m->memory().read32(rep.x[0]) == 0xEDFE0DD0u);  // FDT magic, big-endian
  CHECK(m->cpu(0).pstate() == kPstateReset);          // still EL1h with DAIF masked
}

TEST_CASE("linux boot: an Image with text_offset 0x80000 (Linux before 5.8) runs at RAM base + 0x80000") {
  auto m = machine();
  auto entry = m->load(linux_image(0x8'0000, 0x10'0000, kReportRegs));
  REQUIRE(entry);
  CHECK(run_and_report(*m, *entry).image == 0x4008'0000);
}

TEST_CASE("linux boot: the tree goes past image_size (the kernel's .bss), not past the file's few bytes") {
  // 70 MiB from 0x4020_0000 ends at 0x4480_0000, beyond RAM/2: the tree goes there.
  auto m = machine();
  auto entry = m->load(linux_image(0, 70 * MiB, kReportRegs));
  REQUIRE(entry);
  CHECK(m->fdt_address() == 0x4480'0000ull);
  CHECK(run_and_report(*m, *entry).x[0] == 0x4480'0000);
}

TEST_CASE("linux boot: --initrd bytes lie where /chosen linux,initrd-start/-end say (one cell each, as QEMU 7.2)") {
  auto m = machine();
  std::vector<std::byte> initrd(0x2'3457);
  for (size_t i = 0; i < initrd.size(); ++i) initrd[i] = std::byte((i * 7 + 3) & 0xFF);
  auto entry = m->load(linux_image(0, 0x10'0000, kReportRegs), std::span<const std::byte>(initrd));
  REQUIRE(entry);
  REQUIRE(m->fdt_address());
  std::vector<std::byte> blob(kVirtFdtSize);
  REQUIRE(m->memory().read(*m->fdt_address(), blob));
  REQUIRE(fdt_check_header(blob.data()) == 0);
  const int chosen = fdt_path_offset(blob.data(), "/chosen");
  REQUIRE(chosen >= 0);
  int start_len = 0, end_len = 0;
  const auto* start_p = static_cast<const fdt32_t*>(fdt_getprop(blob.data(), chosen, "linux,initrd-start", &start_len));
  const auto* end_p = static_cast<const fdt32_t*>(fdt_getprop(blob.data(), chosen, "linux,initrd-end", &end_len));
  REQUIRE(start_p != nullptr);
  REQUIRE(end_p != nullptr);
  CHECK(start_len == 4);
  CHECK(end_len == 4);
  const uint64_t start = fdt32_ld(start_p), end = fdt32_ld(end_p);
  // After the kernel at RAM base + min(RAM/2, 128 MiB); the tree at the next 2 MiB after it.
  CHECK(start == 0x4400'0000);
  CHECK(end - start == initrd.size());
  std::vector<std::byte> in_guest(end - start);
  REQUIRE(m->memory().read(start, in_guest));
  CHECK(in_guest == initrd);
  CHECK(*m->fdt_address() == 0x4420'0000);
  CHECK(run_and_report(*m, *entry).x[0] == 0x4420'0000);
  // No --initrd, no properties (QEMU sets them only for an initrd).
  auto plain = machine();
  REQUIRE(plain->load(linux_image(0, 0x10'0000, kReportRegs)));
  REQUIRE(plain->memory().read(*plain->fdt_address(), blob));
  CHECK(fdt_getprop(blob.data(), fdt_path_offset(blob.data(), "/chosen"), "linux,initrd-start", nullptr) == nullptr);
}

TEST_CASE("run --initrd: the kernel reads the file's bytes at 0x44000000 and prints them on the PL011") {
  // Prints the NUL-terminated initrd at 0x4400_0000 byte by byte, then PSCI SYSTEM_OFF.
  const auto kernel = write_file("print-initrd.Image", linux_image(0, 0x1'0000, {
      0xd2a8'8001,  // movz x1, #0x4400, lsl #16
      0xd2a1'2002,  // movz x2, #0x0900, lsl #16   (UARTDR)
      0x3840'1423,  // ldrb w3, [x1], #1
      0x3400'0063,  // cbz w3, +12
      0xb900'0043,  // str w3, [x2]
      0x17ff'fffd,  // b -12
      0xd280'0100,  // movz x0, #8
      0xf2b0'8000,  // movk x0, #0x8400, lsl #16  (SYSTEM_OFF)
      0xd400'0002,  // hvc #0
  }));
  const std::string text = "hello from the initrd\n";
  auto with_nul = bytes_of(text);
  with_nul.push_back(std::byte{0});
  const auto initrd = write_file("hello.cpio", with_nul);
  auto r = clitest::run_cli({"run", "--arch", "arm64", "--kernel", kernel, "--initrd", initrd, "--max-insns", "10000"});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out == text);
  std::remove(kernel.c_str());
  std::remove(initrd.c_str());
}

TEST_CASE("run: a bad Image or initrd is one clear line and status 2, never a crash") {
  const auto kernel = write_file("ok.Image", linux_image(0, 0x1'0000, {kSelfLoop}));
  auto gz = bytes_of("\x1f\x8b\x08");
  gz.resize(0x200);
  auto truncated = linux_image(0, 0x1'0000, {});
  truncated.resize(0x3c);
  auto big_endian = linux_image(0, 0x1'0000, {kSelfLoop});
  put64(big_endian, 0x18, 0xb);
  const auto gz_path = write_file("Image.gz", gz);
  const auto trunc_path = write_file("truncated.Image", truncated);
  const auto be_path = write_file("be.Image", big_endian);
  const auto huge_path = write_file("huge.Image", linux_image(0, ~0ull - 0xFFF, {kSelfLoop}));
  const auto big_initrd = write_file("big.cpio", std::vector<std::byte>(65 * MiB));
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--kernel", gz_path}, "run `gunzip` on it first"},
      {{"--kernel", trunc_path}, "cut short: the file has 60 bytes, the header 64"},
      {{"--kernel", be_path}, "big-endian"},
      {{"--kernel", huge_path}, "does not fit in the 128 MiB of RAM"},
      {{"--kernel", kernel, "--initrd", big_initrd},
       "the initrd (0x4100000 bytes) does not fit in RAM after the kernel"},
      {{"--kernel", kernel, "--initrd", "/nonexistent-initrd"},
       "--initrd /nonexistent-initrd: cannot open (no such file)"},
      {{"--kernel", kernel, "--initrd", "/"}, "--initrd /: not a regular file"},
      {{"--firmware", "uart-hello", "--initrd", kernel}, "not an ELF"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"run", "--arch", "arm64"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = clitest::run_cli(args);
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.err.starts_with("irqremap: error: "));
    CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
  }
  // On x86 an initrd is a multiboot module: an ELF64 stub, which is not multiboot, takes none.
  auto x86 = clitest::run_cli({"run", "--arch", "x86", "--firmware", "uart-hello", "--initrd", kernel});
  CHECK(x86.status == 2);
  CHECK(x86.err.find("an initrd goes to a multiboot kernel as its module; this image is not multiboot") !=
        std::string::npos);
  for (const auto& p : {kernel, gz_path, trunc_path, be_path, huge_path, big_initrd}) std::remove(p.c_str());
}

TEST_CASE("run --help documents --initrd and the Image placement") {
  auto r = clitest::run_cli({"run", "--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("--initrd") != std::string::npos);
  CHECK(r.out.find("QEMU -initrd") != std::string::npos);
  CHECK(r.out.find("text_offset") != std::string::npos);
  CHECK(r.out.find("gunzip") != std::string::npos);
}
