// Debian 12's own arm64 Linux on the AArch64 machine (issue 31), booted as
// `qemu-system-aarch64 -M virt,gic-version=3,its=on -cpu cortex-a57 -smp 4 -m 512 -kernel
// Image -initrd initrd.gz -device virtio-rng-pci` boots it: the kernel and the busybox
// initramfs come from Debian's archive through tools/linux-test-data.sh (cached under the
// build folder). /init (tests/linux/init) plays the seed's scenario with Linux as the OS:
// read the virtio-rng's MSI-X interrupt, move it with smp_affinity, offline that CPU.
// Skipped, with the reason, when the archive cannot be reached, and in sanitizer builds
// (a boot is about a billion guest instructions: minutes under ASan).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Ran {
  int status = -1;
  std::string out;
};

Ran sh(const std::string& cmd) {
  Ran r;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  }
  return r;
}

bool has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// The per-CPU counts of the /proc/interrupts line naming `name`, in the block /init
// printed after `heading` ("irqremap-init: /proc/interrupts after smp_affinity:").
std::vector<uint64_t> per_cpu(const std::string& out, const std::string& heading, const std::string& name) {
  const size_t block = out.find(heading);
  if (block == std::string::npos) return {};
  const size_t at = out.find(name, block);
  if (at == std::string::npos) return {};
  const size_t bol = out.rfind('\n', at) + 1;
  std::istringstream line(out.substr(bol, at - bol));
  std::string irq;
  line >> irq;  // "16:"
  std::vector<uint64_t> counts;
  for (std::string word; line >> word && std::isdigit(static_cast<unsigned char>(word[0]));)
    counts.push_back(std::stoull(word));
  return counts;
}

// Where `what` first occurs at or after `from` (npos: nowhere).
size_t at(const std::string& s, const std::string& what, size_t from = 0) { return s.find(what, from); }

// The folder with Debian's kernel and the test initramfs (tools/linux-test-data.sh fetches
// them on first use), or nullopt after a SKIPPED line: a sanitizer build (a boot is ~1e9
// guest instructions; the normal build runs it) or Debian's archive out of reach.
std::optional<std::string> linux_data() {
#ifdef IRQREMAP_SANITIZED
  MESSAGE("SKIPPED linux boot: sanitizer build (a boot is ~1e9 guest instructions; the normal build runs it)");
  return std::nullopt;
#endif
  const std::string dir = std::string(IRQREMAP_BUILD_DIR) + "/linux-data";
  const Ran data = sh("bash " IRQREMAP_SOURCE_DIR "/tools/linux-test-data.sh " + dir + " 2>&1");
  if (data.status == 77) {
    MESSAGE((std::string("SKIPPED linux boot: ") + data.out));
    return std::nullopt;
  }
  INFO(data.out);
  REQUIRE(data.status == 0);
  return dir;
}

}  // namespace

