// ITS command errors (Arm IHI0069 §5.3, §6.3; codes as Linux arm-gic-v3.h names them)
// under both policies.
#include "tests/remap/its_rig.h"

using namespace its_test;
using namespace irqremap::its;

namespace {
struct Case {
  const char* what;
  ItsError code;
  std::vector<Cmd> cmds;  // the last one fails
};

std::vector<Case> cases() {
  // Baseline state from the fixture: device 1 (Size=4) mapped, event 0 -> LPI 8192 on ICID 0
  // -> RD 0; collection 2 and device 5 are unmapped; device 6 maps event 0 to ICID 3,
  // which is unmapped.
  return {
      {"MAPD DeviceID beyond Devbits", ItsError::E_ITS_MAPD_DEVICE_OOR, {mapd(0x10000, 1, kItt)}},
      {"MAPD Size beyond IDbits", ItsError::E_ITS_MAPD_ITTSIZE_OOR, {mapd(2, 16, kItt)}},
      {"MAPC ICID beyond CIDbits", ItsError::E_ITS_MAPC_COLLECTION_OOR, {mapc(0x8000, 0)}},
      {"MAPC RDbase beyond the PEs", ItsError::E_ITS_MAPC_PROCNUM_OOR, {mapc(1, 7)}},
      {"MAPTI unmapped device", ItsError::E_ITS_MAPTI_UNMAPPED_DEVICE, {mapti(5, 0, 8192, 0)}},
      {"MAPTI DeviceID beyond the table", ItsError::E_ITS_MAPTI_UNMAPPED_DEVICE, {mapti(0x10000, 0, 8192, 0)}},
      {"MAPTI EventID beyond DTE Size", ItsError::E_ITS_MAPTI_ID_OOR, {mapti(1, 32, 8192, 0)}},
      {"MAPTI pINTID below 8192", ItsError::E_ITS_MAPTI_PHYSICALID_OOR, {mapti(1, 1, 8191, 0)}},
      {"MAPTI pINTID beyond 16 bits", ItsError::E_ITS_MAPTI_PHYSICALID_OOR, {mapti(1, 1, 65536, 0)}},
      {"MAPTI ICID beyond the table", ItsError::E_ITS_MAPTI_COLLECTION_OOR, {mapti(1, 1, 8192, 0x9000)}},
      {"MAPI EventID not an LPI", ItsError::E_ITS_MAPTI_PHYSICALID_OOR, {mapi(1, 3, 0)}},
      {"MOVI unmapped event", ItsError::E_ITS_MOVI_UNMAPPED_INTERRUPT, {movi(1, 7, 0)}},
      {"MOVI to unmapped collection", ItsError::E_ITS_MOVI_UNMAPPED_COLLECTION, {movi(1, 0, 2)}},
      {"MOVI from unmapped collection", ItsError::E_ITS_MOVI_UNMAPPED_COLLECTION, {movi(6, 0, 0)}},
      {"INT unmapped event", ItsError::E_ITS_INT_UNMAPPED_INTERRUPT, {dev_event(cmd::kInt, 1, 9)}},
      {"INT unmapped collection", ItsError::E_ITS_INT_UNMAPPED_INTERRUPT, {dev_event(cmd::kInt, 6, 0)}},
      {"CLEAR unmapped device", ItsError::E_ITS_CLEAR_UNMAPPED_INTERRUPT, {dev_event(cmd::kClear, 5, 0)}},
      {"INV event out of range", ItsError::E_ITS_INV_UNMAPPED_INTERRUPT, {dev_event(cmd::kInv, 1, 40)}},
      {"INVALL unmapped collection", ItsError::E_ITS_INVALL_UNMAPPED_COLLECTION, {invall(2)}},
      {"MOVALL RDbase2 beyond the PEs", ItsError::E_ITS_MOVALL_PROCNUM_OOR, {movall(0, 9)}},
      {"MOVALL RDbase1 beyond the PEs", ItsError::E_ITS_MOVALL_PROCNUM_OOR, {movall(9, 0)}},
      {"DISCARD unmapped event", ItsError::E_ITS_DISCARD_UNMAPPED_INTERRUPT, {dev_event(cmd::kDiscard, 1, 3)}},
      {"unknown opcode", ItsError::IRQREMAP_UNKNOWN_COMMAND, {Cmd{0x02, 0, 0, 0}}},
      {"MAPD with an ITT outside RAM is fine; MAPTI into it is a memory error",
       ItsError::IRQREMAP_MEMORY_ERROR, {mapd(3, 1, 0x1000'0000), mapti(3, 0, 8192, 0)}},
  };
}

void baseline(Rig& r) {
  r.map_one(1, 0, 8192, 0, 0);
  r.run({mapd(6, 1, kItt + 0x6000), mapti(6, 0, 8194, 3)});
  REQUIRE(r.its->error_count() == 0);
}
}  // namespace

TEST_CASE("its errors: every architected check gives its E_ITS_* code; skip policy moves CREADR on (QEMU)") {
  for (const Case& c : cases()) {
    CAPTURE(c.what);
    Rig r;
    baseline(r);
    RecordingSink sink;
    r.its->trace().attach(&sink);
    for (const Cmd& cmd : c.cmds) r.run({cmd});
    REQUIRE(r.its->error_count() == 1);
    const CommandErrorRecord& e = r.its->errors().back();
    CHECK(e.code == c.code);
    CHECK(e.command == c.cmds.back());
    CHECK(e.offset == r.wr - 32);
    CHECK(!r.its->stalled());
    CHECK(r.its->creadr() == r.wr);
    CHECK(sink.count(EventKind::CommandError) == 1);
    CHECK(sink.contains(EventKind::CommandError, error_name(c.code)));
    // The ITS still works after the error.
    CHECK(delivered(r.msi(1, 0), 0, 8192));
  }
}

TEST_CASE("its errors: stall policy sets GITS_CREADR.Stalled and stops at the failed command (§6.3)") {
  for (const Case& c : cases()) {
    CAPTURE(c.what);
    ItsConfig cfg;
    cfg.policy = ErrorPolicy::Stall;
    Rig r(cfg);
    baseline(r);
    for (const Cmd& cmd : c.cmds) r.run({cmd});
    const uint64_t failed_at = r.wr - 32;
    CHECK(r.its->error_count() == 1);
    CHECK(r.its->stalled());
    CHECK(r.its->mmio_read(reg::GITS_CREADR, 8) == (failed_at | 1));
    CHECK(r.last_error() == c.code);
    // More commands queue up but do not run.
    r.run({dev_event(cmd::kInt, 1, 0)});
    CHECK(!r.pending(0, 8192));
    CHECK(r.its->creadr() == failed_at);
    // Software replaces the failed command with SYNC and writes CWRITER.Retry.
    const Cmd s = sync(0);
    for (unsigned i = 0; i < 4; ++i) REQUIRE(r.mem.write64(kQueue + failed_at + 8 * i, s[i]));
    r.its->mmio_write(reg::GITS_CWRITER, 8, r.wr | 1);
    CHECK(!r.its->stalled());
    CHECK(r.its->creadr() == r.wr);
    CHECK(r.pending(0, 8192));
    CHECK(r.its->error_count() == 1);
  }
}

TEST_CASE("its errors: a stalled queue restarts when software rewrites GITS_CBASER") {
  ItsConfig cfg;
  cfg.policy = ErrorPolicy::Stall;
  Rig r(cfg);
  r.run({mapc(1, 9)});
  REQUIRE(r.its->stalled());
  // Retry without fixing: the same command fails again.
  r.its->mmio_write(reg::GITS_CWRITER, 8, r.wr | 1);
  CHECK(r.its->stalled());
  CHECK(r.its->error_count() == 2);
  r.its->mmio_write(reg::GITS_CTLR, 4, 0);
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  CHECK(!r.its->stalled());
  CHECK(r.its->creadr() == 0);
  r.its->mmio_write(reg::GITS_CWRITER, 8, 0);  // CWRITER keeps its value (as QEMU)
  r.enable();
  CHECK(r.its->error_count() == 2);
  r.wr = 0;
  r.run({sync(0)});
  CHECK(r.its->creadr() == 32);
}

TEST_CASE("its errors: a command queue outside guest RAM is a memory error, not a crash") {
  Rig r({}, 1, false);
  r.baser(0, kDevTable | (2ull << 8) | (1ull << 63));
  r.baser(1, kColTable | (2ull << 8) | (1ull << 63));
  r.its->mmio_write(reg::GITS_CBASER, 8, 0x1000'0000 | (1ull << 63));
  r.enable();
  r.its->mmio_write(reg::GITS_CWRITER, 8, 64);
  CHECK(r.its->error_count() == 2);
  CHECK(r.last_error() == ItsError::IRQREMAP_MEMORY_ERROR);
  CHECK(r.its->creadr() == 64);
}

TEST_CASE("its errors: a device table outside guest RAM gives errors and drops, never a crash") {
  Rig r({}, 1, false);
  r.baser(0, 0x1000'0000 | (2ull << 8) | (1ull << 63));
  r.baser(1, kColTable | (2ull << 8) | (1ull << 63));
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  r.enable();
  r.run({mapd(1, 1, kItt), mapti(1, 0, 8192, 0), dev_event(cmd::kInt, 1, 0)});
  CHECK(r.its->error_count() == 3);
  auto b = blocked(r.msi(1, 0));
  REQUIRE(b);
  CHECK(b->reason == uint32_t(WalkFail::MemoryError));
}

TEST_CASE("its errors: the kept error list is bounded but the count is not") {
  Rig r;
  std::vector<Cmd> bad(100, invall(9));
  for (unsigned k = 0; k < 12; ++k)
    for (const Cmd& c : bad) r.run({c});
  CHECK(r.its->error_count() == 1200);
  CHECK(r.its->errors().size() == Its::kMaxKeptErrors);
}
