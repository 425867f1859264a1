// VT-d register, descriptor and posted-descriptor field tables (issue 2, "Field tables"):
// round trips over every field, vectors computed by hand from the Intel VT-d spec,
// reserved bits, and `irqremap explain` over each table.
#include <doctest/doctest.h>

#include <array>
#include <sstream>

#include "remap/fields.h"
#include "remap/formats.h"
#include "remap/vtd/cap_format.h"
#include "remap/vtd/fault_format.h"
#include "remap/vtd/formats.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/inv_desc_format.h"
#include "remap/vtd/irta_format.h"
#include "remap/vtd/pid_format.h"
#include "remap/vtd/qi_format.h"
#include "tools/cli.h"

using namespace irqremap;
using namespace irqremap::fields;
using Assign = std::vector<std::pair<std::string, uint64_t>>;

namespace {
// A distinct value that fits each field, so swapped or overlapping fields are caught.
uint64_t pattern_for(const Field& f, unsigned i) {
  uint64_t v = 0x9E3779B97F4A7C15ull * (i + 1);
  if (f.labels.size() > 0) {
    for (const EnumLabel& l : f.labels)
      if (l.label != "reserved") v = l.value;  // the last defined encoding
  }
  v &= bits::mask(f.width() - 1, 0);
  if (v == 0) v = 1;
  return v;
}
}  // namespace

TEST_CASE("vtd formats: encode/decode round trip of every field of every VT-d table") {
  for (const Format* f : vtd::formats()) {
    if (f->select) continue;  // a family; its members are listed themselves
    Assign as;
    std::vector<std::pair<const Field*, uint64_t>> want;
    unsigned i = 0;
    for (const Field& fl : f->fields) {
      ++i;
      if (fl.access == Access::Rsvd || fl.access == Access::Fixed) continue;
      uint64_t v = pattern_for(fl, i);
      as.emplace_back(std::string(fl.name), fl.is_address() ? v << fl.addr_shift : v);
      want.emplace_back(&fl, v);
    }
    auto w = encode(*f, as);
    REQUIRE_MESSAGE(w.has_value(), f->name << ": " << (w ? "" : w.error()));
    CHECK(w->size() == f->words());
    const Decoded d = decode(*f, *w, Context{.eime = true});
    for (auto& [fl, v] : want) CHECK_MESSAGE(fields::get(*w, *fl) == v, f->name << "." << fl->name);
    for (auto& [fl, v] : want) CHECK_MESSAGE(d.get(fl->name) == v, f->name << "." << fl->name);
    for (const Problem& p : d.problems)
      CHECK_MESSAGE(p.field == "FR", f->name << ": " << p.message);  // FR enumerates only IR reasons
  }
}

TEST_CASE("vtd formats: IRTA = base | EIME<<11 | S, as Linux writes it (VT-d §11.4.10)") {
  // Linux iommu_set_irq_remapping: phys | EIME<<11 | 0xF.
  auto w = encode(vtd::irta::kIrta, Assign{{"IRTA", 0x12345000}, {"EIME", 1}, {"S", 0xF}});
  REQUIRE(w);
  CHECK((*w)[0] == 0x1234580Full);
  CHECK(vtd::irta::entries((*w)[0]) == 65536);
  CHECK(vtd::irta::entries(0) == 2);
  const Decoded d = decode(vtd::irta::kIrta, std::array<uint64_t, 1>{0x12345010});
  CHECK(d.has_problem_with("Rsvd"));  // bit 4 is RsvdZ
}

TEST_CASE("vtd formats: GCMD/GSTS bit positions TE 31 ... CFI 23 (VT-d §11.4.4-5)") {
  CHECK((*encode(vtd::gcmd::kGcmd, Assign{{"SIRTP", 1}}))[0] == 0x01000000);
  CHECK((*encode(vtd::gcmd::kGcmd, Assign{{"IRE", 1}}))[0] == 0x02000000);
  CHECK((*encode(vtd::gcmd::kGcmd, Assign{{"QIE", 1}}))[0] == 0x04000000);
  CHECK((*encode(vtd::gcmd::kGcmd, Assign{{"CFI", 1}}))[0] == 0x00800000);
  CHECK((*encode(vtd::gcmd::kGcmd, Assign{{"TE", 1}}))[0] == 0x80000000);
  CHECK((*encode(vtd::gcmd::kGsts, Assign{{"IRES", 1}, {"IRTPS", 1}}))[0] == 0x03000000);
  // The one-shot mask clears SRTP, SFL, WBF, SIRTP (bits 30, 29, 27, 24).
  CHECK((~vtd::gcmd::kOneShotMask & 0xFFFFFFFFu) == ((1u << 30) | (1u << 29) | (1u << 27) | (1u << 24)));
  CHECK(decode(vtd::gcmd::kGcmd, std::array<uint64_t, 1>{0x1}).has_problem_with("Rsvd"));
}

