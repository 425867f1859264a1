// virtio-rng-pci as the AArch64 machine attaches it (arch/common/virtio/, VIRTIO 1.2): the
// transitional PCI transport against QEMU 7.2's config space, a driver's handshake through
// the modern and the legacy interface, split virtqueues with EVENT_IDX and indirect tables,
// MSI-X (PCI Local Bus 3.0 §6.8.2) masking and pending bits, and every driver error that
// must end in DEVICE_NEEDS_RESET (§2.1.2) rather than a crash or a lost state.
#include <doctest/doctest.h>

#include <array>
#include <random>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/arm64/virt_map.h"
#include "arch/common/pci/ecam_host.h"
#include "arch/common/pci/msix_capability.h"
#include "arch/common/virtio/virtio_pci.h"
#include "arch/common/virtio/virtio_rng.h"
#include "remap/guest_memory.h"

using namespace irqremap;
using namespace irqremap::virtio;
using pci::MsixCapability;

namespace {

struct Msis final : MsiSink {
  std::vector<MsiWrite> sent;
  void msi_write(const MsiWrite& m) override { sent.push_back(m); }
};

constexpr uint64_t kRam = 0x4000'0000, kRamSize = 1 << 20;
constexpr uint64_t kDesc = kRam + 0x1000, kAvail = kRam + 0x2000, kUsed = kRam + 0x3000, kBuf = kRam + 0x8000;
constexpr uint16_t kRid = 0x0008;  // 00:01.0
constexpr uint64_t kGits = arm64::virt::kGitsTranslater;
// BAR4 structure offsets and common configuration fields (§4.1.4.3).
constexpr uint64_t kCommon = VirtioPci::kCommonAt, kIsr = VirtioPci::kIsrAt, kNotify = VirtioPci::kNotifyAt;
constexpr uint64_t DFSELECT = 0x00, DF = 0x04, GFSELECT = 0x08, GF = 0x0C, MSIX_CONFIG = 0x10, STATUS = 0x14,
                   Q_SELECT = 0x16, Q_SIZE = 0x18, Q_MSIX = 0x1A, Q_ENABLE = 0x1C, Q_DESC = 0x20, Q_AVAIL = 0x28,
                   Q_USED = 0x30;

// A driver's view of one virtio-rng-pci: registers, rings in RAM, and the MSIs it receives.
struct Rig {
  GuestMemory mem;
  Msis msis;
  VirtioRng rng{42};
  VirtioPci dev{rng, 0x1005, 0x00FF00, mem, nullptr, msis};

