// arm64/virtio-rng: a virtio-rng-pci driver, run with `--smp 2 --device virtio-rng-pci`.
// It does what Linux's virtio_pci_modern and virtio_rng do, in their order:
//  1. probe: scan bus 0 of the ECAM host for vendor 1AF4h, device 1005h (transitional) or
//     1044h (modern entropy; VIRTIO 1.2 §4.1.2.1), size and place BAR1 (MSI-X) and BAR4
//     (the modern structures), enable memory decode and bus mastering;
//  2. walk the capability list for the virtio structures (§4.1.4: common, notify, ISR,
//     device) and MSI-X (PCI Local Bus 3.0 §6.8.2);
//  3. initialise (§3.1.1): reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 only),
//     FEATURES_OK and its read-back, the MSI-X vectors (config 0, queue 1), queue 0's
//     split ring (§2.7) at its maximum size, queue_enable, DRIVER_OK;
//  4. MSI-X entries point at GITS_TRANSLATER with the vector as EventID; the ITS maps the
//     function's requester ID (the device tree's identity msi-map) with MAPD, each vector
//     with MAPTI to an LPI, and the queue's LPI moves between CPUs with MOVI + SYNC;
//  5. requests: one device-writable buffer per request, made available and notified; the
//     used-buffer interrupt arrives as an LPI on the CPU its collection targets, and the
//     used ring says how many bytes the device wrote.
// The bytes come from the machine's --rng-seed generator, so the output is exact.
#include "fw.h"

#define ECAM_BASE 0x4010000000ul  // QEMU virt's high ECAM (VIRT_HIGH_PCIE_ECAM)
#define MMIO_BASE 0x10000000ul    // the host's 32-bit memory window (VIRT_PCIE_MMIO)
#define ECAM(devfn, reg) (ECAM_BASE + ((u64)(devfn) << 12) + (reg))

// PCI configuration header (PCI Local Bus 3.0 §6.1).
#define PCI_VENDOR 0x00
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_BAR(n) (0x10 + 4 * (n))
#define PCI_CAP_PTR 0x34
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX 0x11

// virtio_pci_cap (§4.1.4): cfg_type at +3, bar +4, offset +8, length +12; the notify
// capability adds notify_off_multiplier at +16.
enum { VIRTIO_COMMON = 1, VIRTIO_NOTIFY = 2, VIRTIO_ISR = 3, VIRTIO_DEVICE = 4 };

// virtio_pci_common_cfg (§4.1.4.3).
#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0C
#define CC_MSIX_CONFIG 0x10
#define CC_NUM_QUEUES 0x12
#define CC_STATUS 0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1A
#define CC_Q_ENABLE 0x1C
#define CC_Q_NOFF 0x1E
#define CC_Q_DESC 0x20
#define CC_Q_DRIVER 0x28
#define CC_Q_DEVICE 0x30

// Device status (§2.1).
#define S_ACKNOWLEDGE 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u
#define S_FAILED 128u
#define F_VERSION_1_HI (1u << 0)  // feature bit 32 (§6.1), in the high word
#define NO_VECTOR 0xffff

#define CONFIG_EVENT 0  // MSI-X vector 0: configuration change
#define QUEUE_EVENT 1   // MSI-X vector 1: queue 0's used buffers
#define CONFIG_LPI (LPI_BASE + 32)
#define QUEUE_LPI (LPI_BASE + 33)
#define QSIZE_MAX 8

static inline u16 r16(u64 a) { return *(volatile u16 *)a; }
static inline void w16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static inline u8 r8(u64 a) { return *(volatile u8 *)a; }
static inline void w8(u64 a, u8 v) { *(volatile u8 *)a = v; }

// The split virtqueue (§2.7): descriptor table, driver (available) ring, device (used)
// ring, each aligned as §2.7 requires (16, 2, 4 bytes; a page each here).
struct desc {
  u64 addr;
  u32 len;
  u16 flags;
  u16 next;
};
#define DESC_F_WRITE 2u
static struct desc descs[QSIZE_MAX] __attribute__((aligned(4096)));
static volatile u16 avail[2 + QSIZE_MAX + 1] __attribute__((aligned(4096)));  // flags, idx, ring[], used_event
static volatile u32 used[1 + 2 * QSIZE_MAX + 1] __attribute__((aligned(4096)));  // flags|idx, {id, len}[], avail_event
static u8 buffer[64] __attribute__((aligned(64)));

