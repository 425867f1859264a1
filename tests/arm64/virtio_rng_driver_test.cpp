// The arm64/virtio-rng stub (guest-fw/arm64/virtio-rng): a guest driver that does what
// Linux's virtio_pci_modern and virtio_rng do — ECAM probe, BAR placement, the virtio
// capabilities (VIRTIO 1.2 §4.1.4), the §3.1.1 handshake, a split virtqueue (§2.7), MSI-X
// vectors whose messages the GICv3 ITS translates (MAPD/MAPTI, IHI0069 §5.3) — asks for
// entropy eight times and takes each used-buffer interrupt as an LPI, on the CPU the
// event's collection names after each MOVI + SYNC. --rng-seed makes the bytes exact.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "guest-fw/firmware.h"

using namespace irqremap;
using namespace irqremap::arm64;

namespace {

struct Driven {
  std::unique_ptr<Arm64Machine> m;
  std::string uart;
  arch::RunResult r;
};

Driven drive(uint64_t seed) {
  Driven d;
  Arm64MachineConfig cfg;
  cfg.cpus = 2;
  cfg.pci_devices = {"virtio-rng-pci"};
  cfg.rng_seed = seed;
  cfg.uart_out = [&d](char c) { d.uart += c; };
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  d.m = std::move(*m);
  const guestfw::Firmware* fw = guestfw::find("arm64/virtio-rng");
  REQUIRE(fw != nullptr);
  auto entry = d.m->load(fw->elf);
  REQUIRE(entry);
  d.r = d.m->run(*entry, 20'000'000);
  return d;
}

// What the stub must print for request n (1-based) of `len` bytes taken on `cpu`: the
// device's generator is std::mt19937_64(seed), handed out a word at a time, low byte first
// (arch/common/virtio/virtio_rng.h), continuing across requests.
struct Expected {
  std::mt19937_64 gen;
  uint64_t word = 0;
  unsigned left = 0;
  std::string line(unsigned n, unsigned len, unsigned cpu) {
    std::string s = "request " + std::to_string(n) + ": " + std::to_string(len) +
                    " bytes in descriptor 0, LPI 8225 taken on CPU " + std::to_string(cpu) + ":";
    static const char* hex = "0123456789abcdef";
    for (unsigned i = 0; i < len; ++i) {
      if (left == 0) {
        word = gen();
        left = 8;
      }
      const unsigned b = unsigned(word & 0xFF);
      word >>= 8;
      --left;
      s += ' ';
      s += hex[b >> 4];
      s += hex[b & 15];
    }
    return s + "\n";
  }
};

}  // namespace

TEST_CASE("arm64 virtio-rng stub: a modern virtio-pci driver gets --rng-seed's bytes, each used buffer an LPI on the CPU MOVI+SYNC chose") {
  for (const uint64_t seed : {0ull, 12345ull}) {
    CAPTURE(seed);
    Driven d = drive(seed);
    INFO(d.uart);
    INFO(d.r.message);
    REQUIRE(d.r.stop == arch::StopKind::SystemOff);
    // The function QEMU's placement gives the first -device: 00:01.0, requester ID 8.
    CHECK(d.uart.find("found 00:1.0, DeviceID 0x8, common config at 0x10004000, notify at 0x10007000 (multiplier 4), "
                      "MSI-X table at 0x10000000\n") != std::string::npos);
    CHECK(d.uart.find("DRIVER_OK: queue 0 of 8 entries, vector 1 -> EventID 1 -> LPI 8225 on collection 0 (CPU 0)\n") !=
          std::string::npos);
    Expected e{std::mt19937_64(seed)};
    const unsigned lens[] = {8, 16, 4, 32, 12, 24, 1, 40};
    std::string want;
    for (unsigned i = 0; i < 8; ++i) {
      want += e.line(i + 1, lens[i], i / 2 % 2);
      if (i % 2 == 1) want += "MOVI + SYNC: LPI 8225 now on CPU " + std::to_string((i / 2 + 1) % 2) + "\n";
    }
    CHECK(d.uart.find(want) != std::string::npos);
    CHECK(d.uart.find("done: 8 used-buffer LPIs, 0 configuration LPIs") != std::string::npos);
    // Acknowledged where the collection pointed: CPU 0, 0, 1, 1, 0, 0, 1, 1.
    std::vector<unsigned> cpus;
    for (const auto& a : d.m->acks())
      if (a.intid == 8225) cpus.push_back(a.cpu);
    CHECK(cpus == std::vector<unsigned>{0, 0, 1, 1, 0, 0, 1, 1});
    // Each MOVI flushes the ITS's cache: the second MSI of each pair hits it.
    CHECK(d.m->its().error_count() == 0);
    CHECK(d.m->its().stats().cache_hits == 4);
    CHECK(d.m->its().stats().cache_misses == 4);
  }
}

TEST_CASE("arm64 virtio-rng stub: without the device it says so instead of hanging") {
  std::string uart;
  Arm64MachineConfig cfg;
  cfg.cpus = 2;
  cfg.uart_out = [&uart](char c) { uart += c; };
  auto m = Arm64Machine::create(cfg);
  REQUIRE(m);
  auto entry = (*m)->load(guestfw::find("arm64/virtio-rng")->elf);
  REQUIRE(entry);
  CHECK((*m)->run(*entry, 20'000'000).stop == arch::StopKind::SystemOff);
  CHECK(uart.find("virtio-rng: no virtio-rng-pci on bus 0 (run with --device virtio-rng-pci)\n") != std::string::npos);
}