TEST_CASE("linux: Debian's arm64 kernel drives virtio-rng-pci's MSI-X through the ITS; smp_affinity and CPU offline move it with MOVI + SYNC; the same twice") {
  const std::optional<std::string> found = linux_data();
  if (!found) return;
  const std::string& dir = *found;
  // The ITS's own trace (commands, translations) interleaved with the console: bounded, a
  // few hundred lines, where an instruction trace would be 10^9.
  const std::string cmd = "timeout 900 " IRQREMAP_BINARY " run --arch arm64 --smp 4 --mem 512 --kernel " + dir +
                          "/Image --initrd " + dir +
                          "/initrd.gz --append 'console=ttyAMA0 rdinit=/init' --device virtio-rng-pci"
                          " --trace --trace-units its --trace-out " + dir + "/scenario-timeline.json </dev/null 2>&1";
  const Ran boot = sh(cmd);
  INFO(boot.out);
  CHECK(boot.status == 0);  // PSCI SYSTEM_OFF from busybox's poweroff -f
  // The lines QEMU 7.2 prints for the same boot (tests/linux/README.md compares them all).
  for (const char* line :
       {"psci: PSCIv1.1 detected in firmware.", "GICv3: 224 SPIs implemented",
        "CPU features: detected: GIC system register CPU interface", "ITS@0x0000000008080000: allocated 8192 Devices",
        "arch_timer: cp15 timer(s) running at 62.50MHz (virt).",
        "GICv3: CPU3: found redistributor 3 region 0:0x0000000008100000", "smp: Brought up 1 node, 4 CPUs",
        "pci 0000:00:01.0: [1af4:1005] type 00 class 0x00ff00",
        "pci 0000:00:01.0: BAR 4 [mem 0x8000000000-0x8000003fff 64bit pref]: assigned",
        "pci 0000:00:01.0: BAR 1 [mem 0x10000000-0x10000fff]: assigned",
        "pci 0000:00:01.0: BAR 0 [io  0x1000-0x101f]: assigned",
        "virtio-pci 0000:00:01.0: enabling device (0000 -> 0003)", "irqremap-init: start",
        "irqremap-init: kernel 6.1.0-", "CPUs online 0-3", "irqremap-init: insmod virtio_rng: ok",
        "irqremap-init: virtio devices: virtio0(device 0x0004, driver virtio_rng)",
        "irqremap-init: hwrng current: virtio_rng.0", "ITS-MSI 16384 Edge      virtio0-config",
        "ITS-MSI 16385 Edge      virtio0-input", "irqremap-init: smp_affinity 8 (CPU 3): ok",
        "after smp_affinity: smp_affinity 8, effective 3", "irqremap-init: cpu3 offline: ok, CPUs online 0-2",
        "irqremap-init: done", "reboot: Power down"})
    CHECK_MESSAGE(has(boot.out, line), line);
  // The clock is one Linux believes (README "Virtual time"): no stall or lateness warnings,
  // and the image is where the arm64 boot protocol wants it.
  for (const char* bad : {"rcu_sched self-detected stall", "rcu: INFO", "hrtimer: interrupt took",
                          "Kernel image misaligned", "Internal error", "Kernel panic", "WARNING:", ": failed",
                          "DEVICE_NEEDS_RESET"})
    CHECK_MESSAGE(!has(boot.out, bad), bad);
  // Each read returned 16 bytes: the request's interrupt arrived wherever Linux had put it.
  for (int n = 1; n <= 3; ++n) {
    const std::string prefix = "irqremap-init: hwrng read " + std::to_string(n) + ": ";
    const size_t r = at(boot.out, prefix);
    REQUIRE_MESSAGE(r != std::string::npos, n);
    std::istringstream bytes(boot.out.substr(r + prefix.size(), boot.out.find('\n', r) - r - prefix.size()));
    unsigned count = 0;
    for (std::string b; bytes >> b; ++count) CHECK_MESSAGE((b.size() == 2 && std::isxdigit(b[0]) && std::isxdigit(b[1])), b);
    CHECK_MESSAGE(count == 16, n);
  }
  // Linux's probe through the ITS (GICv3 §5.3 commands): the device's DeviceID is its
  // requester ID 00:01.0 = 8 (the msi-map), events 0 (config) and 1 (requestq).
  const size_t probe = at(boot.out, "[its] command: MAPD DeviceID=0x8 ");
  CHECK(probe != std::string::npos);
  CHECK(at(boot.out, "[its] command: MAPTI DeviceID=0x8 EventID=0x1 ", probe) != std::string::npos);
  // smp_affinity to CPU 3: one MOVI to collection 3 and a SYNC, before /init says it is done.
  const size_t before = at(boot.out, "irqremap-init: irq ");
  const size_t moved = at(boot.out, "irqremap-init: smp_affinity 8 (CPU 3): ok");
  const size_t movi1 = at(boot.out, "[its] command: MOVI DeviceID=0x8 EventID=0x1 ICID=0x3", before);
  CHECK(movi1 < moved);
  CHECK(at(boot.out, "[its] command: SYNC", movi1) < moved);
  // CPU 3 offline: Linux moves the interrupt off it first (a MOVI to another collection).
  const size_t offline = at(boot.out, "irqremap-init: cpu3 offline: ok");
  const size_t movi2 = at(boot.out, "[its] command: MOVI DeviceID=0x8 EventID=0x1 ICID=0x", moved);
  CHECK(movi2 < offline);
  CHECK_FALSE(has(boot.out.substr(movi2, 60), "ICID=0x3"));
  // The interrupts arrived on the CPUs Linux chose: CPU 3 took the second read's, and
  // after the offline the third read's went to the CPU /init reports as effective.
  const auto moved_counts = per_cpu(boot.out, "/proc/interrupts after smp_affinity:", "virtio0-input");
  const auto offline_counts = per_cpu(boot.out, "/proc/interrupts after offline:", "virtio0-input");
  REQUIRE(moved_counts.size() == 4);
  REQUIRE(offline_counts.size() == 3);
  CHECK(moved_counts[3] > 0);
  uint64_t before_sum = 0, after_sum = 0;
  for (unsigned c = 0; c < 3; ++c) before_sum += moved_counts[c], after_sum += offline_counts[c];
  CHECK(after_sum > before_sum);
  // The MSI-X table is the device's message store: each entry written once (its address
  // and data, three DWORDs) and never while live, however often the interrupt moved.
  CHECK(has(boot.out, "vector 0: address 0x8090040 data 0x0 DeviceID 0x8: 3 message writes, 0 while live"));
  CHECK(has(boot.out, "vector 1: address 0x8090040 data 0x1 DeviceID 0x8: 3 message writes, 0 while live"));
  // The Perfetto timeline of the same run stays bounded (the run's items all fit, no
  // truncation note) and names each ITS command, so the two moves are MOVI marks.
  {
    std::ifstream f(dir + "/scenario-timeline.json");
    REQUIRE(f);
    const std::string json((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(json.size() < 20'000'000);
    CHECK_FALSE(has(json, "truncated_after_items"));
    size_t movis = 0;
    for (size_t p = 0; (p = json.find("\"name\":\"MOVI\"", p)) != std::string::npos; ++p) ++movis;
    CHECK(movis == 2);
    CHECK(has(json, "\"name\":\"MAPTI\""));
  }
  // Deterministic: a second boot prints the same console output and trace, byte for byte
  // (the kernel's timestamps and random bytes included: virtual counter, seeded generator).
  CHECK(sh(cmd).out == boot.out);
}

TEST_CASE("linux: with pci=nomsi the same device interrupts through INTx, SPI 36 of the distributor, and smp_affinity moves it with GICD_IROUTER") {
  const std::optional<std::string> found = linux_data();
  if (!found) return;
  const std::string& dir = *found;
  const Ran boot = sh("timeout 900 " IRQREMAP_BINARY " run --arch arm64 --smp 4 --mem 512 --kernel " + dir +
                      "/Image --initrd " + dir +
                      "/initrd.gz --append 'console=ttyAMA0 rdinit=/init pci=nomsi' --device virtio-rng-pci"
                      " </dev/null 2>&1");
  INFO(boot.out);
  CHECK(boot.status == 0);
  // QEMU 7.2 prints the same interrupt line: slot 1, INTA -> SPI 4 (INTID 36), level.
  for (const char* line : {"GICv3  36 Level     virtio0", "irqremap-init: smp_affinity 8 (CPU 3): ok",
                           "after smp_affinity: smp_affinity 8, effective 3",
                           "irqremap-init: cpu3 offline: ok, CPUs online 0-2", "irqremap-init: done",
                           "MSI-X disabled"})
    CHECK_MESSAGE(has(boot.out, line), line);
  for (const char* bad : {": failed", "ITS-MSI", "DEVICE_NEEDS_RESET", "WARNING:"})
    CHECK_MESSAGE(!has(boot.out, bad), bad);
  const auto moved = per_cpu(boot.out, "/proc/interrupts after smp_affinity:", "virtio0");
  const auto offline = per_cpu(boot.out, "/proc/interrupts after offline:", "virtio0");
  REQUIRE(moved.size() == 4);
  REQUIRE(offline.size() == 3);
  CHECK(moved[3] > 0);           // CPU 3 took the second read's interrupts
  CHECK(offline[0] > moved[0]);  // and after the offline CPU 0 (effective 0) again
}

TEST_CASE("linux: a shell on the console runs the commands piped into irqremap's stdin (PL011 receive FIFO and its interrupt, SPI 1)") {
  const std::optional<std::string> found = linux_data();
  if (!found) return;
  const std::string& dir = *found;
  // busybox's shell as PID 1 (arguments after "--" go to init); a pipe, so each byte is
  // fetched when the guest waits for it (arch/arm64/pl011.h) and the run is repeatable.
  const std::string cmd = "printf 'echo typed $((6 * 7))\\n/bin/busybox poweroff -f\\n' | timeout 900 " IRQREMAP_BINARY
                          " run --arch arm64 --mem 512 --kernel " + dir + "/Image --initrd " + dir +
                          "/initrd.gz --append 'console=ttyAMA0 rdinit=/bin/busybox -- sh' 2>&1";
  const Ran boot = sh(cmd);
  INFO(boot.out);
  CHECK(boot.status == 0);
  CHECK(has(boot.out, "echo typed $((6 * 7))"));  // the tty's echo
  CHECK(has(boot.out, "\ntyped 42"));             // the shell's answer
  CHECK(has(boot.out, "reboot: Power down"));
  CHECK(sh(cmd).out == boot.out);
}