  Rig() {
    REQUIRE(mem.add_ram(kRam, kRamSize, "ram"));
    dev.set_requester_id(kRid);
    // Memory and I/O decode and bus mastering; BARs where Linux put them on QEMU.
    cfg_write(pci::cfg::COMMAND, 2, 0x0407);
  }
  void cfg_write(unsigned off, unsigned size, uint32_t v) {
    dev.config().write(off, size, v);
    dev.config_written(off, size);
  }
  uint64_t common(uint64_t off, unsigned size) { return dev.bar_read(4, kCommon + off, size); }
  void set_common(uint64_t off, unsigned size, uint64_t v) { dev.bar_write(4, kCommon + off, size, v); }
  void msix_entry(unsigned v, uint64_t address, uint32_t data, bool masked) {
    dev.bar_write(1, 16 * v + 0, 4, uint32_t(address));
    dev.bar_write(1, 16 * v + 4, 4, uint32_t(address >> 32));
    dev.bar_write(1, 16 * v + 8, 4, data);
    dev.bar_write(1, 16 * v + 12, 4, masked ? 1 : 0);
  }
  void enable_msix() {
    const unsigned cap = dev.msix().offset();
    cfg_write(cap + 2, 2, MsixCapability::ENABLE);
  }
  // The modern handshake (§3.1.1) up to DRIVER_OK with `features`; queue 0 of `size` at the
  // rig's rings, mapped to MSI-X vector 1 and config to vector 0.
  void modern_up(uint64_t features, uint16_t size = 8) {
    set_common(STATUS, 1, 0);
    set_common(STATUS, 1, status::ACKNOWLEDGE);
    set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER);
    set_common(GFSELECT, 4, 0);
    set_common(GF, 4, uint32_t(features));
    set_common(GFSELECT, 4, 1);
    set_common(GF, 4, uint32_t(features >> 32));
    set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
    REQUIRE((common(STATUS, 1) & status::FEATURES_OK) != 0);
    set_common(MSIX_CONFIG, 2, 0);
    set_common(Q_SELECT, 2, 0);
    set_common(Q_SIZE, 2, size);
    set_common(Q_MSIX, 2, 1);
    for (auto [off, addr] : {std::pair{Q_DESC, kDesc}, {Q_AVAIL, kAvail}, {Q_USED, kUsed}}) {
      set_common(off, 4, uint32_t(addr));
      set_common(off + 4, 4, uint32_t(addr >> 32));
    }
    set_common(Q_ENABLE, 2, 1);
    set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK);
  }
  void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0, uint64_t table = kDesc) {
    REQUIRE(mem.write64(table + 16 * i, addr));
    REQUIRE(mem.write32(table + 16 * i + 8, len));
    REQUIRE(mem.write16(table + 16 * i + 12, flags));
    REQUIRE(mem.write16(table + 16 * i + 14, next));
  }
  // Makes chain `head` available as ring slot avail_idx, publishes idx + 1.
  void make_available(uint16_t head, uint64_t avail = kAvail, uint16_t size = 8) {
    const uint16_t idx = *mem.read16(avail + 2);
    REQUIRE(mem.write16(avail + 4 + 2 * (idx % size), head));
    REQUIRE(mem.write16(avail + 2, uint16_t(idx + 1)));
  }
  void kick(unsigned q = 0) { dev.bar_write(4, kNotify + 4 * q, 2, q); }
  uint16_t used_idx(uint64_t used = kUsed) { return *mem.read16(used + 2); }
  std::pair<uint32_t, uint32_t> used_elem(unsigned i, uint64_t used = kUsed) {
    return {*mem.read32(used + 4 + 8 * i), *mem.read32(used + 8 + 8 * i)};
  }
};

constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }
constexpr uint64_t kV1 = bit(feature::VERSION_1);

// The bytes std::mt19937_64 seeded with `seed` gives, low byte of each word first.
std::vector<uint8_t> expected_bytes(uint64_t seed, size_t n, size_t skip = 0) {
  std::mt19937_64 g(seed);
  std::vector<uint8_t> all;
  while (all.size() < n + skip) {
    const uint64_t w = g();
    for (unsigned i = 0; i < 8; ++i) all.push_back(uint8_t(w >> (8 * i)));
  }
  return {all.begin() + long(skip), all.begin() + long(skip + n)};
}

std::vector<uint8_t> ram_bytes(GuestMemory& mem, uint64_t at, size_t n) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i < n; ++i) v.push_back(*mem.read8(at + i));
  return v;
}

}  // namespace