static volatile u32 lpis_taken, config_lpis, last_cpu, online1;

void handle_lpi(unsigned cpu, u32 intid) {
  if (intid == QUEUE_LPI) {
    last_cpu = cpu;
    lpis_taken = lpis_taken + 1;
  } else if (intid == CONFIG_LPI) {
    config_lpis = config_lpis + 1;
  }
}

// CPU 1 takes whatever LPI its collection receives, sleeping in WFI in between.
void secondary_main(unsigned cpu) {
  (void)cpu;
  gic_cpu_init();
  irq_enable();
  online1 = 1;
  for (;;) wfi();
}

static void fail(const char *why) {
  puts("virtio-rng: ");
  puts(why);
  puts("\n");
  system_off();
}

struct virtio_pci {
  unsigned devfn;
  u64 bar[6];
  u64 common, notify, isr;
  u32 notify_mult;
  unsigned msix_cap;
  u64 msix_table;
};

// BAR n's size from the all-ones probe (§6.2.5.1), placed at *next, aligned to its size.
static u64 place_bar(unsigned devfn, unsigned n, u64 *next) {
  u64 reg = ECAM(devfn, PCI_BAR(n));
  u32 old = r32(reg);
  if (old & 1u) return 0;  // I/O space: the legacy interface, not used
  int is64 = (old & 6u) == 4u;
  w32(reg, ~0u);
  u64 size = (~(u64)(r32(reg) & ~0xfu) + 1) & 0xffffffffu;
  if (size == 0) return 0;  // no BAR here
  u64 at = (*next + size - 1) & ~(size - 1);
  w32(reg, (u32)at);
  if (is64) w32(ECAM(devfn, PCI_BAR(n + 1)), (u32)(at >> 32));
  *next = at + size;
  return at;
}

