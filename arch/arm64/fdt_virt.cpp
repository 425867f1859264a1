#include "arch/arm64/fdt_virt.h"

#include <fmt/format.h>
#include <libfdt.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "arch/arm64/pmu.h"
#include "arch/arm64/virt_map.h"

namespace irqremap::arm64 {

namespace {

// Devicetree Specification v0.4 §2.3.5: a #address-cells = #size-cells = 2 bus gives
// each address and size as two cells (high word first).
constexpr uint32_t hi(uint64_t v) { return uint32_t(v >> 32); }
constexpr uint32_t lo(uint64_t v) { return uint32_t(v); }

// The `interrupts` cells of the Arm GIC binding (Documentation/devicetree/bindings/
// interrupt-controller/arm,gic-v3.yaml): type (0 = SPI, 1 = PPI), number, flags
// (4 = level-sensitive, active high). QEMU virt: PL011 on SPI 1; timer PPIs 13 (secure
// EL1), 14 (non-secure EL1), 11 (virtual), 10 (non-secure EL2).
constexpr uint32_t kSpi = 0, kPpi = 1, kLevelHigh = 4;
constexpr uint32_t kTimerPpis[] = {13, 14, 11, 10};

// PSCI 0.1 function IDs QEMU publishes in /psci (its PSCI 0.2+ SMC64 / SMC32 numbers,
// Arm DEN 0022D §5.1): CPU_SUSPEND (64), CPU_OFF, CPU_ON (64), MIGRATE (64).
constexpr uint32_t kPsciCpuSuspend = 0xC400'0001, kPsciCpuOff = 0x8400'0002, kPsciCpuOn = 0xC400'0003,
                   kPsciMigrate = 0xC400'0005;

constexpr uint32_t kApbClockHz = 24'000'000;  // QEMU's "clk24mhz" fixed clock

// libfdt's sequential-write calls, with the first error kept (later calls are skipped).
class Writer {
 public:
  explicit Writer(std::vector<std::byte>& buf) : buf_(buf) {
    check(fdt_create(fdt(), int(buf_.size())));
    check(fdt_finish_reservemap(fdt()));
  }
  void begin(const std::string& name) { if (ok()) check(fdt_begin_node(fdt(), name.c_str())); }
  void end() { if (ok()) check(fdt_end_node(fdt())); }
  void empty(const char* name) { if (ok()) check(fdt_property(fdt(), name, "", 0)); }
  void str(const char* name, std::string_view v) { strings(name, {v}); }
  // A string list: each string NUL-terminated, back to back (DT spec §2.2.4 <stringlist>).
  void strings(const char* name, std::initializer_list<std::string_view> vs) {
    std::string joined;
    for (std::string_view v : vs) {
      joined += v;
      joined += '\0';
    }
    if (ok()) check(fdt_property(fdt(), name, joined.data(), int(joined.size())));
  }
  void cells(const char* name, std::initializer_list<uint32_t> vs) { cells(name, std::vector<uint32_t>(vs)); }
  void cells(const char* name, const std::vector<uint32_t>& vs) {
    std::vector<fdt32_t> be;
    for (uint32_t v : vs) be.push_back(cpu_to_fdt32(v));
    if (ok()) check(fdt_property(fdt(), name, be.data(), int(be.size() * sizeof(fdt32_t))));
  }
  // A #address-cells = #size-cells = 2 `reg` of (base, size) pairs.
  void reg(std::initializer_list<std::pair<uint64_t, uint64_t>> ranges) {
    std::vector<uint32_t> v;
    for (auto [base, size] : ranges) v.insert(v.end(), {hi(base), lo(base), hi(size), lo(size)});
    cells("reg", v);
  }
  // Ends the tree, packed: header, reserve map, structure block, strings block, back to
  // back (totalsize = the bytes used). 0 or the first libfdt error.
  int finish() {
    if (ok()) check(fdt_finish(fdt()));
    return err_;
  }

