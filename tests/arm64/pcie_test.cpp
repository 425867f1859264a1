// The PCIe generic ECAM host of the AArch64 machine (arch/common/pci/ecam_host.h, QEMU
// virt's gpex) and QEMU's pci-testdev on it: ECAM decoding (PCIe Base 4.0 §7.2.2), the
// all-ones read of an empty slot, BAR sizing and placement reaching the device (PCI Local
// Bus 3.0 §6.2.5), the /pcie@10000000 node against QEMU 7.2's, and bad input.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/fdt_virt.h"
#include "arch/arm64/virt_map.h"
#include "arch/common/pci/ecam_host.h"
#include "arch/common/pci/gpex_root.h"
#include "arch/common/pci/pci_testdev.h"
#include "tests/arm64/boot_rig.h"
#include "tests/tools/cli_run.h"

using namespace irqremap;
using namespace irqremap::pci;

namespace {

constexpr uint64_t ecam(unsigned bus, unsigned dev, unsigned fn, unsigned reg) {
  return uint64_t(bus) << 20 | uint64_t(dev) << 15 | uint64_t(fn) << 12 | reg;
}

// The virt layout: BAR windows at PCI memory 0x1000_0000 and PCI I/O 0.
struct Rig {
  EcamHost host{EcamHost::Layout{arm64::virt::kPcieEcamSize, arm64::virt::kPcieMmioBase, arm64::virt::kPcieMmioSize,
                                 arm64::virt::kPciePioSize}};
  GpexRoot root;
  PciTestdev testdev;
  Rig() {
    REQUIRE(host.add(0, 0, root));
    REQUIRE(host.add_next_free(testdev) == 1u);
  }
  uint64_t cfg_read(uint64_t off, unsigned size) { return host.ecam().mmio_read(off, size); }
  void cfg_write(uint64_t off, unsigned size, uint64_t v) { host.ecam().mmio_write(off, size, v); }
};

// QEMU 7.2's tree and its dtc decompilation live in the repository (tests/kvm-unit-tests).
const std::string kRefDir = std::string(IRQREMAP_SOURCE_DIR) + "/tests/kvm-unit-tests/qemu-7.2";

// `dtc -I dtb -O dts` of `dtb`, or "" without dtc.
std::string decompile(const std::string& dtb_path) {
  const std::string cmd = "dtc -q -I dtb -O dts " + dtb_path + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  std::array<char, 4096> buf{};
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// The text of one top-level node in dtc's output, from its name line to its closing "};".
std::string node_text(const std::string& dts, const std::string& name) {
  const size_t begin = dts.find("\t" + name + " {\n");
  if (begin == std::string::npos) return "";
  const size_t end = dts.find("\n\t};\n", begin);
  return end == std::string::npos ? "" : dts.substr(begin, end + 4 - begin);
}

}  // namespace

TEST_CASE("pcie: ECAM offsets decode bus 27:20, device 19:15, function 14:12, register 11:0") {
  Rig r;
  CHECK(r.cfg_read(ecam(0, 0, 0, 0), 4) == 0x0008'1B36u);  // gpex-root
  CHECK(r.cfg_read(ecam(0, 0, 0, 0x08), 4) == 0x0600'0000u);  // class 06 00 00, revision 0
  CHECK(r.cfg_read(ecam(0, 0, 0, 0x0E), 1) == 0x00u);         // type 0 header
  CHECK(r.cfg_read(ecam(0, 1, 0, 0), 4) == 0x0005'1B36u);  // pci-testdev
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x0A), 2) == 0x00FFu);     // class 00, subclass FF
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x02), 2) == 0x0005u);
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x2C), 4) == 0x1100'1AF4u);  // QEMU's default subsystem
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x3D), 1) == 0u);            // no interrupt pin
  // Writes reach the addressed function only.
  r.cfg_write(ecam(0, 1, 0, 0x3C), 1, 0x5A);
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x3C), 1) == 0x5Au);
  CHECK(r.cfg_read(ecam(0, 0, 0, 0x3C), 1) == 0x00u);
  // Read-only identity stays.
  r.cfg_write(ecam(0, 0, 0, 0), 4, 0);
  CHECK(r.cfg_read(ecam(0, 0, 0, 0), 4) == 0x0008'1B36u);
}

