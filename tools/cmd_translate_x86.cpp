// irqremap translate x86: one MSI through a VT-d unit whose interrupt remapping table is
// given on the command line. No CPU: the unit is programmed through its registers the way
// a driver would (IRTA, GCMD.SIRTP, GCMD.IRE, GCMD.CFI) and the delivery or the fault
// comes out. A translation fault is an answer, not an error: the status is 0 either way.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "remap/guest_memory.h"
#include "remap/trace.h"
#include "remap/vtd/apic_bus.h"
#include "remap/vtd/fault_reason.h"
#include "remap/vtd/gcmd_format.h"
#include "remap/vtd/msi_format.h"
#include "remap/vtd/registers.h"
#include "remap/vtd/unit.h"
#include <CLI/CLI.hpp>

#include "tools/cli.h"

namespace irqremap::cli {

namespace {
struct TranslateX86Options {
  unsigned irta_size = 15;
  bool eime = false, cfi = false, json = false, trace = false;
  std::vector<std::string> irtes;
  std::vector<std::string> mems;  // ADDRESS=QWORD, e.g. a posted-interrupt descriptor
  std::string msi, sid;
};

constexpr uint64_t kIrtBase = 0x100000;  // where the table lives in the scratch guest RAM

struct NullBus final : vtd::ApicBus {
  void deliver(const ApicDelivery&) override {}
};

std::pair<std::string, std::string> split(const std::string& text, char sep, std::string_view what) {
  const auto at = text.find(sep);
  if (at == std::string::npos || at == 0 || at + 1 == text.size())
    throw UsageError(fmt::format("{} '{}' must look like {}", what, text,
                                 what == "--irte"  ? "INDEX=LOW:HIGH"
                                 : what == "--mem" ? "ADDRESS=QWORD"
                                                   : "ADDRESS:DATA"));
  return {text.substr(0, at), text.substr(at + 1)};
}

uint16_t parse_sid(const std::string& text) {
  unsigned bus = 0, dev = 0, fn = 0;
  char c1 = 0, c2 = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%x%c%x%c%x%n", &bus, &c1, &dev, &c2, &fn, &used) != 5 ||
      c1 != ':' || c2 != '.' || size_t(used) != text.size() || bus > 0xFF || dev > 0x1F || fn > 7)
    throw UsageError(fmt::format("--sid '{}' must be BB:DD.F (hex bus <= ff, device <= 1f, "
                                 "function <= 7)", text));
  return make_rid(bus, dev, fn);
}

std::string bdf(uint16_t sid) {
  return fmt::format("{:02x}:{:02x}.{:x}", sid >> 8, (sid >> 3) & 0x1F, sid & 7);
}

std::string_view dlm_name(uint8_t dlm) {
  constexpr std::string_view names[] = {"Fixed", "LowPri", "SMI", "reserved",
                                        "NMI",   "INIT",   "reserved", "ExtINT"};
  return names[dlm & 7];
}

nlohmann::json to_json(const Translation& t, const MsiWrite& m) {
  const uint16_t sid = uint16_t(m.source);
  if (const auto* d = std::get_if<ApicDelivery>(&t))
    return {{"result", "delivered"}, {"dest", d->dest}, {"vector", d->vector},
            {"dm", d->dest_logical ? "logical" : "physical"}, {"rh", d->redirection_hint},
            {"dlm", dlm_name(d->delivery_mode)}, {"tm", d->level ? "level" : "edge"},
            {"remapped", d->remapped}};
  if (const auto* p = std::get_if<PostedDelivery>(&t))
    return {{"result", "posted"}, {"descriptor", p->descriptor}, {"vector", p->vector},
            {"notified", p->notified}, {"nv", p->nv}, {"ndst", p->ndst}};
  const auto& b = std::get<Blocked>(t);
  nlohmann::json j = {{"result", "fault"}, {"reason", fmt::format("{:#x}", b.reason)},
                      {"sid", bdf(sid)}, {"recorded", b.recorded}, {"what", b.what}};
  // FRCD.FI carries the index for every reason but 20h and 25h (§11.4.7.6).
  if (vtd::fault_reason::has_index(uint8_t(b.reason)) && vtd::msi::is_remappable(m.address))
    j["index"] = vtd::msi::remappable_index(m.address, m.data).index;
  return j;
}

int translate_x86(const TranslateX86Options& o, Io io) {
  if (o.irta_size > 15) throw UsageError(fmt::format("--irta-size {} is above 15", o.irta_size));
  const uint64_t entries = uint64_t{2} << o.irta_size;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> table;
  for (const std::string& spec : o.irtes) {
    const auto [index_text, value] = split(spec, '=', "--irte");
    const auto [low_text, high_text] = split(value, ':', "--irte");
    const uint64_t index = parse_number_or_throw(index_text, "--irte INDEX");
    if (index >= entries)
      throw UsageError(fmt::format("--irte index {} is outside the {}-entry table (--irta-size {})",
                                   index, entries, o.irta_size));
    if (table.contains(index)) throw UsageError(fmt::format("--irte index {} given twice", index));
    table[index] = {parse_number_or_throw(low_text, "--irte LOW"),
                    parse_number_or_throw(high_text, "--irte HIGH")};
  }
  const auto [addr_text, data_text] = split(o.msi, ':', "--msi");
  const uint64_t address = parse_number_or_throw(addr_text, "--msi ADDRESS");
  const uint64_t data = parse_number_or_throw(data_text, "--msi DATA");
  if (data > 0xFFFFFFFFu) throw UsageError(fmt::format("--msi DATA {:#x} is wider than 32 bits", data));
  const uint16_t sid = o.sid.empty() ? 0 : parse_sid(o.sid);

  GuestMemory mem;
  const uint64_t bytes = (entries * 16 + 0xFFF) & ~uint64_t{0xFFF};
  if (auto r = mem.add_ram(kIrtBase, bytes, "irt"); !r) throw UsageError(r.error());
  for (const std::string& spec : o.mems) {
    const auto [addr_text, value_text] = split(spec, '=', "--mem");
    const uint64_t at = parse_number_or_throw(addr_text, "--mem ADDRESS");
    const uint64_t value = parse_number_or_throw(value_text, "--mem QWORD");
    if (at % 8 != 0) throw UsageError(fmt::format("--mem address {:#x} is not 8-byte aligned", at));
    if (!mem.contains(at, 8))
      if (auto r = mem.add_ram(at & ~uint64_t{0xFFF}, 0x1000, "mem"); !r) throw UsageError(r.error());
    (void)mem.write64(at, value);
  }
  for (const auto& [index, w] : table) {
    (void)mem.write64(kIrtBase + index * 16, w.first);
    (void)mem.write64(kIrtBase + index * 16 + 8, w.second);
  }
  Trace trace;
  RecordingSink sink;
  if (o.trace) trace.attach(&sink);
  NullBus bus;
  vtd::Unit unit(mem, bus, trace, vtd::Config{.nfr = 1});
  const auto gcmd = [&](uint32_t bit) {
    const uint32_t v = uint32_t(unit.mmio_read(vtd::reg::GSTS, 4)) & vtd::gcmd::kOneShotMask;
    unit.mmio_write(vtd::reg::GCMD, 4, v | bit);
  };
  const uint64_t irta = kIrtBase | (o.eime ? 1u << 11 : 0) | o.irta_size;
  unit.mmio_write(vtd::reg::IRTA, 4, irta & 0xFFFFFFFF);
  unit.mmio_write(vtd::reg::IRTA + 4, 4, irta >> 32);
  gcmd(uint32_t(1) << vtd::gcmd::SIRTP.lo);
  gcmd(uint32_t(1) << vtd::gcmd::IRE.lo);
  if (o.cfi) gcmd(uint32_t(1) << vtd::gcmd::CFI.lo);
  if (o.trace) sink.clear();  // show the translation, not the setup

  const MsiWrite m{address, uint32_t(data), sid};
  const Translation t = unit.translate(m);
  if (o.json) {
    nlohmann::json j = to_json(t, m);
    if (o.trace) {
      j["trace"] = nlohmann::json::array();
      for (const Event& e : sink.events) j["trace"].push_back(e.format());
    }
    io.out << j.dump(2) << "\n";
    return 0;
  }
  if (o.trace)
    for (const Event& e : sink.events) io.out << e.format() << "\n";
  io.out << describe(t) << "\n";
  return 0;
}
}  // namespace