TEST_CASE("virtio-rng-pci: config space reads back as QEMU 7.2's after Linux's probe, byte for byte") {
  // QEMU 7.2 `-M virt,gic-version=3,its=on -device virtio-rng-pci`, Debian's 6.1 kernel:
  // od of /sys/bus/pci/devices/0000:00:01.0/config after virtio_pci bound (BARs as Linux
  // assigned them, Command 0407h, MSI-X enabled).
  const std::array<uint8_t, 0xA8> qemu = {
      0xf4, 0x1a, 0x05, 0x10, 0x07, 0x04, 0x10, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00,  //
      0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
      0x0c, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf4, 0x1a, 0x04, 0x00,  //
      0x00, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x01, 0x00, 0x00,  //
      0x09, 0x00, 0x10, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,  //
      0x09, 0x40, 0x10, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,  //
      0x09, 0x50, 0x10, 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,  //
      0x09, 0x60, 0x14, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,  //
      0x04, 0x00, 0x00, 0x00, 0x09, 0x70, 0x14, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x84, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00,  //
      0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  Rig r;
  r.cfg_write(pci::cfg::BAR0, 4, 0x1000);
  r.cfg_write(pci::cfg::BAR0 + 4, 4, 0x1000'0000);
  r.cfg_write(pci::cfg::BAR0 + 16, 4, 0);
  r.cfg_write(pci::cfg::BAR0 + 20, 4, 0x80);
  r.cfg_write(pci::cfg::INTERRUPT_LINE, 1, 0x11);  // Linux's pci_assign_irq writes its IRQ number
  r.enable_msix();
  for (unsigned i = 0; i < 256; ++i)
    CHECK_MESSAGE(r.dev.config_read(i, 1) == (i < qemu.size() ? qemu[i] : 0), "config byte ", i);
  // BAR sizing as Linux does it: all-ones, read back, restore (§6.2.5.1).
  r.cfg_write(pci::cfg::BAR0 + 16, 4, 0xFFFF'FFFF);
  CHECK(r.dev.config_read(pci::cfg::BAR0 + 16, 4) == 0xFFFF'C00Cu);  // 16 KiB, 64-bit, prefetchable
  r.cfg_write(pci::cfg::BAR0, 4, 0xFFFF'FFFF);
  CHECK(r.dev.config_read(pci::cfg::BAR0, 4) == 0xFFFF'FFE1u);  // 32 bytes of I/O
}

TEST_CASE("virtio-rng-pci: a modern driver's request is filled from the seeded generator and answered on its MSI-X vector") {
  Rig r;
  r.msix_entry(0, kGits, 0, false);
  r.msix_entry(1, kGits, 1, false);
  r.enable_msix();
  // Offered: VERSION_1, INDIRECT_DESC, EVENT_IDX, nothing device-specific (§5.4.3).
  r.set_common(DFSELECT, 4, 0);
  CHECK(r.common(DF, 4) == (bit(28) | bit(29)));
  r.set_common(DFSELECT, 4, 1);
  CHECK(r.common(DF, 4) == 1);
  r.set_common(DFSELECT, 4, 7);
  CHECK(r.common(DF, 4) == 0);
  CHECK(r.common(0x12, 2) == 1);      // num_queues
  CHECK(r.common(Q_SIZE, 2) == 8);    // QEMU's virtio-rng queue
  r.modern_up(kV1, 8);
  r.desc(0, kBuf, 32, SplitQueue::DESC_F_WRITE);
  r.make_available(0);
  r.kick();
  CHECK(r.used_idx() == 1);
  CHECK(r.used_elem(0) == std::pair<uint32_t, uint32_t>{0, 32});
  CHECK(ram_bytes(r.mem, kBuf, 32) == expected_bytes(42, 32));
  // The requester ID is the ITS DeviceID; the data is the EventID Linux wrote.
  REQUIRE(r.msis.sent.size() == 1);
  CHECK(r.msis.sent[0] == MsiWrite{kGits, 1, kRid});
  CHECK(r.rng.bytes_given() == 32);
  // The next request continues the stream; the table was written once (3 DWORDs a vector).
  r.desc(1, kBuf + 64, 5, SplitQueue::DESC_F_WRITE);
  r.make_available(1);
  r.kick();
  CHECK(ram_bytes(r.mem, kBuf + 64, 5) == expected_bytes(42, 5, 32));
  CHECK(r.msis.sent.size() == 2);
  CHECK(r.dev.msix().counters(1).message_writes == 3);
  CHECK(r.dev.msix().counters(1).rewrites_live == 0);
  CHECK(r.dev.msix().counters(1).sent == 2);
}

TEST_CASE("virtio-rng-pci: two devices with the same seed give the same bytes, another seed others") {
  std::vector<uint8_t> a = expected_bytes(7, 16), b = expected_bytes(8, 16);
  CHECK(a != b);
  for (uint64_t seed : {uint64_t{7}, uint64_t{7}, uint64_t{8}}) {
    GuestMemory mem;
    REQUIRE(mem.add_ram(kRam, kRamSize, "ram"));
    VirtioRng rng(seed);
    SplitQueue q;
    REQUIRE(q.start(SplitQueue::Layout{8, kDesc, kAvail, kUsed, false, false}));
    pci::BusMaster bus(mem, nullptr, 0);
    REQUIRE(mem.write64(kDesc, kBuf));
    REQUIRE(mem.write32(kDesc + 8, 16));
    REQUIRE(mem.write16(kDesc + 12, SplitQueue::DESC_F_WRITE));
    REQUIRE(mem.write16(kAvail + 2, 1));
    REQUIRE(rng.process(0, q, bus));
    CHECK(ram_bytes(mem, kBuf, 16) == (seed == 7 ? a : b));
  }
}

TEST_CASE("virtio-pci: FEATURES_OK is refused for features never offered and, through the modern interface, without VERSION_1") {
  Rig r;
  auto try_features = [&](uint64_t f) {
    r.set_common(STATUS, 1, 0);
    r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER);
    r.set_common(GFSELECT, 4, 0);
    r.set_common(GF, 4, uint32_t(f));
    r.set_common(GFSELECT, 4, 1);
    r.set_common(GF, 4, uint32_t(f >> 32));
    r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
    return (r.common(STATUS, 1) & status::FEATURES_OK) != 0;
  };
  CHECK(try_features(kV1 | bit(29) | bit(28)));
  CHECK_FALSE(try_features(kV1 | bit(0)));        // a device-type bit virtio-rng lacks (§2.2.2)
  CHECK_FALSE(try_features(kV1 | bit(40)));       // VIRTIO_F_RING_RESET: not offered
  CHECK_FALSE(try_features(bit(29)));             // no VERSION_1 through the modern interface (§6.1)
  // After FEATURES_OK the driver's features are frozen (§3.1.1).
  CHECK(try_features(kV1));
  r.set_common(GFSELECT, 4, 0);
  r.set_common(GF, 4, uint32_t(bit(29)));
  CHECK(r.dev.driver_features() == kV1);
}

TEST_CASE("virtio-pci: an MSI-X vector past the table reads back NO_VECTOR, and with MSI-X on nothing is raised for it") {
  Rig r;
  r.msix_entry(0, kGits, 0, false);
  r.msix_entry(1, kGits, 1, false);
  r.enable_msix();
  r.modern_up(kV1);
  r.set_common(MSIX_CONFIG, 2, 2);  // the table has vectors 0 and 1 (§4.1.5.1.2)
  CHECK(r.common(MSIX_CONFIG, 2) == kNoVector);
  r.set_common(Q_SELECT, 2, 0);
  CHECK(r.common(Q_MSIX, 2) == 1);
  // A live queue's vector may be remapped; past the table it becomes NO_VECTOR.
  r.set_common(Q_MSIX, 2, 0x7FF);
  CHECK(r.common(Q_MSIX, 2) == kNoVector);
  r.desc(0, kBuf, 4, SplitQueue::DESC_F_WRITE);
  r.make_available(0);
  r.kick();
  CHECK(r.used_idx() == 1);
  CHECK(r.msis.sent.empty());
  // A queue that does not exist reads size 0 (§4.1.4.3.2).
  r.set_common(Q_SELECT, 2, 1);
  CHECK(r.common(Q_SIZE, 2) == 0);
}

TEST_CASE("MSI-X: a masked vector sets its Pending bit and sends once unmasked; Function Mask holds every vector (PCI 3.0 §6.8.2)") {
  Msis msis;
  pci::ConfigSpace c(0x1AF4, 0x1005, 0xFF00, 0);
  c.add_bar(1, pci::BarKind::Mem32, 0x1000);
  MsixCapability x(c, 2, 1, 0, 1, 0x800, msis, 0x08);
  const unsigned ctl = x.offset() + 2;
  CHECK(c.get16(ctl) == 1);  // Table Size N - 1
  CHECK(c.get32(x.offset() + 4) == 1);
  CHECK(c.get32(x.offset() + 8) == 0x801);
  // Reset: every vector masked, MSI-X disabled; a signal becomes Pending.
  CHECK(x.vector_masked(0));
  CHECK_FALSE(x.notify(0));
  CHECK(x.pending(0));
  uint64_t pba = 0;
  REQUIRE(x.read(1, 0x800, 8, pba));
  CHECK(pba == 1);
  REQUIRE(x.write(1, 0, 8, kGits));
  REQUIRE(x.write(1, 8, 4, 0x55));
  c.write(ctl, 2, MsixCapability::ENABLE | MsixCapability::FUNCTION_MASK);
  x.config_written();
  REQUIRE(x.write(1, 12, 4, 0));  // unmasked, but the function is masked
  CHECK(msis.sent.empty());
  c.write(ctl, 2, MsixCapability::ENABLE);
  x.config_written();
  REQUIRE(msis.sent.size() == 1);  // released when Function Mask cleared
  CHECK(msis.sent[0] == MsiWrite{kGits, 0x55, 0x08});
  CHECK_FALSE(x.pending(0));
  CHECK(x.notify(0));
  CHECK(msis.sent.size() == 2);
  // Only aligned DWORD / QWORD accesses; the PBA is read-only; Message Address bits 1:0 are 0.
  uint64_t v = 0;
  CHECK_FALSE(x.read(1, 2, 2, v));
  CHECK_FALSE(x.write(1, 1, 4, 0));
  REQUIRE(x.write(1, 0x800, 4, 0xFFFF'FFFF));
  REQUIRE(x.read(1, 0x800, 4, v));
  CHECK(v == 0);
  REQUIRE(x.write(1, 16, 4, 0x1234'5673));
  REQUIRE(x.read(1, 16, 4, v));
  CHECK(v == 0x1234'5670);
  // Rewriting a live vector's message is counted: the store is meant to be written once.
  const uint64_t live = x.counters(0).rewrites_live;
  REQUIRE(x.write(1, 8, 4, 0x56));
  CHECK(x.counters(0).rewrites_live == live + 1);
  // A vector past the table is ignored.
  CHECK_FALSE(x.notify(2));
}

TEST_CASE("virtio-pci: with EVENT_IDX the device interrupts only when used idx passes used_event; without it NO_INTERRUPT holds it (§2.7.7, §2.7.10)") {
  Rig r;
  r.msix_entry(0, kGits, 0, false);
  r.msix_entry(1, kGits, 1, false);
  r.enable_msix();
  r.modern_up(kV1 | bit(feature::RING_EVENT_IDX));
  REQUIRE(r.mem.write16(kAvail + 4 + 2 * 8, 1));  // used_event: interrupt after the 2nd buffer
  for (uint16_t i = 0; i < 3; ++i) {
    r.desc(i, kBuf + 16 * i, 16, SplitQueue::DESC_F_WRITE);
    r.make_available(i);
    r.kick();
    // avail_event published after each notification: the device wants the next one.
    CHECK(*r.mem.read16(kUsed + 4 + 8 * 8) == i + 1);
  }
  CHECK(r.used_idx() == 3);
  // The first interrupt is always sent; then only the one crossing used_event = 1.
  CHECK(r.msis.sent.size() == 2);
  Rig n;
  n.msix_entry(1, kGits, 1, false);
  n.enable_msix();
  n.modern_up(kV1);
  REQUIRE(n.mem.write16(kAvail, SplitQueue::AVAIL_F_NO_INTERRUPT));
  n.desc(0, kBuf, 8, SplitQueue::DESC_F_WRITE);
  n.make_available(0);
  n.kick();
  CHECK(n.used_idx() == 1);
  CHECK(n.msis.sent.empty());
}

TEST_CASE("virtio-pci: an indirect table is followed with VIRTIO_F_INDIRECT_DESC; device-readable buffers get no bytes") {
  Rig r;
  r.msix_entry(1, kGits, 1, false);
  r.enable_msix();
  r.modern_up(kV1 | bit(feature::RING_INDIRECT_DESC));
  constexpr uint64_t kTable = kRam + 0x5000;
  r.desc(0, kBuf + 0x100, 4, SplitQueue::DESC_F_NEXT, 1, kTable);  // device-readable
  r.desc(1, kBuf, 8, SplitQueue::DESC_F_WRITE | SplitQueue::DESC_F_NEXT, 2, kTable);
  r.desc(2, kBuf + 8, 8, SplitQueue::DESC_F_WRITE, 0, kTable);
  r.desc(3, kTable, 48, SplitQueue::DESC_F_INDIRECT);
  r.make_available(3);
  r.kick();
  CHECK(r.used_elem(0) == std::pair<uint32_t, uint32_t>{3, 16});
  CHECK(ram_bytes(r.mem, kBuf, 16) == expected_bytes(42, 16));
  CHECK(ram_bytes(r.mem, kBuf + 0x100, 4) == std::vector<uint8_t>(4, 0));
  CHECK((r.dev.device_status() & status::DEVICE_NEEDS_RESET) == 0);
}

TEST_CASE("virtio-pci: each driver error sets DEVICE_NEEDS_RESET, raises the config vector, and only a reset clears it (§2.1.2)") {
  struct Case {
    const char* what;
    uint64_t features;
    void (*setup)(Rig&);
  };
  const Case cases[] = {
      {"a chain that loops (longer than the queue)", 0,
       [](Rig& r) {
         r.desc(0, kBuf, 4, SplitQueue::DESC_F_WRITE | SplitQueue::DESC_F_NEXT, 1);
         r.desc(1, kBuf, 4, SplitQueue::DESC_F_WRITE | SplitQueue::DESC_F_NEXT, 0);
         r.make_available(0);
       }},
      {"a head past the queue", 0, [](Rig& r) { r.make_available(8); }},
      {"a next index past the queue", 0,
       [](Rig& r) {
         r.desc(0, kBuf, 4, SplitQueue::DESC_F_WRITE | SplitQueue::DESC_F_NEXT, 200);
         r.make_available(0);
       }},
      {"the available index moved by more than the queue size", 0,
       [](Rig& r) { REQUIRE(r.mem.write16(kAvail + 2, 9)); }},
      {"an indirect descriptor without the feature", 0,
       [](Rig& r) {
         r.desc(0, kRam + 0x5000, 16, SplitQueue::DESC_F_INDIRECT);
         r.make_available(0);
       }},
      {"INDIRECT together with NEXT", bit(feature::RING_INDIRECT_DESC),
       [](Rig& r) {
         r.desc(0, kRam + 0x5000, 16, SplitQueue::DESC_F_INDIRECT | SplitQueue::DESC_F_NEXT, 1);
         r.make_available(0);
       }},
      {"an indirect table of 20 bytes", bit(feature::RING_INDIRECT_DESC),
       [](Rig& r) {
         r.desc(0, kRam + 0x5000, 20, SplitQueue::DESC_F_INDIRECT);
         r.make_available(0);
       }},
      {"a nested indirect table", bit(feature::RING_INDIRECT_DESC),
       [](Rig& r) {
         r.desc(0, kRam + 0x5000, 16, SplitQueue::DESC_F_INDIRECT, 0, kRam + 0x5000);
         r.desc(0, kRam + 0x5000, 16, SplitQueue::DESC_F_INDIRECT);
         r.make_available(0);
       }},
      {"a readable buffer after a writable one", 0,
       [](Rig& r) {
         r.desc(0, kBuf, 4, SplitQueue::DESC_F_WRITE | SplitQueue::DESC_F_NEXT, 1);
         r.desc(1, kBuf, 4, 0);
         r.make_available(0);
       }},
      {"a buffer outside RAM", 0,
       [](Rig& r) {
         r.desc(0, 0x9000'0000'0000, 16, SplitQueue::DESC_F_WRITE);
         r.make_available(0);
       }},
      {"a buffer that wraps the address space", 0,
       [](Rig& r) {
         r.desc(0, ~uint64_t{0} - 3, 16, SplitQueue::DESC_F_WRITE);
         r.make_available(0);
       }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Rig r;
    r.msix_entry(0, kGits, 0, false);
    r.msix_entry(1, kGits, 1, false);
    r.enable_msix();
    r.modern_up(kV1 | c.features);
    c.setup(r);
    r.kick();
    CHECK((r.dev.device_status() & status::DEVICE_NEEDS_RESET) != 0);
    CHECK(r.used_idx() == 0);
    REQUIRE(r.msis.sent.size() == 1);
    CHECK(r.msis.sent[0].data == 0);  // the config vector
    // Broken: further notifications take nothing, and the driver cannot clear the bit.
    r.kick();
    r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK);
    CHECK((r.dev.device_status() & status::DEVICE_NEEDS_RESET) != 0);
    CHECK(r.msis.sent.size() == 1);
    // A reset and a fresh start work again.
    REQUIRE(r.mem.zero(kRam, 0x4000));
    r.modern_up(kV1);
    r.desc(0, kBuf, 4, SplitQueue::DESC_F_WRITE);
    r.make_available(0);
    r.kick();
    CHECK(r.used_idx() == 1);
    CHECK((r.dev.device_status() & status::DEVICE_NEEDS_RESET) == 0);
  }
}

TEST_CASE("virtio-pci: a queue enabled with a bad layout needs a reset: size above the maximum, not a power of two, misaligned rings") {
  for (auto [size, desc] : {std::pair<uint16_t, uint64_t>{16, kDesc}, {6, kDesc}, {8, kDesc + 8}}) {
    CAPTURE(size);
    CAPTURE(desc);
    Rig r;
    r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER);
    r.set_common(GFSELECT, 4, 1);
    r.set_common(GF, 4, 1);
    r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
    r.set_common(Q_SIZE, 2, size);
    r.set_common(Q_DESC, 4, uint32_t(desc));
    r.set_common(Q_AVAIL, 4, uint32_t(kAvail));
    r.set_common(Q_USED, 4, uint32_t(kUsed));
    r.set_common(Q_ENABLE, 2, 1);
    CHECK(r.common(Q_ENABLE, 2) == 0);
    CHECK((r.dev.device_status() & status::DEVICE_NEEDS_RESET) != 0);
  }
}

TEST_CASE("virtio-pci: nothing is consumed before DRIVER_OK (§3.1.2); setting DRIVER_OK takes what is available") {
  Rig r;
  r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER);
  r.set_common(GFSELECT, 4, 1);
  r.set_common(GF, 4, 1);
  r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK);
  r.set_common(Q_DESC, 4, uint32_t(kDesc));
  r.set_common(Q_AVAIL, 4, uint32_t(kAvail));
  r.set_common(Q_USED, 4, uint32_t(kUsed));
  r.set_common(Q_ENABLE, 2, 1);
  r.desc(0, kBuf, 4, SplitQueue::DESC_F_WRITE);
  r.make_available(0);
  r.kick();
  CHECK(r.used_idx() == 0);
  r.set_common(STATUS, 1, status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK);
  CHECK(r.used_idx() == 1);
  // Writes to a live queue's layout are ignored (§4.1.4.3.2).
  r.set_common(Q_DESC, 4, 0x1234'0000);
  CHECK(r.common(Q_DESC, 4) == uint32_t(kDesc));
}

TEST_CASE("virtio-pci: the legacy interface (§4.1.4.8): PFN layout, notify by value, ISR read clears, INTx without MSI-X") {
  Rig r;
  r.cfg_write(pci::cfg::COMMAND, 2, 0x0007);  // INTx enabled
  std::vector<bool> intx;
  r.dev.connect_intx([&](bool level) { intx.push_back(level); });
  auto io = [&](uint64_t off, unsigned size) { return r.dev.bar_read(0, off, size); };
  auto out = [&](uint64_t off, unsigned size, uint64_t v) { r.dev.bar_write(0, off, size, v); };
  CHECK(io(0x00, 4) == (bit(28) | bit(29)));  // HostFeatures: no VERSION_1 in 32 bits
  CHECK(io(0x0C, 2) == 8);
  out(0x12, 1, status::ACKNOWLEDGE | status::DRIVER);
  out(0x04, 4, bit(29));  // EVENT_IDX
  // Queue at PFN: descriptors, available ring (6 + 2 * 8 bytes), used ring at the next 4 KiB.
  constexpr uint64_t kQ = kRam + 0x10000;
  out(0x08, 4, kQ >> 12);
  CHECK(io(0x08, 4) == kQ >> 12);
  CHECK(r.dev.queue(0).live());
  CHECK(r.dev.queue(0).layout().avail == kQ + 128);
  CHECK(r.dev.queue(0).layout().used == kQ + 0x1000);
  CHECK(r.dev.queue(0).layout().event_idx);
  out(0x12, 1, status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK);
  r.desc(0, kBuf, 8, SplitQueue::DESC_F_WRITE, 0, kQ);
  r.make_available(0, kQ + 128);
  out(0x10, 2, 0);  // QueueNotify carries the queue index
  CHECK(r.used_idx(kQ + 0x1000) == 1);
  // MSI-X is off: ISR bit 0 and INTx; an ISR read returns and clears it, dropping INTx.
  REQUIRE(intx == std::vector<bool>{true});
  CHECK(io(0x13, 1) == 1);
  CHECK(io(0x13, 1) == 0);
  CHECK(intx == std::vector<bool>{true, false});
  // With MSI-X enabled the two vector registers appear at 0x14 and 0x16.
  r.enable_msix();
  out(0x14, 2, 0);
  out(0x16, 2, 1);
  CHECK(io(0x14, 2) == 0);
  CHECK(io(0x16, 2) == 1);
  // Writing PFN 0 tears the queue down.
  out(0x08, 4, 0);
  CHECK_FALSE(r.dev.queue(0).live());
}

TEST_CASE("virtio-pci: the PCI configuration access capability reads and writes BAR registers (§4.1.4.9)") {
  Rig r;
  const unsigned cap = 0x84;
  REQUIRE(r.dev.config().get8(cap) == 0x09);
  REQUIRE(r.dev.config().get8(cap + 3) == 5);
  // Read device_feature_select... num_queues (common + 0x12) through the window.
  r.cfg_write(cap + 4, 1, 4);
  r.cfg_write(cap + 8, 4, 0x12);
  r.cfg_write(cap + 12, 4, 2);
  CHECK((r.dev.config_read(cap + 16, 4) & 0xFFFF) == 1);
  // Write queue_select = 5 through it.
  r.cfg_write(cap + 8, 4, 0x16);
  r.cfg_write(cap + 16, 4, 5);
  CHECK(r.common(Q_SELECT, 2) == 5);
  // A length of 3 or a misaligned offset is no access at all.
  r.cfg_write(cap + 12, 4, 3);
  r.cfg_write(cap + 16, 4, 0);
  CHECK(r.common(Q_SELECT, 2) == 5);
}

TEST_CASE("virtio-pci: odd register accesses never crash: any size at any offset of each BAR and the window") {
  Rig r;
  for (unsigned bar : {0u, 1u, 4u})
    for (uint64_t off : {uint64_t{0}, uint64_t{1}, uint64_t{0x13}, uint64_t{0x37}, uint64_t{0xFFF}, uint64_t{0x3FFF},
                         uint64_t{0x3FFC}, uint64_t{0x2FFF}})
      for (unsigned size : {1u, 2u, 4u, 8u}) {
        (void)r.dev.bar_read(bar, off, size);
        r.dev.bar_write(bar, off, size, ~uint64_t{0});
      }
  // Everything above reached no RAM and sent nothing it was not asked to.
  CHECK(r.used_idx() == 0);
}

TEST_CASE("virtio-rng-pci on the arm64 machine: 00:01.0 with its 64-bit BAR reached through virt's high PCIe window") {
  arm64::Arm64MachineConfig cfg;
  cfg.pci_devices = {"virtio-rng-pci"};
  cfg.device = false;
  auto m = arm64::Arm64Machine::create(cfg);
  REQUIRE(m);
  pci::EcamHost& host = (*m)->pcie();
  CHECK(host.config_read(0, pci::devfn(1, 0), 0, 4) == 0x1005'1AF4u);
  REQUIRE((*m)->virtio_functions().size() == 1);
  // BAR4 at 0x80_0000_0000 as Linux places it; num_queues through the high window.
  host.config_write(0, pci::devfn(1, 0), pci::cfg::BAR0 + 16, 4, 0x0);
  host.config_write(0, pci::devfn(1, 0), pci::cfg::BAR0 + 20, 4, 0x80);
  host.config_write(0, pci::devfn(1, 0), pci::cfg::COMMAND, 2, 0x0006);
  CHECK(host.mmio_high().mmio_read(0x12, 2) == 1);
  CHECK(host.mmio_high().mmio_size() == arm64::virt::kPcieMmioHighSize);
}
