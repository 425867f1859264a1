// Debian 12's own arm64 Linux on the AArch64 machine (issue 31), booted as
// `qemu-system-aarch64 -M virt,gic-version=3,its=on -cpu cortex-a57 -smp 4 -m 512 -kernel
// Image -initrd initrd.gz` boots it: the kernel and the busybox initramfs come from
// Debian's archive through tools/linux-test-data.sh (cached under the build folder).
// Skipped, with the reason, when the archive cannot be reached, and in sanitizer builds
// (a boot is about a billion guest instructions: minutes under ASan).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

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

}  // namespace

TEST_CASE("linux: Debian's arm64 kernel boots to /init on 4 CPUs through its own GICv3 and ITS driver, powers off, and boots the same twice") {
#ifdef IRQREMAP_SANITIZED
  MESSAGE("SKIPPED linux boot: sanitizer build (a boot is ~1e9 guest instructions; the normal build runs it)");
  return;
#endif
  const std::string dir = std::string(IRQREMAP_BUILD_DIR) + "/linux-data";
  const Ran data = sh("bash " IRQREMAP_SOURCE_DIR "/tools/linux-test-data.sh " + dir + " 2>&1");
  if (data.status == 77) {
    MESSAGE((std::string("SKIPPED linux boot: ") + data.out));
    return;
  }
  INFO(data.out);
  REQUIRE(data.status == 0);
  const std::string cmd = "timeout 900 " IRQREMAP_BINARY " run --arch arm64 --smp 4 --mem 512 --kernel " + dir +
                          "/Image --initrd " + dir + "/initrd.gz --append 'console=ttyAMA0 rdinit=/init' 2>&1";
  const Ran boot = sh(cmd);
  INFO(boot.out);
  CHECK(boot.status == 0);  // PSCI SYSTEM_OFF from busybox's poweroff -f
  // The lines QEMU 7.2 prints for the same boot (tests/linux/README.md compares them all).
  for (const char* line : {"psci: PSCIv1.1 detected in firmware.", "GICv3: 224 SPIs implemented",
                           "CPU features: detected: GIC system register CPU interface",
                           "ITS@0x0000000008080000: allocated 8192 Devices",
                           "arch_timer: cp15 timer(s) running at 62.50MHz (virt).",
                           "GICv3: CPU3: found redistributor 3 region 0:0x0000000008100000",
                           "smp: Brought up 1 node, 4 CPUs", "irqremap-init: start",
                           "irqremap-init: kernel 6.1.0-", "CPUs online 0-3", "irqremap-init: insmod virtio_pci: ok",
                           "irqremap-init: done", "reboot: Power down"})
    CHECK_MESSAGE(has(boot.out, line), line);
  // The clock is one Linux believes (README "Virtual time"): no stall or lateness warnings,
  // and the image is where the arm64 boot protocol wants it.
  for (const char* bad : {"rcu_sched self-detected stall", "rcu: INFO", "hrtimer: interrupt took",
                          "Kernel image misaligned", "Internal error", "Kernel panic", "WARNING:"})
    CHECK_MESSAGE(!has(boot.out, bad), bad);
  // Deterministic: a second boot prints the same console output, byte for byte (the
  // kernel's timestamps included: they come from the virtual counter).
  CHECK(sh(cmd).out == boot.out);
}
