// Field tables of the GICv3 ITS: the 12 physical commands, the ITS registers, the
// irqremap DTE/ITE/CTE layouts, the level-1 entry, GICR_PROPBASER/PENDBASER and the LPI
// configuration byte. Vectors are computed by hand from Arm IHI0069 §5.3 (commands),
// §12.19 (ITS registers), §5.2 (tables) and §5.1, §12.11.29-§12.11.30 (LPI tables,
// GICR_PENDBASER/PROPBASER).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "remap/fields.h"
#include "remap/formats.h"
#include "remap/its/command_format.h"
#include "remap/its/formats.h"
#include "remap/its/lpi_format.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"

using namespace irqremap;
using namespace irqremap::fields;
using V = std::vector<std::pair<std::string, uint64_t>>;

TEST_CASE("its formats: every field of every ITS format round-trips through encode/decode") {
  unsigned formats_checked = 0;
  for (const Format* f : its::formats()) {
    if (f->select != nullptr) continue;  // the family has no fields of its own
    // Two patterns per field: all ones and a walking value, each address aligned.
    for (int pattern = 0; pattern < 2; ++pattern) {
      V as;
      for (const Field& fl : f->fields) {
        if (fl.access == Access::Rsvd || fl.access == Access::Fixed) continue;
        uint64_t raw = pattern == 0 ? bits::mask(fl.width() - 1, 0)
                                    : (0x5A5A5A5A5A5A5A5Aull & bits::mask(fl.width() - 1, 0));
        // Fields with enumerations: pick a defined, non-reserved label.
        if (!fl.labels.empty()) {
          raw = fl.labels.front().value;
          for (const EnumLabel& l : fl.labels)
            if (!l.label.starts_with("reserved")) raw = l.value;
        }
        as.emplace_back(std::string(fl.name), fl.is_address() ? raw << fl.addr_shift : raw);
      }
      auto w = encode(*f, as);
      REQUIRE_MESSAGE(w.has_value(), f->name, ": ", w.error());
      const Decoded d = decode(*f, *w);
      CHECK_MESSAGE(d.ok(), f->name);
      for (const auto& [name, value] : as) {
        const Field* fl = nullptr;
        for (const Field& x : f->fields)
          if (x.name == name) fl = &x;
        REQUIRE(fl != nullptr);
        CHECK_MESSAGE(d.get(name) == (fl->is_address() ? value >> fl->addr_shift : value),
                      f->name, ".", name);
      }
      // Decoding through the family gives the same member for commands.
      if (f->bits == 256 && f != &its::cmd::kCommand) {
        CHECK(decode(its::cmd::kCommand, *w).format == f);
      }
    }
    ++formats_checked;
  }
  CHECK(formats_checked == its::formats().size() - 1);
  CHECK(formats_checked == 25);
}

TEST_CASE("its formats: MAPD vector matches IHI0069 §5.3.8 (DeviceID DW0[63:32], Size DW1[4:0], ITT_addr DW2[51:8], V DW2[63])") {
  auto w = encode(its::cmd::kMapd, V{{"DeviceID", 2}, {"Size", 4}, {"ITT_addr", 0x40010000}, {"V", 1}});
  REQUIRE(w);
  CHECK((*w)[0] == 0x0000000200000008ull);
  CHECK((*w)[1] == 4);
  CHECK((*w)[2] == 0x8000000040010000ull);
  CHECK((*w)[3] == 0);
  auto bad = encode(its::cmd::kMapd, V{{"ITT_addr", 0x40010080}});
  REQUIRE(!bad);
  CHECK(bad.error().find("not aligned to 256 bytes") != std::string::npos);
}

