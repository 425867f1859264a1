// irqremap translate arm64: a what-if ITS with no CPU. The commands go through a real
// command queue (GITS_CBASER/CWRITER) of a real ITS in scratch guest memory, with real
// redistributors behind it; every command error is printed; then each --msi
// DeviceID:EventID (optional) is written to GITS_TRANSLATER and the outcome printed.
//
// Scratch memory (64 MiB at 0x4000_0000, QEMU virt's RAM base):
//   0x4000_0000 command queue (64 KiB, 2048 commands)
//   0x4010_0000 device table (flat, 8 x 64 KiB: 65536 DTEs)
//   0x4020_0000 collection table (flat, 8 x 64 KiB)
//   0x4080_0000 LPI configuration table (every LPI enabled, priority 0xA0)
//   0x4090_0000 LPI pending tables, 64 KiB per CPU
//   0x4100_0000 ITTs allocated for MAPD commands that leave ITT_addr out
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "arch/arm64/gicv3_redistributor.h"
#include "arch/arm64/virt_map.h"
#include "remap/its/command_format.h"
#include "remap/its/its.h"
#include "remap/its/register_format.h"
#include "remap/its/table_format.h"
#include <CLI/CLI.hpp>

#include "tools/cli.h"

namespace irqremap::cli {

void add_translate_arm64(CLI::App& translate, Context& ctx);

namespace {

constexpr uint64_t kRam = 0x4000'0000, kRamSize = 0x400'0000;
constexpr uint64_t kQueue = 0x4000'0000, kQueuePages = 16;
constexpr uint64_t kDevTable = 0x4010'0000, kColTable = 0x4020'0000, kTablePages = 8;
constexpr uint64_t kProp = 0x4080'0000, kPend = 0x4090'0000, kIttArea = 0x4100'0000;
constexpr unsigned kMaxCpus = 64;

struct Arm64Options {
  unsigned cpus = 2;
  std::vector<std::string> cmds;
  std::vector<std::string> msis;
  bool json = false;
  bool pta = false;
  std::string policy = "skip";
};

struct ParsedCmd {
  std::string text;
  std::array<uint64_t, 4> words{};
};

// its_idbits: GITS_TYPER.IDbits + 1 of the ITS the commands will reach.
ParsedCmd parse_cmd(const std::string& text, uint64_t& itt_next, unsigned its_idbits) {
  std::istringstream in(text);
  std::string name;
  in >> name;
  if (name.empty()) throw UsageError("--cmd needs a command, e.g. 'MAPD DeviceID=2 Size=4'");
  const auto op = its::cmd::opcode_by_name(name);
  if (!op)
    throw UsageError(fmt::format("unknown ITS command '{}' (MAPD MAPC MAPTI MAPI MOVI MOVALL "
                                 "DISCARD INV INVALL SYNC INT CLEAR)",
                                 name));
  const fields::Format* f = its::cmd::format_for(uint8_t(*op));
  std::vector<std::pair<std::string, uint64_t>> as;
  auto find = [&](std::string_view n) -> std::optional<uint64_t> {
    for (const auto& [k, v] : as)
      if (k.size() == n.size() && std::equal(k.begin(), k.end(), n.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return v;
    return std::nullopt;
  };
  for (std::string a; in >> a;) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(fmt::format("--cmd '{}': '{}' is not NAME=VALUE", text, a));
    as.emplace_back(a.substr(0, eq), parse_number_or_throw(a.substr(eq + 1), a.substr(0, eq)));
  }
  // Defaults: V=1; MAPD Size=7 (256 events) and an ITT allocated in scratch memory.
  if ((*op == its::cmd::Opcode::MAPD || *op == its::cmd::Opcode::MAPC) && !find("V"))
    as.emplace_back("V", 1);
  if (*op == its::cmd::Opcode::MAPD) {
    if (!find("Size")) as.emplace_back("Size", 7);
    const uint64_t size = *find("Size");
    // A Size the ITS refuses (E_ITS_MAPD_ITTSIZE_OOR, IHI0069 §5.3.8) gets no ITT: the
    // ITS's own answer is the one to show, not a scratch-memory shortage of the CLI.
    if (!find("ITT_addr") && find("V") != 0u && size + 1 <= its_idbits) {
      const uint64_t bytes = (uint64_t{1} << std::min<uint64_t>(size + 1, 32)) *
                             its::table::kIteBytes;
      itt_next = (itt_next + 0xFF) & ~uint64_t{0xFF};
      if (itt_next + bytes > kRam + kRamSize)
        throw UsageError(fmt::format("--cmd '{}': no scratch memory left for a {}-byte ITT; "
                                     "give ITT_addr",
                                     text, bytes));
      as.emplace_back("ITT_addr", itt_next);
      itt_next += bytes;
    }
  }
  auto w = fields::encode(*f, as);
  if (!w) throw UsageError(fmt::format("--cmd '{}': {}", text, w.error()));
  ParsedCmd p{text, {}};
  for (unsigned i = 0; i < 4; ++i) p.words[i] = (*w)[i];
  return p;
}

std::pair<uint32_t, uint32_t> parse_msi(const std::string& s) {
  const auto colon = s.find(':');
  if (colon == std::string::npos)
    throw UsageError(fmt::format("--msi '{}' is not DeviceID:EventID", s));
  const uint64_t dev = parse_number_or_throw(s.substr(0, colon), "--msi DeviceID");
  const uint64_t ev = parse_number_or_throw(s.substr(colon + 1), "--msi EventID");
  if (dev > 0xFFFF'FFFFu || ev > 0xFFFF'FFFFu)
    throw UsageError(fmt::format("--msi '{}': DeviceID and EventID are 32-bit", s));
  return {uint32_t(dev), uint32_t(ev)};
}

int translate_arm64(const Arm64Options& o, Io io) {
  if (o.cpus == 0 || o.cpus > kMaxCpus)
    throw UsageError(fmt::format("--cpus {} must be 1..{}", o.cpus, kMaxCpus));
  if (o.policy != "skip" && o.policy != "stall")
    throw UsageError(fmt::format("--policy '{}' must be skip or stall", o.policy));
  if (o.msis.empty() && o.cmds.empty())
    throw UsageError("translate arm64 needs --cmd COMMAND or --msi DeviceID:EventID");
  if (o.cmds.size() > kQueuePages * 4096 / 32 - 1)
    throw UsageError("too many --cmd for the scratch command queue");
  uint64_t itt_next = kIttArea;
  its::ItsConfig cfg;
  std::vector<ParsedCmd> cmds;
  for (const std::string& c : o.cmds) cmds.push_back(parse_cmd(c, itt_next, cfg.idbits));
  std::vector<std::pair<uint32_t, uint32_t>> msis;
  for (const std::string& m : o.msis) msis.push_back(parse_msi(m));

  GuestMemory mem;
  if (auto r = mem.add_ram(kRam, kRamSize, "scratch"); !r) throw std::runtime_error(r.error());
  arm64::Redistributors rds(mem, o.cpus);
  cfg.pta = o.pta;
  cfg.policy = o.policy == "stall" ? its::ErrorPolicy::Stall : its::ErrorPolicy::Skip;
  its::Its its(mem, rds, cfg);
  rds.set_on_enable_change([&its](uint32_t, bool on) {
    if (!on) its.invalidate_all();
  });
  // Every LPI enabled at priority 0xA0 (Group1 bit set, as Linux writes it).
  for (uint64_t i = 0; i < 0x1'0000 - 8192; ++i) (void)mem.write8(kProp + i, 0xA0 | 0x2 | 0x1);
  for (unsigned n = 0; n < o.cpus; ++n) {
    const uint64_t f = n * arm64::gicr::kFrameSize;
    rds.mmio_write(f + arm64::gicr::PROPBASER, 8, kProp | 15);
    rds.mmio_write(f + arm64::gicr::PENDBASER, 8, (kPend + n * 0x1'0000) | (1ull << 62));
    rds.mmio_write(f + arm64::gicr::CTLR, 4, 1);
  }
  its.mmio_write(its::reg::GITS_BASER, 8, kDevTable | (2ull << 8) | (kTablePages - 1) | (1ull << 63));
  its.mmio_write(its::reg::GITS_BASER + 8, 8,
                 kColTable | (2ull << 8) | (kTablePages - 1) | (1ull << 63));
  its.mmio_write(its::reg::GITS_CBASER, 8, kQueue | (kQueuePages - 1) | (1ull << 63));
  its.mmio_write(its::reg::GITS_CTLR, 4, 1);
  for (std::size_t k = 0; k < cmds.size(); ++k)
    for (unsigned i = 0; i < 4; ++i) (void)mem.write64(kQueue + 32 * k + 8 * i, cmds[k].words[i]);
  its.mmio_write(its::reg::GITS_CWRITER, 8, 32 * cmds.size());

  nlohmann::json j{{"commands", nlohmann::json::array()},
                   {"errors", nlohmann::json::array()},
                   {"msis", nlohmann::json::array()}};
  for (const ParsedCmd& c : cmds) {
    nlohmann::json w = nlohmann::json::array();
    for (uint64_t x : c.words) w.push_back(fmt::format("{:#018x}", x));
    j["commands"].push_back({{"text", c.text}, {"words", w}});
  }
  for (const its::CommandErrorRecord& e : its.errors()) {
    const std::size_t idx = e.offset / 32;
    const std::string name(its::error_name(e.code));
    if (!o.json)
      io.out << fmt::format("command error: #{} '{}': {} ({:#08x}): {}\n", idx + 1,
                            idx < cmds.size() ? cmds[idx].text : std::string("?"), name,
                            uint32_t(e.code), e.what);
    j["errors"].push_back({{"index", idx + 1},
                           {"command", idx < cmds.size() ? cmds[idx].text : ""},
                           {"name", name},
                           {"code", fmt::format("{:#08x}", uint32_t(e.code))},
                           {"what", e.what}});
  }
  if (its.stalled()) {
    if (!o.json)
      io.out << fmt::format("queue stalled at command #{} (GITS_CREADR.Stalled=1); later "
                            "commands did not run\n",
                            its.creadr() / 32 + 1);
    j["stalled_at"] = its.creadr() / 32 + 1;
  }
  if (msis.empty() && !o.json)
    io.out << fmt::format("{} command{} processed, {} command error{}\n", its.commands_processed(),
                          its.commands_processed() == 1 ? "" : "s", its.error_count(),
                          its.error_count() == 1 ? "" : "s");
  bool all_delivered = true;
  for (const auto& [dev, ev] : msis) {
    const Translation t =
        its.translate(MsiWrite{cfg.base + its::reg::GITS_TRANSLATER, ev, dev});
    nlohmann::json m{{"DeviceID", dev}, {"EventID", ev}};
    if (const auto* d = std::get_if<LpiDelivery>(&t)) {
      if (!o.json) io.out << fmt::format("delivered rd={} lpi={}\n", d->rd, d->intid);
      m["delivered"] = true;
      m["rd"] = d->rd;
      m["lpi"] = d->intid;
    } else {
      const auto& b = std::get<Blocked>(t);
      if (!o.json) io.out << "dropped: " << b.what << "\n";
      m["delivered"] = false;
      m["reason"] = b.what;
      all_delivered = false;
    }
    j["msis"].push_back(m);
  }
  if (o.json) io.out << j.dump(2) << "\n";
  // With no MSI to judge, the commands are the question: 1 when one of them failed.
  if (msis.empty()) return its.error_count() == 0 ? 0 : 1;
  return all_delivered ? 0 : 1;
}

}  // namespace

void add_translate_arm64(CLI::App& translate, Context& ctx) {
  auto o = std::make_shared<Arm64Options>();
  CLI::App* sub = translate.add_subcommand(
      "arm64",
      "GICv3 ITS what-if: run ITS commands through a real command queue and report each "
      "command error, then translate MSIs if given (exit 0: all delivered, or with no --msi "
      "every command succeeded; 1: otherwise)");
  sub->add_option("--cpus", o->cpus, "Redistributors (PEs), 1..64")->default_val(2);
  sub->add_option("--cmd", o->cmds,
                  "An ITS command with the spec's field names, e.g. 'MAPD DeviceID=2 Size=4 "
                  "ITT_addr=0x41000000' (V defaults to 1; MAPD Size to 7 and ITT_addr to "
                  "scratch memory); RDbase is a PE number unless --pta")
      ;
  sub->add_option("--msi", o->msis, "DeviceID:EventID written to GITS_TRANSLATER (optional)");
  sub->add_flag("--pta", o->pta, "GITS_TYPER.PTA=1: RDbase fields hold RD_base address bits 51:16");
  sub->add_option("--policy", o->policy, "Command error policy: skip (default) or stall");
  sub->add_flag("--json", o->json, "Print JSON");
  sub->callback([o, &ctx] { ctx.status = translate_arm64(*o, ctx.io); });
}

}  // namespace irqremap::cli
