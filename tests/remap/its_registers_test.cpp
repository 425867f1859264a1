// ITS register file (Arm IHI0069 §12.19).
#include "tests/remap/its_rig.h"

using namespace its_test;
using namespace irqremap::its;

TEST_CASE("its regs: GITS_TYPER defaults are QEMU's and follow ItsConfig (§12.19.12)") {
  Rig r({}, 1, false);
  const uint64_t t = r.its->mmio_read(reg::GITS_TYPER, 8);
  CHECK(fields::get(t, reg::TYPER_Physical) == 1);
  CHECK(fields::get(t, reg::TYPER_ITT_entry_size) == 11);
  CHECK(fields::get(t, reg::TYPER_IDbits) == 15);
  CHECK(fields::get(t, reg::TYPER_Devbits) == 15);
  CHECK(fields::get(t, reg::TYPER_CIL) == 1);
  CHECK(fields::get(t, reg::TYPER_CIDbits) == 15);
  CHECK(fields::get(t, reg::TYPER_PTA) == 0);
  ItsConfig c;
  c.devbits = 10;
  c.idbits = 8;
  c.cil = false;
  c.pta = true;
  Rig q(c, 1, false);
  const uint64_t u = q.its->mmio_read(reg::GITS_TYPER, 8);
  CHECK(fields::get(u, reg::TYPER_Devbits) == 9);
  CHECK(fields::get(u, reg::TYPER_IDbits) == 7);
  CHECK(fields::get(u, reg::TYPER_CIL) == 0);
  CHECK(fields::get(u, reg::TYPER_PTA) == 1);
  // 32-bit halves.
  CHECK((q.its->mmio_read(reg::GITS_TYPER, 4) | q.its->mmio_read(reg::GITS_TYPER + 4, 4) << 32) == u);
  CHECK(r.its->mmio_read(reg::GITS_IIDR, 4) == 0x43B);
  CHECK((r.its->mmio_read(reg::GITS_PIDR2, 4) >> 4 & 0xF) == 3);
  CHECK(r.its->mmio_read(reg::GITS_CTLR, 4) == 0x8000'0000u);  // Quiescent, disabled
}

TEST_CASE("its regs: GITS_BASER Type/Entry_Size are RO, Page_Size resets to 64K, BASER2..7 RAZ/WI (§12.19.1)") {
  Rig r({}, 1, false);
  const uint64_t b0 = r.its->mmio_read(reg::GITS_BASER, 8);
  CHECK(fields::get(b0, reg::BASER_Type) == 1);
  CHECK(fields::get(b0, reg::BASER_Entry_Size) == 7);
  CHECK(fields::get(b0, reg::BASER_Page_Size) == 2);
  CHECK(fields::get(r.its->mmio_read(reg::GITS_BASER + 8, 8), reg::BASER_Type) == 4);
  // Software tries to change Type and Entry_Size: they stick at their values.
  r.baser(0, (7ull << 56) | (31ull << 48) | (1ull << 8) | kDevTable | (1ull << 62) | (1ull << 63));
  const uint64_t w = r.its->mmio_read(reg::GITS_BASER, 8);
  CHECK(fields::get(w, reg::BASER_Type) == 1);
  CHECK(fields::get(w, reg::BASER_Entry_Size) == 7);
  CHECK(fields::get(w, reg::BASER_Page_Size) == 1);
  CHECK(fields::get(w, reg::BASER_Indirect) == 1);
  CHECK((fields::get(w, reg::BASER_Physical_Address) << 12) == kDevTable);
  for (unsigned n = 2; n < 8; ++n) {
    r.baser(n, ~uint64_t{0});
    CHECK(r.its->mmio_read(reg::GITS_BASER + 8 * n, 8) == 0);
  }
  // Shareability and cacheability stick (Linux checks the read-back).
  r.baser(1, kColTable | (1ull << 10) | (5ull << 59) | (2ull << 8) | (1ull << 63));
  CHECK(r.its->mmio_read(reg::GITS_BASER + 8, 8) ==
        ((4ull << 56) | (7ull << 48) | kColTable | (1ull << 10) | (5ull << 59) | (2ull << 8) | (1ull << 63)));
}

TEST_CASE("its regs: 64-bit registers accept 32-bit halves (Unicorn splits 64-bit MMIO)") {
  Rig r({}, 1, false);
  const uint64_t cb = kQueue | (1ull << 63) | 1;
  r.its->mmio_write(reg::GITS_CBASER, 4, uint32_t(cb));
  r.its->mmio_write(reg::GITS_CBASER + 4, 4, cb >> 32);
  CHECK(r.its->mmio_read(reg::GITS_CBASER, 8) == cb);
  const uint64_t b = kDevTable | (2ull << 8) | (1ull << 63);
  r.its->mmio_write(reg::GITS_BASER + 4, 4, b >> 32);
  r.its->mmio_write(reg::GITS_BASER, 4, uint32_t(b));
  CHECK(r.its->mmio_read(reg::GITS_BASER, 8) == ((1ull << 56) | (7ull << 48) | b));
  CHECK(r.its->mmio_read(reg::GITS_BASER + 4, 4) == (((1ull << 56) | (7ull << 48) | b) >> 32));
  r.baser(1, kColTable | (2ull << 8) | (1ull << 63));
  r.enable();
  // CWRITER through its low half: commands run.
  r.lpi_config(8192, 0x80, true);
  const Cmd cmds[] = {mapd(1, 4, kItt), mapc(0, 0), mapti(1, 0, 8192, 0)};
  for (unsigned k = 0; k < 3; ++k)
    for (unsigned i = 0; i < 4; ++i) REQUIRE(r.mem.write64(kQueue + 32 * k + 8 * i, cmds[k][i]));
  r.its->mmio_write(reg::GITS_CWRITER + 4, 4, 0);
  r.its->mmio_write(reg::GITS_CWRITER, 4, 96);
  CHECK(r.its->mmio_read(reg::GITS_CREADR, 4) == 96);
  CHECK(r.its->mmio_read(reg::GITS_CREADR + 4, 4) == 0);
  CHECK(delivered(r.msi(1, 0), 0, 8192));
}

TEST_CASE("its regs: CBASER/BASER are latched and read-only while Enabled=1; writing CBASER zeroes CREADR") {
  Rig r;
  r.run({sync(0), sync(0)});
  CHECK(r.its->creadr() == 64);
  const uint64_t b0 = r.its->mmio_read(reg::GITS_BASER, 8);
  r.baser(0, 0);
  CHECK(r.its->mmio_read(reg::GITS_BASER, 8) == b0);
  r.its->mmio_write(reg::GITS_CBASER, 8, 0);
  CHECK((r.its->mmio_read(reg::GITS_CBASER, 8) >> 63) == 1);
  r.its->mmio_write(reg::GITS_CTLR, 4, 0);
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  CHECK(r.its->mmio_read(reg::GITS_CREADR, 8) == 0);
}

TEST_CASE("its regs: CWRITER write runs the queue synchronously: CREADR == CWRITER on return (§5.2)") {
  Rig r;
  r.run({sync(0), sync(1), sync(0)});
  CHECK(r.its->mmio_read(reg::GITS_CREADR, 8) == 96);
  CHECK(r.its->mmio_read(reg::GITS_CWRITER, 8) == 96);
  CHECK(r.its->commands_processed() == 3);
  CHECK(r.its->error_count() == 0);
}

TEST_CASE("its regs: commands written before Enabled=1 run when the ITS is enabled") {
  Rig r({}, 1, false);
  r.flat_tables();
  r.run({sync(0), sync(0)});
  CHECK(r.its->creadr() == 0);
  r.enable();
  CHECK(r.its->creadr() == 64);
}

TEST_CASE("its regs: queue wraps from the last slot to offset 0 (§5.2 command queue)") {
  Rig r;
  r.lpi_config(8200, 0x80, true);
  r.run({mapd(3, 4, kItt), mapc(0, 1), mapti(3, 1, 8200, 0)});
  // Fill up to the end (128 slots), then wrap and INT past offset 0.
  std::vector<Cmd> fill(125, sync(0));
  for (const Cmd& c : fill) r.run({c});
  CHECK(r.its->creadr() == 0);
  r.run({dev_event(cmd::kInt, 3, 1), sync(1)});
  CHECK(r.its->creadr() == 64);
  CHECK(r.pending(1, 8200));
  CHECK(r.its->error_count() == 0);
}

TEST_CASE("its regs: a CWRITER offset beyond the queue processes nothing and is reported") {
  Rig r;
  RecordingSink sink;
  r.its->trace().attach(&sink);
  r.its->mmio_write(reg::GITS_CWRITER, 8, 0x2000);  // queue is 4 KiB
  CHECK(r.its->creadr() == 0);
  CHECK(r.last_error() == ItsError::IRQREMAP_CWRITER_OOR);
  CHECK(sink.contains(EventKind::CommandError, "beyond the"));
}

TEST_CASE("its regs: GITS_TRANSLATER takes 16/32-bit writes with DeviceID 0 (QEMU); 8-bit writes are ignored") {
  Rig r;
  r.map_one(0, 5, 8300);
  r.its->mmio_write(reg::GITS_TRANSLATER, 1, 5);
  CHECK(!r.pending(0, 8300));
  r.its->mmio_write(reg::GITS_TRANSLATER, 4, 5);
  CHECK(r.pending(0, 8300));
  (*r.rds)[0].clear_pending(8300);
  r.its->mmio_write(reg::GITS_TRANSLATER, 2, 5);
  CHECK(r.pending(0, 8300));
}

TEST_CASE("its regs: register writes are traced with the register name and decoded fields") {
  Rig r({}, 1, false);
  RecordingSink sink;
  r.its->trace().attach(&sink);
  r.its->mmio_write(reg::GITS_CBASER, 8, kQueue | (1ull << 63));
  r.its->mmio_write(reg::GITS_BASER + 8, 4, 0x1234);
  CHECK(sink.contains(EventKind::RegWrite,
                      "write GITS_CBASER size 8 = 0x8000000040000000 Physical_Address=0x40000000 Valid=0x1"));
  CHECK(sink.contains(EventKind::RegWrite, "write GITS_BASER1 size 4 = 0x1234"));
}

TEST_CASE("its regs: out-of-range ItsConfig knobs are clamped to what GITS_TYPER can hold") {
  ItsConfig c;
  c.devbits = 0;
  c.idbits = 99;
  c.cidbits = 40;
  Rig r(c, 1, false);
  CHECK(r.its->config().devbits == 1);
  CHECK(r.its->config().idbits == 32);
  CHECK(r.its->config().cidbits == 16);
  CHECK(fields::get(r.its->typer(), reg::TYPER_IDbits) == 31);
}