TEST_CASE("its formats: MAPC, MAPTI, MOVALL and SYNC vectors match IHI0069 §5.3") {
  auto mapc = encode(its::cmd::kMapc, V{{"ICID", 1}, {"RDbase", 3}, {"V", 1}});
  REQUIRE(mapc);
  CHECK((*mapc)[0] == 0x09);
  CHECK((*mapc)[2] == (0x8000000000000000ull | (3ull << 16) | 1));
  auto mapti = encode(its::cmd::kMapti, V{{"DeviceID", 2}, {"EventID", 3}, {"pINTID", 8195}, {"ICID", 1}});
  REQUIRE(mapti);
  CHECK((*mapti)[0] == 0x000000020000000Aull);
  CHECK((*mapti)[1] == 0x0000200300000003ull);
  CHECK((*mapti)[2] == 1);
  auto movall = encode(its::cmd::kMovall, V{{"RDbase1", 1}, {"RDbase2", 2}});
  REQUIRE(movall);
  CHECK((*movall)[0] == 0x0E);
  CHECK((*movall)[2] == 0x10000);
  CHECK((*movall)[3] == 0x20000);
  auto sync = encode(its::cmd::kSync, V{{"RDbase", 0x80A0}});
  REQUIRE(sync);
  CHECK((*sync)[2] == 0x80A00000ull);
  // Opcode of every member sits in DW0[7:0].
  for (uint8_t op : {0x01, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F}) {
    const Format* f = its::cmd::format_for(op);
    REQUIRE(f != nullptr);
    auto e = encode(*f, V{});
    REQUIRE(e);
    CHECK(((*e)[0] & 0xFF) == op);
    CHECK(its::cmd::opcode_by_name(its::cmd::opcode_name(op)) == its::cmd::Opcode(op));
  }
}

TEST_CASE("its formats: reserved command bits are flagged (IHI0069 §5.3: RES0)") {
  auto w = encode(its::cmd::kMapd, V{{"DeviceID", 1}, {"V", 1}});
  REQUIRE(w);
  (*w)[1] |= 1ull << 10;  // DW1[63:5] is RES0 in MAPD
  const Decoded d = decode(its::cmd::kCommand, *w);
  CHECK(d.format == &its::cmd::kMapd);
  REQUIRE(d.problems.size() == 1);
  CHECK(d.has_problem_with("Rsvd"));
  (*w)[1] &= ~(1ull << 10);
  (*w)[3] = 1;  // DW3 unused
  CHECK(!decode(its::cmd::kCommand, *w).ok());
}

TEST_CASE("its formats: an unknown opcode is flagged by the its-cmd family") {
  const std::array<uint64_t, 4> w{0x02, 0, 0, 0};
  const Decoded d = decode(its::cmd::kCommand, w);
  REQUIRE(d.has_problem_with("Opcode"));
  bool found = false;
  for (const Problem& p : d.problems) found |= p.message.find("unknown opcode 0x02") != std::string::npos;
  CHECK(found);
  const std::array<uint64_t, 4> vmapti{0x2A, 0, 0, 0};  // GICv4: not modelled
  CHECK(decode(its::cmd::kCommand, vmapti).has_problem_with("Opcode"));
  CHECK(find_format("its-cmd") == &its::cmd::kCommand);
}

TEST_CASE("its formats: GITS_TYPER QEMU-like value decodes field by field (IHI0069 §12.19.12)") {
  // Physical=1, ITT_entry_size=11, IDbits=15, Devbits=15, CIL=1, CIDbits=15.
  const uint64_t typer = 1 | (0xBull << 4) | (15ull << 8) | (15ull << 13) | (15ull << 32) | (1ull << 36);
  const std::array<uint64_t, 1> w{typer};
  const Decoded d = decode(its::reg::kTyper, w);
  CHECK(d.ok());
  CHECK(d.get("ITT_entry_size") == 11);
  CHECK(d.get("IDbits") == 15);
  CHECK(d.get("Devbits") == 15);
  CHECK(d.get("CIDbits") == 15);
  CHECK(d.get("CIL") == 1);
  CHECK(d.get("PTA") == 0);
  const std::array<uint64_t, 1> bad{typer | (1ull << 50)};
  CHECK(decode(its::reg::kTyper, bad).has_problem_with("Rsvd"));
}