TEST_CASE("vtd formats: FSTS PFO 0, PPF 1, IQE 4, FRI 15:8; FECTL IM 31, IP 30 (VT-d §11.4.6)") {
  CHECK((*encode(vtd::fault::kFsts, Assign{{"PPF", 1}, {"FRI", 2}}))[0] == 0x0202);
  CHECK((*encode(vtd::fault::kFsts, Assign{{"IQE", 1}, {"PFO", 1}}))[0] == 0x11);
  CHECK((*encode(vtd::fault::kFectl, Assign{{"IM", 1}}))[0] == 0x80000000);
  CHECK((*encode(vtd::fault::kFectl, Assign{{"IP", 1}}))[0] == 0x40000000);
  CHECK(decode(vtd::fault::kFsts, std::array<uint64_t, 1>{0x80}).has_problem_with("Rsvd"));
  CHECK(decode(vtd::fault::kFectl, std::array<uint64_t, 1>{0x1}).has_problem_with("Rsvd"));
  CHECK(decode(vtd::fault::kFeaddr, std::array<uint64_t, 1>{0xFEE00001}).has_problem_with("Rsvd"));
  CHECK((*encode(vtd::fault::kFeaddr, Assign{{"MA", 0xFEE01000}}))[0] == 0xFEE01000);
}

TEST_CASE("vtd formats: FRCD of IR fault 22h at index 5, SID 00:03.0 (VT-d §11.4.7.6)") {
  // QEMU vtd_report_ir_fault: lo = index << 48, hi = SID | FR << 32; F is bit 127.
  std::array<uint64_t, 2> w{};
  fields::set(w, vtd::fault::FRCD_IR_INDEX, 5);
  fields::set(w, vtd::fault::FRCD_SID, 0x0018);
  fields::set(w, vtd::fault::FRCD_FR, 0x22);
  fields::set(w, vtd::fault::FRCD_F, 1);
  CHECK(w[0] == 0x0005000000000000ull);
  CHECK(w[1] == 0x8000002200000018ull);
  const Decoded d = decode(vtd::fault::kFrcd, w);
  CHECK(d.ok());
  CHECK(explain(d).find("22h IRTE not present") != std::string::npos);
  CHECK(decode(vtd::fault::kFrcd, std::array<uint64_t, 2>{0x800, 0}).has_problem_with("Rsvd"));
}

TEST_CASE("vtd formats: IQA/IQH/IQT/ICS layouts and queue sizes (VT-d §6.5.2, §11.4.9)") {
  CHECK((*encode(vtd::qi::kIqa, Assign{{"IQA", 0x7000}, {"DW", 1}, {"QS", 2}}))[0] == 0x7802);
  CHECK(vtd::qi::entries(0x7000, false) == 256);
  CHECK(vtd::qi::entries(0x7002, false) == 1024);
  CHECK(vtd::qi::entries(0x7002, true) == 512);
  CHECK((*encode(vtd::qi::kIqt, Assign{{"QT", 3}}))[0] == 0x30);
  CHECK(decode(vtd::qi::kIqt, std::array<uint64_t, 1>{0x38}).has_problem_with("Rsvd"));
  CHECK(decode(vtd::qi::kIqa, std::array<uint64_t, 1>{0x7008}).has_problem_with("Rsvd"));
  CHECK((*encode(vtd::qi::kIcs, Assign{{"IWC", 1}}))[0] == 1);
  CHECK(decode(vtd::qi::kIcs, std::array<uint64_t, 1>{2}).has_problem_with("Rsvd"));
}

TEST_CASE("vtd formats: IEC descriptor as Linux qi_flush_iec(0x10, 2) builds it (VT-d §6.5.2.8)") {
  auto w = encode(vtd::inv_desc::kIec, Assign{{"G", 1}, {"IM", 2}, {"IIDX", 0x10}});
  REQUIRE(w);
  CHECK((*w)[0] == 0x0000001010000014ull);
  CHECK((*w)[1] == 0);
  CHECK(vtd::inv_desc::type_of((*w)[0]) == 4);
  // QEMU's VTD_INV_DESC_IEC_RSVD mask is exactly our reserved bits plus Type[6:4].
  CHECK((reserved_mask(vtd::inv_desc::kIecFields, 0) | 0xE00) == (0xffff000007fff1e0ull | 0xE00));
  CHECK(decode(vtd::inv_desc::kIec, std::array<uint64_t, 2>{0x24, 0}).has_problem_with("Rsvd"));
  CHECK(decode(vtd::inv_desc::kIec, std::array<uint64_t, 2>{0x5, 0}).has_problem_with("Type"));
}

