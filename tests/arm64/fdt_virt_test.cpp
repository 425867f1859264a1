// The AArch64 machine's device tree (arch/arm64/fdt_virt.h): it parses with libfdt and
// holds what QEMU 7.2's virt tree holds for the devices irqremap has, compared property
// by property with QEMU's own tree (tests/kvm-unit-tests/qemu-7.2, `-smp 4`).
#include <doctest/doctest.h>
#include <libfdt.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "arch/arm64/fdt_virt.h"
#include "arch/arm64/virt_map.h"

using namespace irqremap::arm64;

namespace {

// QEMU 7.2's own tree for -M virt,gic-version=3,its=on -cpu cortex-a57 -smp 4 (dumpdtb=),
// kept in the repository with its decompiled .dts.
const std::string kRefDir = std::string(IRQREMAP_SOURCE_DIR) + "/tests/kvm-unit-tests/qemu-7.2";

std::vector<std::byte> tree(unsigned cpus, uint64_t ram, std::string bootargs = "", bool device = true) {
  auto t = build_virt_fdt(VirtFdtConfig{cpus, ram, std::move(bootargs), device});
  REQUIRE(t);
  REQUIRE(fdt_check_header(t->data()) == 0);
  return *t;
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) out[i] = std::byte(uint8_t(raw[i]));
  return out;
}

// A property's bytes, or nullopt when the node or property is missing.
std::optional<std::string> prop(const std::vector<std::byte>& t, const char* path, const char* name) {
  const int node = fdt_path_offset(t.data(), path);
  if (node < 0) return std::nullopt;
  int len = 0;
  const void* p = fdt_getprop(t.data(), node, name, &len);
  if (p == nullptr) return std::nullopt;
  return std::string(static_cast<const char*>(p), size_t(len));
}

std::vector<uint32_t> cells(const std::vector<std::byte>& t, const char* path, const char* name) {
  auto p = prop(t, path, name);
  REQUIRE(p);
  std::vector<uint32_t> out;
  for (size_t i = 0; i + 4 <= p->size(); i += 4) out.push_back(fdt32_ld(reinterpret_cast<const fdt32_t*>(p->data() + i)));
  return out;
}

}  // namespace

TEST_CASE("fdt: every property of the devices irqremap has equals QEMU 7.2's virt tree (gic-version=3, its=on, smp 4)") {
  const auto ref = read_file(kRefDir + "/virt-gicv3-its-smp4.dtb");
  REQUIRE(!ref.empty());
  REQUIRE(fdt_check_header(ref.data()) == 0);
  const auto ours = tree(4, 128ull << 20, "its-trigger");
  CHECK(fdt_totalsize(ours.data()) == fdt_totalsize(ref.data()));  // where it fits depends on it
  const std::vector<std::pair<const char*, std::vector<const char*>>> same = {
      {"/", {"interrupt-parent", "model", "#size-cells", "#address-cells", "compatible"}},
      {"/psci", {"migrate", "cpu_on", "cpu_off", "cpu_suspend", "method", "compatible"}},
      {"/memory@40000000", {"reg", "device_type"}},
      {"/pl011@9000000", {"clock-names", "clocks", "interrupts", "reg", "compatible"}},
      {"/intc@8000000",
       {"phandle", "reg", "#redistributor-regions", "compatible", "ranges", "#size-cells", "#address-cells",
        "interrupt-controller", "#interrupt-cells"}},
      {"/intc@8000000/its@8080000", {"phandle", "reg", "#msi-cells", "msi-controller", "compatible"}},
      {"/flash@0", {"bank-width", "reg", "compatible"}},
      {"/pmu", {"interrupts", "compatible"}},
      {"/pcie@10000000",
       {"interrupt-map-mask", "interrupt-map", "#interrupt-cells", "ranges", "reg", "msi-map", "dma-coherent",
        "bus-range", "linux,pci-domain", "#size-cells", "#address-cells", "device_type", "compatible"}},
      {"/cpus", {"#size-cells", "#address-cells"}},
      {"/cpus/cpu@0", {"phandle", "reg", "enable-method", "compatible", "device_type"}},
      {"/cpus/cpu@1", {"phandle", "reg", "enable-method", "compatible", "device_type"}},
      {"/cpus/cpu@2", {"phandle", "reg", "enable-method", "compatible", "device_type"}},
      {"/cpus/cpu@3", {"phandle", "reg", "enable-method", "compatible", "device_type"}},
      {"/cpus/cpu-map/socket0/cluster0/core0", {"cpu"}},
      {"/cpus/cpu-map/socket0/cluster0/core3", {"cpu"}},
      {"/timer", {"interrupts", "always-on", "compatible"}},
      {"/apb-pclk", {"phandle", "clock-output-names", "clock-frequency", "#clock-cells", "compatible"}},
      {"/chosen", {"bootargs", "stdout-path"}},
  };
  for (const auto& [path, names] : same)
    for (const char* name : names) {
      INFO(path << " " << name);
      const auto theirs = prop(ref, path, name);
      REQUIRE(theirs);
      CHECK(prop(ours, path, name) == theirs);
    }
}