 private:
  void* fdt() { return buf_.data(); }
  bool ok() const { return err_ == 0; }
  void check(int r) {
    if (r < 0 && err_ == 0) err_ = r;
  }
  std::vector<std::byte>& buf_;
  int err_ = 0;
};

std::string unit(const char* name, uint64_t addr) { return fmt::format("{}@{:x}", name, addr); }

void add_cpus(Writer& w, unsigned cpus) {
  w.begin("cpus");
  w.cells("#size-cells", {0});
  w.cells("#address-cells", {1});  // MPIDR Aff3 is 0 for every CPU here
  w.begin("cpu-map");
  w.begin("socket0");
  w.begin("cluster0");
  for (unsigned c = 0; c < cpus; ++c) {
    w.begin(fmt::format("core{}", c));
    w.cells("cpu", {phandle_cpu(cpus, c)});
    w.end();
  }
  w.end();
  w.end();
  w.end();
  for (unsigned c = 0; c < cpus; ++c) {
    w.begin(fmt::format("cpu@{}", c));  // QEMU numbers CPU nodes in decimal
    w.cells("phandle", {phandle_cpu(cpus, c)});
    w.cells("reg", {uint32_t(virt::mpidr_affinity(c))});
    w.str("enable-method", "psci");
    w.str("compatible", "arm,cortex-a57");
    w.str("device_type", "cpu");
    w.end();
  }
  w.end();
}

void add_gic(Writer& w, unsigned cpus) {
  w.begin(unit("intc", virt::kGicdBase));
  w.cells("phandle", {phandle_gic(cpus)});
  w.reg({{virt::kGicdBase, virt::kGicdSize}, {virt::kGicrBase, virt::kGicrRegionSize}});
  w.cells("#redistributor-regions", {1});
  w.str("compatible", "arm,gic-v3");
  w.empty("ranges");  // the ITS child's addresses are the parent bus's
  w.cells("#size-cells", {2});
  w.cells("#address-cells", {2});
  w.empty("interrupt-controller");
  w.cells("#interrupt-cells", {3});
  w.begin(unit("its", virt::kItsBase));
  w.cells("phandle", {phandle_its(cpus)});
  w.reg({{virt::kItsBase, virt::kItsSize}});
  w.cells("#msi-cells", {1});  // the one cell is the DeviceID
  w.empty("msi-controller");
  w.str("compatible", "arm,gic-v3-its");
  w.end();
  w.end();
}

// The generic ECAM host, as QEMU 7.2's create_pcie writes it (property order included).
// The PCI bus binding (IEEE 1275 PCI bus binding; Linux's
// Documentation/devicetree/bindings/pci/host-generic-pci.yaml) gives each child address
// three cells, phys.hi = npt000ss bbbbbbbb dddddfff rrrrrrrr with ss = 01 I/O, 10
// 32-bit memory, 11 64-bit memory, then the 64-bit PCI address.
void add_pcie(Writer& w, unsigned cpus) {
  constexpr uint32_t kIo = 0x0100'0000, kMem32 = 0x0200'0000, kMem64 = 0x0300'0000;
  const uint32_t gic = phandle_gic(cpus);
  w.begin(unit("pcie", virt::kPcieMmioBase));
  // INTx: match device number (phys.hi 15:11) and pin; slot s pin p goes to SPI
  // 3 + (s + p - 1) % 4, the swizzle QEMU's gpex applies, for the four slots the mask leaves.
  w.cells("interrupt-map-mask", {0x1800, 0, 0, 7});
  std::vector<uint32_t> map;
  for (uint32_t slot = 0; slot < 4; ++slot)
    for (uint32_t pin = 1; pin <= 4; ++pin)
      map.insert(map.end(), {slot << 11, 0, 0, pin, gic, 0, 0, kSpi, virt::kPcieIrqBase + (slot + pin - 1) % 4,
                             kLevelHigh});
  w.cells("interrupt-map", map);
  w.cells("#interrupt-cells", {1});
  w.cells("ranges", {kIo, 0, 0, hi(virt::kPciePioBase), lo(virt::kPciePioBase), hi(virt::kPciePioSize),
                     lo(virt::kPciePioSize),
                     kMem32, hi(virt::kPcieMmioBase), lo(virt::kPcieMmioBase), hi(virt::kPcieMmioBase),
                     lo(virt::kPcieMmioBase), hi(virt::kPcieMmioSize), lo(virt::kPcieMmioSize),
                     kMem64, hi(virt::kPcieMmioHighBase), lo(virt::kPcieMmioHighBase), hi(virt::kPcieMmioHighBase),
                     lo(virt::kPcieMmioHighBase), hi(virt::kPcieMmioHighSize), lo(virt::kPcieMmioHighSize)});
  w.reg({{virt::kPcieEcamBase, virt::kPcieEcamSize}});
  // Requester ID n is ITS DeviceID n, for all 65536 (the msi-map binding: rid-base,
  // msi-controller, msi-base, length).
  w.cells("msi-map", {0, phandle_its(cpus), 0, 0x1'0000});
  w.empty("dma-coherent");
  w.cells("bus-range", {0, 0xFF});
  w.cells("linux,pci-domain", {0});
  w.cells("#size-cells", {2});
  w.cells("#address-cells", {3});
  w.str("device_type", "pci");
  w.str("compatible", "pci-host-ecam-generic");
  w.end();
}

// The whole tree into `buf`: 0, or the first libfdt error (-FDT_ERR_NOSPACE when `buf` is
// too small).
int write_tree(std::vector<std::byte>& buf, const VirtFdtConfig& cfg) {
  Writer w(buf);
  const unsigned n = cfg.cpus;
  w.begin("");
  w.cells("interrupt-parent", {phandle_gic(n)});
  w.str("model", "linux,dummy-virt");
  w.cells("#size-cells", {2});
  w.cells("#address-cells", {2});
  w.str("compatible", "linux,dummy-virt");

  w.begin("psci");
  w.cells("migrate", {kPsciMigrate});
  w.cells("cpu_on", {kPsciCpuOn});
  w.cells("cpu_off", {kPsciCpuOff});
  w.cells("cpu_suspend", {kPsciCpuSuspend});
  w.str("method", "hvc");  // psci.h: PSCI over HVC #0
  w.strings("compatible", {"arm,psci-1.0", "arm,psci-0.2", "arm,psci"});
  w.end();

  w.begin(unit("memory", virt::kRamBase));
  w.reg({{virt::kRamBase, cfg.ram_size}});
  w.str("device_type", "memory");
  w.end();

  add_pcie(w, n);

  w.begin(unit("pl011", virt::kUartBase));
  w.strings("clock-names", {"uartclk", "apb_pclk"});
  w.cells("clocks", {kPhandleClock, kPhandleClock});
  w.cells("interrupts", {kSpi, virt::kUartSpi, kLevelHigh});
  w.reg({{virt::kUartBase, virt::kUartSize}});
  w.strings("compatible", {"arm,pl011", "arm,primecell"});
  w.end();

  // The PMU (pmu.h): QEMU virt's node for a CPU with PMUv3, its overflow interrupt on
  // PPI 7 (INTID 23), level-sensitive; no CPU mask with a GICv3.
  w.begin("pmu");
  w.cells("interrupts", {kPpi, pmu::kPpi - 16, kLevelHigh});
  w.str("compatible", "arm,armv8-pmuv3");
  w.end();

  add_gic(w, n);

  w.begin(unit("flash", virt::kFlashBase));
  w.cells("bank-width", {4});
  w.reg({{virt::kFlashBase, virt::kFlashBankSize}, {virt::kFlashBase + virt::kFlashBankSize, virt::kFlashBankSize}});
  w.str("compatible", "cfi-flash");
  w.end();

  add_cpus(w, n);

  w.begin("timer");
  std::vector<uint32_t> timer;
  for (uint32_t ppi : kTimerPpis) timer.insert(timer.end(), {kPpi, ppi, kLevelHigh});
  w.cells("interrupts", timer);
  w.empty("always-on");
  w.strings("compatible", {"arm,armv8-timer", "arm,armv7-timer"});
  w.end();

  w.begin("apb-pclk");
  w.cells("phandle", {kPhandleClock});
  w.str("clock-output-names", "clk24mhz");
  w.cells("clock-frequency", {kApbClockHz});
  w.cells("#clock-cells", {0});
  w.str("compatible", "fixed-clock");
  w.end();

  if (cfg.device) {
    // irqremap's own device (device/README.md): its MSIs go to the ITS with DeviceID
    // virt::kDeviceId (the msi-parent binding: <&its DeviceID>), and it reads and writes
    // guest RAM coherently.
    w.begin(unit("msg-device", virt::kDeviceBase));
    w.cells("msi-parent", {phandle_its(n), virt::kDeviceId});
    w.empty("dma-coherent");
    w.reg({{virt::kDeviceBase, virt::kDeviceSize}});
    w.str("compatible", "irqremap,msg-device");
    w.end();
  }

  w.begin("chosen");
  if (cfg.initrd) {
    // QEMU 7.2 arm_load_dtb: one cell each (qemu_fdt_setprop_cell; QEMU 8.0 went to
    // #address-cells cells), which Linux reads either way (of_fdt.c reads len / 4 cells).
    // Each setprop there puts the new property first in /chosen, hence this order.
    w.cells("linux,initrd-end", {lo(cfg.initrd->second)});
    w.cells("linux,initrd-start", {lo(cfg.initrd->first)});
  }
  if (!cfg.bootargs.empty()) w.str("bootargs", cfg.bootargs);
  w.str("stdout-path", "/" + unit("pl011", virt::kUartBase));
  w.end();

  w.end();  // root
  return w.finish();
}

std::string libfdt_error(int err) { return fmt::format("device tree: libfdt: {}", fdt_strerror(err)); }

}  // namespace

std::expected<std::vector<std::byte>, std::string> build_virt_fdt_packed(const VirtFdtConfig& cfg) {
  // The trees irqremap builds take a few KiB; only a long bootargs string needs more. In
  // sequential-write mode the buffer holds the structure and strings blocks at once, as
  // the packed tree does, so the last try, kVirtFdtSize, fails exactly when the tree
  // would not fit QEMU's 1 MiB either.
  for (size_t size = 16 * 1024;; size *= 2) {
    std::vector<std::byte> buf(std::min<size_t>(size, kVirtFdtSize));
    const int err = write_tree(buf, cfg);
    if (err == -FDT_ERR_NOSPACE && buf.size() < kVirtFdtSize) continue;
    if (err != 0) return std::unexpected(libfdt_error(err));
    buf.resize(fdt_totalsize(buf.data()));
    return buf;
  }
}

std::expected<std::vector<std::byte>, std::string> build_virt_fdt(const VirtFdtConfig& cfg) {
  auto packed = build_virt_fdt_packed(cfg);
  if (!packed) return packed;
  // Zero-filled, so the free space after the strings block is zeros, as in QEMU's blob.
  std::vector<std::byte> blob(kVirtFdtSize);
  if (auto opened = open_virt_fdt(*packed, blob.data()); !opened) return std::unexpected(opened.error());
  return blob;
}

std::expected<void, std::string> open_virt_fdt(std::span<const std::byte> packed, std::byte* window) {
  if (const int err = fdt_open_into(packed.data(), window, int(kVirtFdtSize)); err != 0)
    return std::unexpected(libfdt_error(err));
  return {};
}

}  // namespace irqremap::arm64