TEST_CASE("its formats: GITS_BASER type, page size and entry size decode (IHI0069 §12.19.1)") {
  // QEMU reset BASER0: Type=Devices, Entry_Size=8-1, Page_Size=64K.
  const uint64_t baser = (1ull << 56) | (7ull << 48) | (2ull << 8);
  const std::array<uint64_t, 1> w{baser};
  const Decoded d = decode(its::reg::kBaser, w);
  CHECK(d.ok());
  CHECK(explain(d).find("Devices") != std::string::npos);
  CHECK(explain(d).find("64 KiB") != std::string::npos);
  const std::array<uint64_t, 1> bad{baser | (3ull << 8)};
  CHECK(decode(its::reg::kBaser, bad).has_problem_with("Page_Size"));
  CHECK(its::reg::page_bytes(0) == 4096);
  CHECK(its::reg::page_bytes(1) == 16384);
  CHECK(its::reg::page_bytes(2) == 65536);
}

TEST_CASE("its formats: CBASER/CWRITER/CREADR offsets are 32-byte granules (IHI0069 §12.19.2-§12.19.5)") {
  auto cw = encode(its::reg::kCwriter, V{{"Offset", 0x60}});
  REQUIRE(cw);
  CHECK((*cw)[0] == 0x60);
  CHECK(!encode(its::reg::kCwriter, V{{"Offset", 0x70}}));
  auto cb = encode(its::reg::kCbaser, V{{"Size", 0}, {"Physical_Address", 0x40020000}, {"Valid", 1}});
  REQUIRE(cb);
  CHECK((*cb)[0] == 0x8000000040020000ull);
  const std::array<uint64_t, 1> stalled{0x41};
  const Decoded d = decode(its::reg::kCreadr, stalled);
  CHECK(d.get("Stalled") == 1);
  CHECK(d.get("Offset") == 2);
}

TEST_CASE("its formats: DTE/ITE/CTE layouts and the level-1 entry (IHI0069 §5.2.1)") {
  auto dte = encode(its::table::kDte, V{{"Valid", 1}, {"Size", 4}, {"ITT_addr", 0x40010000}});
  REQUIRE(dte);
  CHECK((*dte)[0] == (1 | (4 << 1) | ((0x40010000ull >> 8) << 6)));
  auto ite = encode(its::table::kIte, V{{"Valid", 1}, {"IntType", 1}, {"pINTID", 8195}, {"ICID", 1}});
  REQUIRE(ite);
  CHECK((*ite)[0] == (3 | (8195ull << 2) | (1ull << 32)));
  CHECK((*ite)[1] == 0);
  const std::array<uint64_t, 2> ite_over{(*ite)[0], 1ull << 40};  // above bit 95
  CHECK(!decode(its::table::kIte, ite_over).ok());
  auto cte = encode(its::table::kCte, V{{"Valid", 1}, {"RDbase", 5}});
  REQUIRE(cte);
  CHECK((*cte)[0] == 0xB);
  auto l1 = encode(its::table::kL1, V{{"Valid", 1}, {"Physical_Address", 0x40100000}});
  REQUIRE(l1);
  CHECK((*l1)[0] == 0x8000000040100000ull);
  const std::array<uint64_t, 1> l1bad{(*l1)[0] | 0x10};
  CHECK(decode(its::table::kL1, l1bad).has_problem_with("Rsvd"));
}

TEST_CASE("its formats: GICR_PROPBASER/PENDBASER and the LPI configuration byte (IHI0069 §12.11, §5.1.1)") {
  auto prop = encode(its::lpi::kPropbaser, V{{"IDbits", 15}, {"Physical_Address", 0x40200000}});
  REQUIRE(prop);
  CHECK((*prop)[0] == 0x4020000Full);
  auto pend = encode(its::lpi::kPendbaser, V{{"PTZ", 1}, {"Physical_Address", 0x40300000}});
  REQUIRE(pend);
  CHECK((*pend)[0] == 0x4000000040300000ull);
  CHECK(!encode(its::lpi::kPendbaser, V{{"Physical_Address", 0x40301000}}));  // 64 KiB aligned
  auto cfg = encode(its::lpi::kConfig, V{{"Enable", 1}, {"RES1", 1}, {"Priority", 0xA0 >> 2}});
  REQUIRE(cfg);
  CHECK((*cfg)[0] == 0xA3);
  const std::array<uint64_t, 1> wide{0x1A3};
  CHECK(!decode(its::lpi::kConfig, wide).ok());
}