TEST_CASE("fdt: every node of the tree is one QEMU's tree has, except irqremap's own device") {
  const auto ref = read_file(kRefDir + "/virt-gicv3-its-smp4.dtb");
  REQUIRE(!ref.empty());
  const auto ours = tree(4, 128ull << 20);
  int nodes = 0;
  for (int n = fdt_next_node(ours.data(), 0, nullptr); n >= 0; n = fdt_next_node(ours.data(), n, nullptr)) {
    char path[256];
    REQUIRE(fdt_get_path(ours.data(), n, path, sizeof path) == 0);
    ++nodes;
    INFO(path);
    if (std::string(path) == "/msg-device@b000000") continue;
    CHECK(fdt_path_offset(ref.data(), path) >= 0);
  }
  // psci, memory, pcie, pl011, pmu, intc, its, flash, cpus, cpu-map, socket0, cluster0,
  // 4 cores, 4 cpu@N, timer, apb-pclk, msg-device, chosen
  CHECK(nodes == 24);
}

TEST_CASE("fdt: 1, 2 and 4 CPUs: one cpu@N per CPU with reg = MPIDR affinity, and the phandles QEMU gives") {
  for (unsigned n : {1u, 2u, 4u}) {
    INFO(n << " CPUs");
    const auto t = tree(n, 128ull << 20);
    for (unsigned c = 0; c < n; ++c) {
      const std::string cpu = "/cpus/cpu@" + std::to_string(c);
      CHECK(cells(t, cpu.c_str(), "reg") == std::vector<uint32_t>{uint32_t(virt::mpidr_affinity(c))});
      CHECK(cells(t, cpu.c_str(), "phandle") == std::vector<uint32_t>{0x8000 + n - c});
      CHECK(prop(t, cpu.c_str(), "enable-method") == std::string("psci\0", 5));
      const std::string core = "/cpus/cpu-map/socket0/cluster0/core" + std::to_string(c);
      CHECK(cells(t, core.c_str(), "cpu") == std::vector<uint32_t>{0x8000 + n - c});
    }
    CHECK(fdt_path_offset(t.data(), ("/cpus/cpu@" + std::to_string(n)).c_str()) == -FDT_ERR_NOTFOUND);
    CHECK(cells(t, "/", "interrupt-parent") == std::vector<uint32_t>{0x8000 + n + 1});
    CHECK(cells(t, "/intc@8000000", "phandle") == std::vector<uint32_t>{0x8000 + n + 1});
    CHECK(cells(t, "/intc@8000000/its@8080000", "phandle") == std::vector<uint32_t>{0x8000 + n + 2});
  }
}