TEST_CASE("vtd formats: wait descriptor as Linux qi_submit_sync builds it (VT-d §6.5.2.9)") {
  auto w = encode(vtd::inv_desc::kWait,
                  Assign{{"SW", 1}, {"Status Data", 1}, {"Status Address", 0x12340}});
  REQUIRE(w);
  CHECK((*w)[0] == 0x0000000100000025ull);
  CHECK((*w)[1] == 0x12340);
  auto iff = encode(vtd::inv_desc::kWait, Assign{{"IF", 1}, {"FN", 1}});
  CHECK((*iff)[0] == 0x55);
  CHECK(decode(vtd::inv_desc::kWait, std::array<uint64_t, 2>{0x5, 0x1}).has_problem_with("Rsvd"));
  CHECK(decode(vtd::inv_desc::kWait, std::array<uint64_t, 2>{0x1005, 0}).has_problem_with("Rsvd"));
}

TEST_CASE("vtd formats: CAP FRO/NFR/PI and ECAP QI/IR/EIM/MHMV/SMTS positions (VT-d §11.4.2-3)") {
  CHECK((*encode(vtd::cap::kCap, Assign{{"FRO", 0x22}, {"NFR", 3}, {"PI", 1}}))[0] ==
        ((0x22ull << 24) | (3ull << 40) | (1ull << 59)));
  CHECK((*encode(vtd::cap::kEcap, Assign{{"QI", 1}, {"IR", 1}, {"EIM", 1}, {"MHMV", 0xF}}))[0] ==
        0xF0001Aull);
  CHECK((*encode(vtd::cap::kEcap, Assign{{"SMTS", 1}}))[0] == (1ull << 43));
  // Every CAP bit but the spec's reserved ones, and every ECAP bit, belongs to a named
  // field: a real unit's value is never "reserved".
  CHECK(decode(vtd::cap::kCap, std::array<uint64_t, 1>{0x00d2008c22260206ull}).ok());  // QEMU 7.2's
  CHECK(decode(vtd::cap::kCap, std::array<uint64_t, 1>{1ull << 38}).has_problem_with("Rsvd"));
  CHECK((*encode(vtd::cap::kCap, Assign{{"SAGAW", 2}, {"MGAW", 38}, {"SLLPS", 3}, {"PSI", 1},
                                        {"MAMV", 18}}))[0] == 0x0012008C'00260200ull);
  CHECK(decode(vtd::cap::kEcap, std::array<uint64_t, 1>{~0ull}).ok());
}

TEST_CASE("vtd formats: posted-interrupt descriptor PIR/ON/SN/NV/NDST, 512 bits (VT-d §9.11)") {
  auto w = encode(vtd::pid::kPid, Assign{{"PIR[63:0]", 1ull << 0x31}, {"PIR[255:192]", 1ull << 63},
                                         {"ON", 1}, {"NV", 0xF2}, {"NDST", 0x300}});
  REQUIRE(w);
  REQUIRE(w->size() == 8);
  CHECK((*w)[0] == (1ull << 0x31));
  CHECK((*w)[3] == (1ull << 63));
  CHECK((*w)[4] == (1ull | (0xF2ull << 16) | (0x300ull << 32)));
  CHECK(decode(vtd::pid::kPid, *w).ok());
  auto sn = encode(vtd::pid::kPid, Assign{{"SN", 1}});
  CHECK((*sn)[4] == 2);
  std::array<uint64_t, 8> bad{};
  bad[4] = 1ull << 25;  // bit 281: inside 287:280, reserved
  CHECK(decode(vtd::pid::kPid, bad).has_problem_with("Rsvd"));
  bad[4] = 0;
  bad[7] = 1;  // bits 511:320 reserved
  CHECK(decode(vtd::pid::kPid, bad).has_problem_with("Rsvd"));
}

TEST_CASE("vtd formats: `irqremap explain` works for every VT-d table, text and JSON") {
  for (const Format* f : vtd::formats()) {
    std::vector<std::string> args{"explain", std::string(f->name)};
    for (unsigned i = 0; i < f->words(); ++i) args.push_back("0");
    std::ostringstream out, err;
    CHECK_MESSAGE(cli::run(args, out, err) == 0, f->name << ": " << err.str());
    CHECK_MESSAGE(out.str().find(f->title) != std::string::npos, f->name);
    args.push_back("--json");
    std::ostringstream jo, je;
    CHECK_MESSAGE(cli::run(args, jo, je) == 0, f->name << ": " << je.str());
  }
  std::ostringstream out, err;
  CHECK(cli::run(std::vector<std::string>{"explain", "pid", "0", "0"}, out, err) == 2);
}
