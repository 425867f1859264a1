// The AArch64 machine boots images as QEMU virt's -kernel does (arch/arm64/virt_boot.h):
// registers and the tree at entry, an lld-default ELF whose headers live in flash, flash
// as ROM, and the `run` options --mem and --append.
#include <doctest/doctest.h>
#include <libfdt.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/fdt_virt.h"
#include "tools/cli.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

struct Cli {
  int status;
  std::string out, err;
};

Cli run_cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int st = cli::run(args, out, err);
  return {st, out.str(), err.str()};
}

std::vector<std::byte> words(std::initializer_list<uint32_t> ws) {
  std::vector<std::byte> out;
  for (uint32_t w : ws)
    for (int i = 0; i < 4; ++i) out.push_back(std::byte((w >> (8 * i)) & 0xFF));
  return out;
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = std::byte(uint8_t(raw[i]));
  return out;
}

constexpr uint32_t kSelfLoop = 0x1400'0000;  // b .

}  // namespace

TEST_CASE("boot: a raw image enters at 0x40080000 with x0 = the tree (0x44000000 for 128 MiB), x1..x3 = 0") {
  for (auto [ram, at] : {std::pair{128ull << 20, 0x4400'0000ull}, {256ull << 20, 0x4800'0000ull}}) {
    Arm64MachineConfig cfg;
    cfg.ram_size = ram;
    cfg.bootargs = "setup smp=1";
    auto m = Arm64Machine::create(cfg);
    REQUIRE(m);
    Arm64Machine& mach = **m;
    auto entry = mach.load(words({kSelfLoop}));
    REQUIRE(entry);
    CHECK(*entry == 0x4008'0000);
    mach.run(*entry, 10);  // stops at the budget, still at the entry
    Arm64Vcpu& cpu = mach.cpu(0);
    CHECK(cpu.pc() == 0x4008'0000);
    CHECK(cpu.reg(UC_ARM64_REG_X0) == at);
    CHECK(cpu.reg(UC_ARM64_REG_X1) == 0);
    CHECK(cpu.reg(UC_ARM64_REG_X2) == 0);
    CHECK(cpu.reg(UC_ARM64_REG_X3) == 0);
    CHECK(cpu.pstate() == kPstateReset);  // EL1h, DAIF masked
    // The tree at x0 is the machine's, with --append's bootargs.
    std::vector<std::byte> blob(kVirtFdtSize);
    REQUIRE(mach.memory().read(at, blob));
    REQUIRE(fdt_check_header(blob.data()) == 0);
    const int chosen = fdt_path_offset(blob.data(), "/chosen");
    REQUIRE(chosen >= 0);
    CHECK(std::string(static_cast<const char*>(fdt_getprop(blob.data(), chosen, "bootargs", nullptr))) ==
          "setup smp=1");
    // Byte for byte the blob build_virt_fdt gives (the machine writes the packed tree
    // and clears the rest of the 1 MiB without building it).
    auto want = build_virt_fdt(VirtFdtConfig{1, cfg.ram_size, "setup smp=1", cfg.device});
    REQUIRE(want);
    CHECK(blob == *want);
  }
}

TEST_CASE("boot: the default RAM is QEMU's 128 MiB") {
  auto m = Arm64Machine::create(Arm64MachineConfig{});
  REQUIRE(m);
  CHECK((*m)->memory().contains(0x4000'0000 + (128ull << 20) - 8, 8));
  CHECK(!(*m)->memory().contains(0x4000'0000 + (128ull << 20), 1));
}

TEST_CASE("boot: an ld.lld-default ELF (headers in flash at 0x200000) loads and runs; its store to flash changes nothing") {
  const auto elf = read_file(IRQREMAP_LLD_DEFAULT_ELF);
  REQUIRE(!elf.empty());
  std::string uart;
  Arm64MachineConfig cfg;
  cfg.uart_out = [&uart](char c) { uart += c; };
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  Arm64Machine& mach = **m;
  auto entry = mach.load(elf);
  REQUIRE(entry);
  // QEMU 7.2 prints the same three lines for this ELF (x0 = 0 for an ELF; the ELF magic
  // read from flash, before and after the store).
  const auto r = mach.run(*entry, 100'000);
  CHECK(r.stop == arch::StopKind::SystemOff);
  CHECK(uart ==
        "0000000000000000\n"
        "00000000464c457f\n"
        "00000000464c457f\n");
  CHECK(mach.memory().read32(0x20'0000) == 0x464c457fu);
  // The tree went to address 0 in flash, as QEMU puts it for an ELF spanning RAM base.
  CHECK(mach.fdt_address() == 0ull);
  CHECK(mach.memory().read32(0) == 0xEDFE0DD0u);  // FDT magic 0xd00dfeed, big-endian
}

TEST_CASE("flash: a device or loader write through GuestMemory to flash is refused as read-only; RAM is not") {
  auto m = Arm64Machine::create(Arm64MachineConfig{});
  REQUIRE(m);
  GuestMemory& mem = (*m)->memory();
  auto w = mem.write32(0x400'0000, 0x1234'5678);  // flash bank 1
  REQUIRE(!w);
  CHECK(w.error().read_only);
  CHECK(w.error().describe() == "write of 4 bytes at 0x4000000 is to read-only memory");
  CHECK(mem.read32(0x400'0000) == 0u);
  CHECK(mem.write32(0x4000'0000, 1));
}

TEST_CASE("flash: a guest store to flash is dropped and the guest runs on; a load right after reads the ROM bytes") {
  Arm64MachineConfig cfg;
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  Arm64Machine& mach = **m;
  std::byte* flash = mach.memory().host_ptr(0x1000, 4);
  REQUIRE(flash != nullptr);
  // What a loader put there (the host pointer reaches ROM; guests do not).
  flash[0] = std::byte{0xAA};
  auto entry = mach.load(words({
      0xd2820001,  // movz x1, #0x1000
      0x52802462,  // movz w2, #0x123
      0xb9000022,  // str w2, [x1]
      0xb9400023,  // ldr w3, [x1]
      0xb9000022,  // str w2, [x1]     (a second store to the same page)
      0xb9400024,  // ldr w4, [x1]
      kSelfLoop,
  }));
  REQUIRE(entry);
  const auto r = mach.run(*entry, 50);
  CHECK(r.stop == arch::StopKind::Budget);  // no fault: the stores were dropped
  CHECK(mach.cpu(0).reg(UC_ARM64_REG_X3) == 0xAA);
  CHECK(mach.cpu(0).reg(UC_ARM64_REG_X4) == 0xAA);
  CHECK(mach.memory().read32(0x1000) == 0xAAu);
}

TEST_CASE("run: --mem and --append reach the arm64 machine; bad values are one clear line and status 2") {
  const std::string img = "/tmp/irqremap-boot-test-loop.bin";
  {
    std::ofstream f(img, std::ios::binary);
    const auto w = words({kSelfLoop});
    f.write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size()));
  }
  auto ok = run_cli({"run", "--arch", "arm64", "--smp", "2", "--mem", "256", "--append", "setup smp=2 mem=256",
                     "--kernel", img, "--max-insns", "100"});
  CHECK(ok.status == 1);  // the budget, not a usage error
  CHECK(ok.err.find("instruction budget") != std::string::npos);
  for (const char* bad : {"0", "abc", "-5", "12M"}) {
    INFO(bad);
    auto r = run_cli({"run", "--arch", "arm64", "--mem", bad, "--kernel", img});
    CHECK(r.status == 2);
    CHECK(r.err == std::string("irqremap: error: --mem ") + bad +
                       ": give the RAM size as a whole number of MiB, at least 1\n");
  }
  auto big = run_cli({"run", "--arch", "arm64", "--mem", "261121", "--kernel", img});
  CHECK(big.status == 2);
  CHECK(big.err.find("more than the virt memory map holds") != std::string::npos);
  // The x86 machine takes --mem too, within its own map (RAM below the MMIO window).
  auto x86mem = run_cli({"run", "--arch", "x86", "--mem", "4096", "--kernel", img});
  CHECK(x86mem.status == 2);
  CHECK(x86mem.err == "irqremap: error: --mem 4096: the x86 machine has 2 to 3072 MiB of RAM (below its MMIO window)\n");
  std::remove(img.c_str());
}

TEST_CASE("run --help documents --mem (QEMU's 128 MiB default) and --append") {
  auto r = run_cli({"run", "--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("--mem") != std::string::npos);
  CHECK(r.out.find("default 128") != std::string::npos);
  CHECK(r.out.find("--append") != std::string::npos);
  CHECK(r.out.find("x0 = the device") != std::string::npos);
}