void add_translate_x86(CLI::App& translate, Context& ctx) {
  auto o = std::make_shared<TranslateX86Options>();
  CLI::App* sub = translate.add_subcommand(
      "x86", "One MSI through a VT-d unit with the IRTEs given here (IRT at 0x100000)");
  sub->add_option("--irta-size", o->irta_size, "IRTA.S: the table has 2^(S+1) entries (default 15)");
  sub->add_flag("--eime", o->eime, "IRTA.EIME=1: x2APIC destinations, compatibility format blocked");
  sub->add_flag("--cfi", o->cfi, "GCMD.CFI=1: pass compatibility-format MSIs (when EIME=0)");
  sub->add_option("--irte", o->irtes, "INDEX=LOW:HIGH, the IRTE's two 64-bit words (repeatable)");
  sub->add_option("--msi", o->msi, "ADDRESS:DATA of the MSI")->required();
  sub->add_option("--mem", o->mems,
                  "ADDRESS=QWORD: guest RAM contents, e.g. a posted-interrupt descriptor "
                  "(repeatable; each touched 4 KiB page becomes RAM)");
  sub->add_option("--sid", o->sid, "Requester ID BB:DD.F (default 00:00.0)");
  sub->add_flag("--json", o->json, "Print JSON");
  sub->add_flag("--trace", o->trace, "Print the unit's trace of the translation");
  sub->callback([o, &ctx] { ctx.status = translate_x86(*o, ctx.io); });
}

}  // namespace irqremap::cli