static int probe(struct virtio_pci *v) {
  for (unsigned dev = 0; dev < 32; ++dev) {
    u32 id = r32(ECAM(dev << 3, PCI_VENDOR));
    if ((id & 0xffff) != 0x1af4 || ((id >> 16) != 0x1005 && (id >> 16) != 0x1044)) continue;
    v->devfn = dev << 3;
    u64 next = MMIO_BASE;
    for (unsigned n = 0; n < 6; ++n) v->bar[n] = 0;
    for (unsigned n = 0; n < 6; ++n) {
      u32 old = r32(ECAM(v->devfn, PCI_BAR(n)));
      v->bar[n] = place_bar(v->devfn, n, &next);
      if ((old & 7u) == 4u) ++n;  // the upper half of a 64-bit BAR
    }
    w16(ECAM(v->devfn, PCI_COMMAND), r16(ECAM(v->devfn, PCI_COMMAND)) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return 1;
  }
  return 0;
}

static int find_caps(struct virtio_pci *v) {
  if (!(r16(ECAM(v->devfn, PCI_STATUS)) & PCI_STATUS_CAP_LIST)) return 0;
  v->common = v->notify = v->isr = 0;
  v->msix_cap = 0;
  for (unsigned at = r8(ECAM(v->devfn, PCI_CAP_PTR)) & ~3u; at != 0; at = r8(ECAM(v->devfn, at + 1)) & ~3u) {
    u8 id = r8(ECAM(v->devfn, at));
    if (id == PCI_CAP_MSIX) v->msix_cap = at;
    if (id != PCI_CAP_VENDOR) continue;
    u8 type = r8(ECAM(v->devfn, at + 3)), bar = r8(ECAM(v->devfn, at + 4));
    if (bar > 5 || v->bar[bar] == 0) continue;
    u64 addr = v->bar[bar] + r32(ECAM(v->devfn, at + 8));
    if (type == VIRTIO_COMMON && !v->common) v->common = addr;
    if (type == VIRTIO_ISR && !v->isr) v->isr = addr;
    if (type == VIRTIO_NOTIFY && !v->notify) {
      v->notify = addr;
      v->notify_mult = r32(ECAM(v->devfn, at + 16));
    }
  }
  if (!v->msix_cap) return 0;
  u32 table = r32(ECAM(v->devfn, v->msix_cap + 4));
  if (v->bar[table & 7] == 0) return 0;
  v->msix_table = v->bar[table & 7] + (table & ~7u);
  return v->common && v->notify && v->isr;
}

// MSI-X table entry n (§6.8.2.6): Message Address, Upper Address, Data, Vector Control.
static void msix_entry(struct virtio_pci *v, unsigned n, u32 event) {
  u64 e = v->msix_table + 16 * n;
  w32(e + 0, (u32)GITS_TRANSLATER);
  w32(e + 4, (u32)(GITS_TRANSLATER >> 32));
  w32(e + 8, event);
  w32(e + 12, 0);  // unmasked
}

static u16 avail_idx, used_seen, qsize;

// One request of `len` bytes: the buffer made available, the queue notified, the
// interrupt waited for.
static void request(struct virtio_pci *v, u32 len) {
  memset(buffer, 0, sizeof buffer);
  descs[0].addr = (u64)buffer;
  descs[0].len = len;
  descs[0].flags = DESC_F_WRITE;
  descs[0].next = 0;
  avail[2 + avail_idx % qsize] = 0;
  dsb();  // the ring entry before the index (§2.7.13)
  avail_idx = avail_idx + 1;
  avail[1] = avail_idx;
  dsb();  // the index before the notification (§2.7.13.3)
  u32 before = lpis_taken;
  u16 noff = r16(v->common + CC_Q_NOFF);
  w16(v->notify + (u64)noff * v->notify_mult, 0);
  while (lpis_taken == before) {
  }
  dsb();
  u16 idx = (u16)(used[0] >> 16);
  if (idx != (u16)(used_seen + 1)) fail("the used index did not move by one");
  u32 id = used[1 + 2 * (used_seen % qsize)], got = used[2 + 2 * (used_seen % qsize)];
  used_seen = idx;
  puts("request ");
  putdec(avail_idx);
  puts(": ");
  putdec(got);
  puts(" bytes in descriptor ");
  putdec(id);
  puts(", LPI ");
  putdec(QUEUE_LPI);
  puts(" taken on CPU ");
  putdec(last_cpu);
  puts(":");
  for (u32 i = 0; i < got && i < sizeof buffer; ++i) {
    putc(' ');
    putc("0123456789abcdef"[buffer[i] >> 4]);
    putc("0123456789abcdef"[buffer[i] & 15]);
  }
  puts("\n");
}

int main(void) {
  struct virtio_pci v;
  puts("virtio-rng: virtio-pci modern driver, MSI-X through the GICv3 ITS\n");
  if (!probe(&v)) fail("no virtio-rng-pci on bus 0 (run with --device virtio-rng-pci)");
  if (!find_caps(&v)) fail("the virtio or MSI-X capabilities are missing");
  u32 devid = v.devfn;  // bus 0: requester ID = devfn, the ITS DeviceID (identity msi-map)
  puts("found 00:");
  putdec(v.devfn >> 3);
  puts(".0, DeviceID ");
  puthex(devid);
  puts(", common config at ");
  puthex(v.common);
  puts(", notify at ");
  puthex(v.notify);
  puts(" (multiplier ");
  putdec(v.notify_mult);
  puts("), MSI-X table at ");
  puthex(v.msix_table);
  puts("\n");

  // The interrupt side first: GIC, ITS, one collection per CPU, both vectors mapped.
  gic_dist_init();
  lpi_config(CONFIG_LPI, 1);
  lpi_config(QUEUE_LPI, 1);
  gic_redist_init(2);
  its_init();
  its_mapc(0, 0);
  its_mapc(1, 1);
  its_sync(0);
  its_sync(1);
  its_mapd(devid, 2);
  its_mapti(devid, CONFIG_EVENT, CONFIG_LPI, 0);
  its_mapti(devid, QUEUE_EVENT, QUEUE_LPI, 0);
  its_inv(devid, CONFIG_EVENT);
  its_inv(devid, QUEUE_EVENT);
  its_sync(0);
  gic_cpu_init();
  irq_enable();
  if (psci(PSCI_CPU_ON, 1, (u64)secondary_entry, 0) != 0) fail("CPU_ON failed (run with --smp 2)");
  while (!online1) {
  }

  // §3.1.1 device initialisation.
  w8(v.common + CC_STATUS, 0);
  while (r8(v.common + CC_STATUS) != 0) {
  }
  w8(v.common + CC_STATUS, S_ACKNOWLEDGE);
  w8(v.common + CC_STATUS, S_ACKNOWLEDGE | S_DRIVER);
  w32(v.common + CC_DFSELECT, 1);
  u32 hi = r32(v.common + CC_DF);
  if (!(hi & F_VERSION_1_HI)) fail("the device does not offer VIRTIO_F_VERSION_1");
  w32(v.common + CC_GFSELECT, 0);
  w32(v.common + CC_GF, 0);
  w32(v.common + CC_GFSELECT, 1);
  w32(v.common + CC_GF, F_VERSION_1_HI);
  w8(v.common + CC_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
  if (!(r8(v.common + CC_STATUS) & S_FEATURES_OK)) fail("FEATURES_OK did not stick");

  // MSI-X (§4.1.4.3, §4.1.5.1.2): enable with the function masked, fill the table, map
  // the vectors, unmask, as vp_request_msix_vectors does.
  u64 mc = ECAM(v.devfn, v.msix_cap + 2);
  w16(mc, r16(mc) | (1u << 15) | (1u << 14));  // MSI-X Enable, Function Mask
  msix_entry(&v, CONFIG_EVENT, CONFIG_EVENT);
  msix_entry(&v, QUEUE_EVENT, QUEUE_EVENT);
  w16(mc, r16(mc) & ~(1u << 14));
  w16(v.common + CC_MSIX_CONFIG, CONFIG_EVENT);
  if (r16(v.common + CC_MSIX_CONFIG) != CONFIG_EVENT) fail("the config vector was refused");

  if (r16(v.common + CC_NUM_QUEUES) < 1) fail("no queue");
  w16(v.common + CC_Q_SELECT, 0);
  qsize = r16(v.common + CC_Q_SIZE);
  if (qsize == 0 || qsize > QSIZE_MAX) fail("queue 0's size is not 1..8");
  w16(v.common + CC_Q_MSIX, QUEUE_EVENT);
  if (r16(v.common + CC_Q_MSIX) != QUEUE_EVENT) fail("the queue vector was refused");
  w64(v.common + CC_Q_DESC, (u64)descs);
  w64(v.common + CC_Q_DRIVER, (u64)avail);
  w64(v.common + CC_Q_DEVICE, (u64)used);
  w16(v.common + CC_Q_ENABLE, 1);
  w8(v.common + CC_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
  if (r8(v.common + CC_STATUS) & (S_NEEDS_RESET | S_FAILED)) fail("the device needs a reset");
  puts("DRIVER_OK: queue 0 of ");
  putdec(qsize);
  puts(" entries, vector 1 -> EventID 1 -> LPI ");
  putdec(QUEUE_LPI);
  puts(" on collection 0 (CPU 0)\n");

  // Requests, two per placement (the second MSI finds the ITS's cached translation);
  // then the queue's LPI moves to the other CPU (MOVI + SYNC).
  static const u32 lens[] = {8, 16, 4, 32, 12, 24, 1, 40};
  u32 icid = 0;
  for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; ++i) {
    request(&v, lens[i]);
    if (i % 2 == 0) continue;
    icid ^= 1;
    its_movi(devid, QUEUE_EVENT, icid);
    its_sync(icid);
    puts("MOVI + SYNC: LPI ");
    putdec(QUEUE_LPI);
    puts(" now on CPU ");
    putdec(icid);
    puts("\n");
  }
  puts("done: ");
  putdec(lpis_taken);
  puts(" used-buffer LPIs, ");
  putdec(config_lpis);
  puts(" configuration LPIs, ISR ");
  putdec(r8(v.isr));
  puts("\n");
  return 0;
}
