#pragma once
// A test ITS over real redistributors in scratch guest memory, driven the way firmware
// drives it: BASERs and CBASER, GITS_CTLR.Enabled, commands written to the queue and
// published with GITS_CWRITER.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "arch/arm64/gicv3_redistributor.h"
#include "remap/fields.h"
#include "remap/its/command_format.h"
#include "remap/its/its.h"
#include "remap/its/register_format.h"

namespace its_test {

using namespace irqremap;
using Cmd = std::array<uint64_t, 4>;
using Assign = std::vector<std::pair<std::string, uint64_t>>;

inline constexpr uint64_t kRam = 0x4000'0000;
inline constexpr uint64_t kQueue = 0x4000'0000;   // 4 KiB: 128 commands
inline constexpr uint64_t kDevTable = 0x4001'0000;
inline constexpr uint64_t kColTable = 0x4002'0000;
inline constexpr uint64_t kItt = 0x4010'0000;     // ITTs, 0x1000 per device
inline constexpr uint64_t kProp = 0x4060'0000;
inline constexpr uint64_t kPend = 0x4070'0000;    // + 64 KiB per CPU
inline constexpr uint64_t kTranslater = 0x0808'0000 + 0x1'0040;

inline Cmd make(const fields::Format& f, const Assign& a) {
  auto w = fields::encode(f, a);
  REQUIRE_MESSAGE(w.has_value(), w.error());
  return Cmd{(*w)[0], (*w)[1], (*w)[2], (*w)[3]};
}
inline Cmd mapd(uint32_t dev, unsigned size, uint64_t itt, bool v = true) {
  return make(its::cmd::kMapd, {{"DeviceID", dev}, {"Size", size}, {"ITT_addr", itt}, {"V", v}});
}
inline Cmd mapc(uint32_t icid, uint64_t rd, bool v = true) {
  return make(its::cmd::kMapc, {{"ICID", icid}, {"RDbase", rd}, {"V", v}});
}
inline Cmd mapti(uint32_t dev, uint32_t ev, uint32_t lpi, uint32_t icid) {
  return make(its::cmd::kMapti, {{"DeviceID", dev}, {"EventID", ev}, {"pINTID", lpi}, {"ICID", icid}});
}
inline Cmd mapi(uint32_t dev, uint32_t ev, uint32_t icid) {
  return make(its::cmd::kMapi, {{"DeviceID", dev}, {"EventID", ev}, {"ICID", icid}});
}
inline Cmd movi(uint32_t dev, uint32_t ev, uint32_t icid) {
  return make(its::cmd::kMovi, {{"DeviceID", dev}, {"EventID", ev}, {"ICID", icid}});
}
inline Cmd dev_event(const fields::Format& f, uint32_t dev, uint32_t ev) {
  return make(f, {{"DeviceID", dev}, {"EventID", ev}});
}
inline Cmd movall(uint64_t rd1, uint64_t rd2) {
  return make(its::cmd::kMovall, {{"RDbase1", rd1}, {"RDbase2", rd2}});
}
inline Cmd invall(uint32_t icid) { return make(its::cmd::kInvall, {{"ICID", icid}}); }
inline Cmd sync(uint64_t rd) { return make(its::cmd::kSync, {{"RDbase", rd}}); }

struct Rig {
  GuestMemory mem;
  std::unique_ptr<arm64::Redistributors> rds;
  std::unique_ptr<its::Its> its;
  uint64_t wr = 0;  // next queue offset software writes

  explicit Rig(its::ItsConfig cfg = {}, unsigned cpus = 2, bool setup = true) {
    REQUIRE(mem.add_ram(kRam, 0x100'0000, "ram"));
    rds = std::make_unique<arm64::Redistributors>(mem, cpus);
    its = std::make_unique<its::Its>(mem, *rds, cfg);
    rds->set_on_enable_change([this](uint32_t, bool on) {
      if (!on) its->invalidate_all();
    });
    for (unsigned n = 0; n < cpus; ++n) enable_lpis(n);
    if (setup) {
      flat_tables();
      enable();
    }
  }
  void enable_lpis(unsigned cpu) {
    const uint64_t f = cpu * arm64::gicr::kFrameSize;
    rds->mmio_write(f + arm64::gicr::PROPBASER, 8, kProp | 15);
    rds->mmio_write(f + arm64::gicr::PENDBASER, 8, (kPend + cpu * 0x1'0000) | (1ull << 62));
    rds->mmio_write(f + arm64::gicr::CTLR, 4, 1);
  }
  // LPI config byte; INV/INVALL or EnableLPIs makes the redistributor read it.
  void lpi_config(uint32_t intid, uint8_t prio, bool enable) {
    REQUIRE(mem.write8(kProp + intid - 8192, uint8_t(prio | 2 | (enable ? 1 : 0))));
  }
  void baser(unsigned n, uint64_t v) { its->mmio_write(its::reg::GITS_BASER + 8 * n, 8, v); }
  // BASER0/1 flat, 64 KiB pages, one page each; CBASER 4 KiB.
  void flat_tables() {
    baser(0, kDevTable | (2ull << 8) | (1ull << 63));
    baser(1, kColTable | (2ull << 8) | (1ull << 63));
    its->mmio_write(its::reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  }
  void enable() { its->mmio_write(its::reg::GITS_CTLR, 4, 1); }
  // Writes commands at the software write pointer and publishes them with CWRITER.
  void run(std::initializer_list<Cmd> cmds) {
    for (const Cmd& c : cmds) {
      for (unsigned i = 0; i < 4; ++i) REQUIRE(mem.write64(kQueue + wr + 8 * i, c[i]));
      wr = (wr + 32) % 4096;
    }
    its->mmio_write(its::reg::GITS_CWRITER, 8, wr);
  }
  Translation msi(uint32_t dev, uint32_t ev) {
    return its->translate(MsiWrite{kTranslater, ev, dev});
  }
  // Device `dev` with 2^(size+1) events, collection `icid` on `rd`, event -> lpi.
  void map_one(uint32_t dev, uint32_t ev, uint32_t lpi, uint32_t icid = 0, uint32_t rd = 0,
               unsigned size = 4) {
    lpi_config(lpi, 0x80, true);
    run({mapd(dev, size, kItt + dev * 0x1000), mapc(icid, rd), mapti(dev, ev, lpi, icid),
         make(its::cmd::kInv, {{"DeviceID", dev}, {"EventID", ev}})});
  }
  bool pending(uint32_t rd, uint32_t lpi) const { return (*rds)[rd].is_pending(lpi); }
  its::ItsError last_error() const {
    REQUIRE(!its->errors().empty());
    return its->errors().back().code;
  }
};

inline bool delivered(const Translation& t, uint32_t rd, uint32_t lpi) {
  auto* d = std::get_if<LpiDelivery>(&t);
  return d != nullptr && d->rd == rd && d->intid == lpi;
}
inline std::optional<Blocked> blocked(const Translation& t) {
  if (auto* b = std::get_if<Blocked>(&t)) return *b;
  return std::nullopt;
}

}  // namespace its_test