TEST_CASE("pcie: an empty slot, another function, another bus and extended registers read all-ones") {
  Rig r;
  for (uint64_t off : {ecam(0, 2, 0, 0), ecam(0, 31, 7, 0), ecam(0, 1, 1, 0), ecam(1, 0, 0, 0), ecam(255, 1, 0, 0)}) {
    CAPTURE(off);
    CHECK(r.cfg_read(off, 4) == 0xFFFF'FFFFu);
    CHECK(r.cfg_read(off, 2) == 0xFFFFu);
    CHECK(r.cfg_read(off, 1) == 0xFFu);
    r.cfg_write(off, 4, 0);  // dropped
    CHECK(r.cfg_read(off, 4) == 0xFFFF'FFFFu);
  }
  // A conventional function's registers past 0xFF (PCIe extended space) read all-ones.
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x100), 4) == 0xFFFF'FFFFu);
  CHECK(r.cfg_read(ecam(0, 1, 0, 0xFFC), 2) == 0xFFFFu);
  CHECK(r.host.add_next_free(r.testdev) == 2u);  // the next free slot, as QEMU places -device
}

TEST_CASE("pcie: pci-testdev's BARs size as QEMU's (4 KiB memory, 256 bytes I/O) and reach the device once placed") {
  Rig r;
  const uint64_t bar0 = ecam(0, 1, 0, 0x10), bar1 = ecam(0, 1, 0, 0x14), command = ecam(0, 1, 0, 0x04);
  r.cfg_write(bar0, 4, 0xFFFF'FFFF);
  CHECK(r.cfg_read(bar0, 4) == 0xFFFF'F000u);  // 32-bit memory, 4 KiB
  r.cfg_write(bar1, 4, 0xFFFF'FFFF);
  CHECK(r.cfg_read(bar1, 4) == 0xFFFF'FF01u);  // I/O, 256 bytes
  CHECK(r.cfg_read(ecam(0, 1, 0, 0x18), 4) == 0u);  // no BAR2
  // Placed as kvm-unit-tests places them: BAR0 at the MMIO window's start, BAR1 at I/O 0.
  r.cfg_write(bar0, 4, 0x1000'0000);
  r.cfg_write(bar1, 4, 0);
  // Decode off: nothing answers.
  r.host.mmio().mmio_write(0, 1, 0);
  CHECK(r.host.mmio().mmio_read(16, 1) == 0xFFu);
  CHECK(r.host.pio().mmio_read(16, 1) == 0xFFu);
  r.cfg_write(command, 2, command::MEMORY | command::IO);

  // BAR0: select test 0 (mmio-no-eventfd), read its header, write its offset 16 times.
  MmioDevice& mem = r.host.mmio();
  mem.mmio_write(0, 1, 0);
  CHECK(mem.mmio_read(12, 4) == 0u);       // count
  CHECK(mem.mmio_read(1, 1) == 1u);        // width
  CHECK(mem.mmio_read(8, 4) == 0xFAu);     // data
  CHECK(mem.mmio_read(4, 4) == 0x800u);    // offset
  std::string name;
  for (uint64_t i = 16; char c = char(mem.mmio_read(i, 1)); ++i) name += c;
  CHECK(name == "mmio-no-eventfd");
  for (int i = 0; i < 16; ++i) mem.mmio_write(0x800, 1, 0xFA);
  CHECK(mem.mmio_read(12, 4) == 16u);
  // The data-match test counts only its byte; the wildcard test any byte.
  mem.mmio_write(0, 1, 2);
  mem.mmio_write(0x802, 1, 0x11);
  mem.mmio_write(0x802, 1, 0xFA);
  CHECK(r.testdev.count(2) == 1u);
  mem.mmio_write(0, 1, 1);
  CHECK(mem.mmio_read(8, 1) == 0xCEu);
  mem.mmio_write(0x801, 1, 0x11);
  CHECK(r.testdev.count(1) == 1u);
  // Selecting past the last test deselects: the header reads 0.
  mem.mmio_write(0, 1, 3);
  CHECK(r.testdev.current() == -1);
  CHECK(mem.mmio_read(1, 1) == 0u);

  // BAR1 through the PIO window (PCI I/O address = window offset).
  MmioDevice& io = r.host.pio();
  io.mmio_write(0, 1, 0);
  CHECK(r.testdev.current() == 3);
  CHECK(io.mmio_read(4, 4) == 128u + 3u);
  name.clear();
  for (uint64_t i = 16; char c = char(io.mmio_read(i, 1)); ++i) name += c;
  CHECK(name == "portio-no-eventfd");
  io.mmio_write(131, 1, 0xFA);
  CHECK(io.mmio_read(12, 4) == 1u);

  // Moving BAR0 moves the device; decode off hides it again.
  r.cfg_write(bar0, 4, 0x2000'0000);
  CHECK(mem.mmio_read(0x1000'0000 + 1, 1) == 1u);
  CHECK(mem.mmio_read(1, 1) == 0xFFu);
  r.cfg_write(command, 2, 0);
  CHECK(mem.mmio_read(0x1000'0000 + 1, 1) == 0xFFu);
}

TEST_CASE("pcie: config accesses of odd sizes, unaligned or out of range never crash") {
  Rig r;
  for (unsigned size : {0u, 3u, 5u, 8u, 16u}) {
    CAPTURE(size);
    (void)r.cfg_read(ecam(0, 0, 0, 0), size);
    r.cfg_write(ecam(0, 1, 0, 0x10), size, ~uint64_t{0});
  }
  // 8 bytes are two 4-byte accesses (how Unicorn splits them too).
  CHECK(r.cfg_read(ecam(0, 1, 0, 0), 8) == 0x0000'0000'0005'1B36ull);
  // Crossing the end of the 256 bytes, or of the window.
  CHECK(r.cfg_read(ecam(0, 1, 0, 0xFE), 4) == 0xFFFF'FFFFu);
  r.cfg_write(ecam(0, 1, 0, 0xFE), 4, 0);
  CHECK(r.cfg_read(ecam(255, 31, 7, 0xFFF), 1) == 0xFFu);
  CHECK(r.host.config_read(0, 0x300, 0, 4) == 0x0008'1B36u);  // devfn wraps to 8 bits: 00:00.0
  CHECK(r.host.config_read(0x100, 0, 0, 4) == 0xFFFF'FFFFu);  // no bus 256 (nor any but 0)
  // Unaligned reads inside the header are byte-exact.
  CHECK(r.cfg_read(ecam(0, 1, 0, 1), 2) == 0x051Bu);
  // BAR windows: reads at the last byte and writes of every size are harmless.
  CHECK(r.host.mmio().mmio_read(arm64::virt::kPcieMmioSize - 1, 1) == 0xFFu);
  r.host.pio().mmio_write(arm64::virt::kPciePioSize - 4, 8, 0);
  CHECK(r.testdev.bar_read(5, 0, 4) == 0u);
}

TEST_CASE("pcie: the device tree's /pcie@10000000 is QEMU 7.2's node, as dtc prints both") {
  std::ifstream ref_dts(kRefDir + "/virt-gicv3-its-smp4.dts");
  REQUIRE(ref_dts);
  const std::string ref((std::istreambuf_iterator<char>(ref_dts)), std::istreambuf_iterator<char>());
  arm64::VirtFdtConfig tree;
  tree.cpus = 4;
  tree.ram_size = 128ull << 20;
  auto t = arm64::build_virt_fdt_packed(tree);
  REQUIRE(t);
  const std::string path = "/tmp/irqremap-pcie-test.dtb";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(t->data()), std::streamsize(t->size()));
  }
  const std::string ours = decompile(path);
  std::remove(path.c_str());
  if (ours.empty()) {
    MESSAGE("dtc not found: comparison of the decompiled node skipped");
    return;
  }
  const std::string want = node_text(ref, "pcie@10000000");
  REQUIRE(!want.empty());
  CHECK(node_text(ours, "pcie@10000000") == want);
  // It comes before the PL011 in dtc's order, as QEMU's does.
  CHECK(ours.find("pcie@10000000") < ours.find("pl011@9000000"));
}

TEST_CASE("pcie: a guest reaches the ECAM at 0x40_1000_0000 and pci-testdev's BAR0 it placed") {
  static constexpr uint32_t kCode[] = {
      0xD2C00801,  // mov x1, #0x4000000000
      0xF2A20001,  // movk x1, #0x1000, lsl #16       x1 = ECAM
      0xB9400022,  // ldr w2, [x1]                    00:00.0 vendor/device
      0x91402024,  // add x4, x1, #8, lsl #12         00:01.0
      0xB9400083,  // ldr w3, [x4]
      0x9140402C,  // add x12, x1, #16, lsl #12       00:02.0 (empty)
      0xB9400185,  // ldr w5, [x12]
      0x39400986,  // ldrb w6, [x12, #2]
      0xB9401027,  // ldr w7, [x1, #16]               the host bridge has no BAR0
      0x52A20009,  // mov w9, #0x10000000
      0xB9001089,  // str w9, [x4, #16]               BAR0 = 0x1000_0000
      0x5280004A,  // mov w10, #2
      0x7900088A,  // strh w10, [x4, #4]              Command.Memory
      0x3900013F,  // strb wzr, [x9]                  select mmio-no-eventfd
      0x39404128,  // ldrb w8, [x9, #16]              its name's first byte
      0x52801F4B,  // mov w11, #0xFA
      0x3920012B,  // strb w11, [x9, #2048]           two counted writes
      0x3920012B,  // strb w11, [x9, #2048]
      0x3920012A,  // strb w10, [x9, #2048]           a third, not counted: 2 is not the data (FAh)
      0x52800100,  // mov w0, #8
      0x72B08000,  // movk w0, #0x8400, lsl #16       PSCI SYSTEM_OFF
      0xD4000002,  // hvc #0
  };
  arm64::Arm64MachineConfig cfg;
  cfg.pci_devices = {"pci-testdev"};
  cfg.uart_out = [](char) {};
  auto m = arm64::Arm64Machine::create(cfg);
  REQUIRE(m);
  auto entry = (*m)->load(arm64test::image_of(kCode));
  REQUIRE(entry);
  const auto r = (*m)->run(*entry, 10'000);
  INFO(r.message);
  CHECK(r.exit_status == 0);
  arm64::Arm64Vcpu& cpu = (*m)->cpu(0);
  CHECK(cpu.reg(UC_ARM64_REG_X2) == 0x0008'1B36u);
  CHECK(cpu.reg(UC_ARM64_REG_X3) == 0x0005'1B36u);
  CHECK(cpu.reg(UC_ARM64_REG_X5) == 0xFFFF'FFFFu);
  CHECK(cpu.reg(UC_ARM64_REG_X6) == 0xFFu);
  CHECK(cpu.reg(UC_ARM64_REG_X7) == 0u);
  CHECK(cpu.reg(UC_ARM64_REG_X8) == uint64_t('m'));
  auto* dev = dynamic_cast<PciTestdev*>((*m)->pcie().function(devfn(1, 0)));
  REQUIRE(dev != nullptr);
  CHECK(dev->count(0) == 2u);
}

TEST_CASE("pcie: without --device only the host bridge is on bus 0") {
  arm64::Arm64MachineConfig cfg;
  auto m = arm64::Arm64Machine::create(cfg);
  REQUIRE(m);
  CHECK((*m)->pcie().function(devfn(0, 0)) != nullptr);
  for (unsigned d = 1; d < 256; ++d) CHECK((*m)->pcie().function(d) == nullptr);
  cfg.pci_devices = {"no-such-device"};
  auto bad = arm64::Arm64Machine::create(cfg);
  REQUIRE(!bad);
  CHECK(bad.error().find("no-such-device") != std::string::npos);
}

TEST_CASE("pcie: `run --device unknown` is a usage error (status 2) naming the device") {
  const auto r = clitest::run_cli({"run", "--arch", "arm64", "--firmware", "arm64/uart-hello", "--device", "unknown"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--device unknown") != std::string::npos);
  CHECK(r.err.find("pci-testdev") != std::string::npos);
  const auto x86 = clitest::run_cli({"run", "--arch", "x86", "--firmware", "x86/uart-hello", "--device", "pci-testdev"});
  CHECK(x86.status == 2);
  CHECK(x86.err.find("--device") != std::string::npos);
  // Two devices go to slots 1 and 2.
  const auto two = clitest::run_cli(
      {"run", "--arch", "arm64", "--firmware", "arm64/uart-hello", "--device", "pci-testdev", "--device", "pci-testdev"});
  CHECK(two.status == 0);
}