TEST_CASE("fdt: /memory@40000000 holds the configured RAM (128 MiB, 256 MiB, 4 GiB)") {
  for (uint64_t ram : {128ull << 20, 256ull << 20, 4ull << 30}) {
    const auto t = tree(2, ram);
    CHECK(cells(t, "/memory@40000000", "reg") ==
          std::vector<uint32_t>{0, 0x4000'0000, uint32_t(ram >> 32), uint32_t(ram)});
  }
}

TEST_CASE("fdt: /chosen has bootargs only when --append gave some, and stdout-path names the PL011") {
  CHECK(!prop(tree(1, 128ull << 20), "/chosen", "bootargs"));
  CHECK(prop(tree(1, 128ull << 20, "setup smp=2 mem=256"), "/chosen", "bootargs") ==
        std::string("setup smp=2 mem=256\0", 20));
  const auto t = tree(1, 128ull << 20);
  const auto out = prop(t, "/chosen", "stdout-path");
  REQUIRE(out);
  CHECK(fdt_path_offset(t.data(), out->c_str()) == fdt_path_offset(t.data(), "/pl011@9000000"));
}

TEST_CASE("fdt: the free space after the strings block is zeros, as in QEMU's 1 MiB blob") {
  const auto ref = read_file(kRefDir + "/virt-gicv3-its-smp4.dtb");
  REQUIRE(ref.size() == kVirtFdtSize);
  for (const auto& t : {ref, tree(4, 128ull << 20, "selftest")}) {
    REQUIRE(fdt_totalsize(t.data()) == kVirtFdtSize);
    const size_t used = std::max(fdt_off_dt_strings(t.data()) + fdt_size_dt_strings(t.data()),
                                 fdt_off_dt_struct(t.data()) + fdt_size_dt_struct(t.data()));
    CHECK(used < 0x4000);
    CHECK(std::all_of(t.begin() + ptrdiff_t(used), t.end(), [](std::byte b) { return b == std::byte{0}; }));
  }
}

TEST_CASE("fdt: the packed tree is the blob's used bytes; bootargs that outgrow the first buffer still fit, "
          "bootargs past 1 MiB are refused") {
  const VirtFdtConfig cfg{2, 128ull << 20, "console=ttyAMA0", true};
  const auto packed = build_virt_fdt_packed(cfg);
  const auto blob = build_virt_fdt(cfg);
  REQUIRE(packed);
  REQUIRE(blob);
  CHECK(fdt_totalsize(packed->data()) == packed->size());
  CHECK(std::equal(packed->begin() + 8, packed->end(), blob->begin() + 8));  // all but totalsize (offset 4..7)
  CHECK(std::equal(packed->begin(), packed->begin() + 4, blob->begin()));

  // 100 KiB of bootargs: more than the first 16 KiB sequential-write buffer holds.
  const std::string long_args(100 * 1024, 'x');
  const auto big = tree(1, 128ull << 20, long_args);
  CHECK(prop(big, "/chosen", "bootargs") == long_args + '\0');

  const auto refused = build_virt_fdt(VirtFdtConfig{1, 128ull << 20, std::string(kVirtFdtSize, 'x'), true});
  REQUIRE(!refused);
  CHECK(refused.error() == "device tree: libfdt: FDT_ERR_NOSPACE");
}

TEST_CASE("fdt: irqremap's device sends MSIs to the ITS with its DeviceID (msi-parent), and is absent when not attached") {
  const auto t = tree(4, 128ull << 20);
  CHECK(prop(t, "/msg-device@b000000", "compatible") == std::string("irqremap,msg-device\0", 20));
  CHECK(cells(t, "/msg-device@b000000", "msi-parent") == std::vector<uint32_t>{phandle_its(4), virt::kDeviceId});
  CHECK(cells(t, "/msg-device@b000000", "reg") == std::vector<uint32_t>{0, 0x0B00'0000, 0, 0x1'0000});
  CHECK(fdt_path_offset(tree(4, 128ull << 20, "", false).data(), "/msg-device@b000000") == -FDT_ERR_NOTFOUND);
}

TEST_CASE("fdt: dtc decompiles the tree and finds the GICv3, its ITS and the PL011 (skipped without dtc)") {
  if (std::system("command -v dtc >/dev/null 2>&1") != 0) {
    MESSAGE("dtc not found: skipped");
    return;
  }
  const auto t = tree(2, 256ull << 20, "selftest");
  const std::string path = "/tmp/irqremap-fdt-virt-test.dtb";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(t.data()), std::streamsize(t.size()));
  }
  std::string dts;
  if (FILE* p = popen(("dtc -q -I dtb -O dts " + path).c_str(), "r")) {
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) dts.append(buf, n);
    CHECK(pclose(p) == 0);
  }
  std::remove(path.c_str());
  CHECK(dts.find("compatible = \"arm,gic-v3\";") != std::string::npos);
  CHECK(dts.find("compatible = \"arm,gic-v3-its\";") != std::string::npos);
  CHECK(dts.find("compatible = \"arm,pl011\\0arm,primecell\";") != std::string::npos);
  CHECK(dts.find("bootargs = \"selftest\";") != std::string::npos);
  CHECK(dts.find("reg = <0x00 0x40000000 0x00 0x10000000>;") != std::string::npos);
}
