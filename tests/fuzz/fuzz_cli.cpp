// Fuzz target: the text the CLI turns into numbers and formats: parse_number_or_throw
// (every numeric option), --mem's parser, the decoders behind `explain` and `encode`
// (value parsing, decode, text and JSON explanation, encode from NAME=VALUE) over every
// format they know (tools/format_registry.h), `explain msi` on both architectures, and
// whole command lines through cli::run, as the tests run them: explain and encode,
// `translate x86` and `translate arm64` with their IRTE/memory/MSI/requester-ID and ITS
// command texts, and `run`'s numeric options. Bad input must be a
// UsageError, an error value or an exit status of 2, never another exception or a crash.
//
// cli::run builds the whole CLI11 tree (every subcommand and option) on each call, which
// costs about 7 ms in the fuzzing build: a whole command line runs only as an input's
// first step, and the other steps call what it would call, each in well under a millisecond.
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "remap/fields.h"
#include "remap/its/command_format.h"
#include "tools/cli.h"
#include "tools/explain_msi.h"
#include "tools/format_registry.h"
#include "tools/run_machine.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

std::vector<const fields::Format*> formats() {
  std::vector<const fields::Format*> all;
  for (const FormatGroup& g : cli::explainable_format_groups())
    for (const fields::Format* f : g.formats) all.push_back(f);
  return all;
}

// A number as a user types it: hex, binary, decimal, or raw text.
std::string number(OpStream& in) {
  switch (in.below(4)) {
    case 0: return fmt::format("{:#x}", in.u64());
    case 1: return fmt::format("{:#b}", in.u32());
    case 2: return fmt::format("{}", in.u64());
    default: return in.text(40);
  }
}

// A field name: one of the format's own (any case is accepted), or raw text.
std::string field_name(OpStream& in, const fields::Format& f) {
  if (f.fields.empty() || in.flag()) return in.text(24);
  return std::string(f.fields[in.below(unsigned(f.fields.size()))].name);
}

// explain FORMAT VALUE...: parse, decode, and the text or the JSON rendering (--json).
void explain_value(OpStream& in, const fields::Format& f) {
  std::vector<std::string> values;
  const unsigned n = in.below(5);
  for (unsigned i = 0; i < n; ++i) values.push_back(number(in));
  auto words = fields::parse_value(f, values);
  if (!words) {
    if (words.error().empty()) __builtin_trap();  // every error says what was wrong
    return;
  }
  fields::Context ctx;
  ctx.eime = in.flag();
  const bool json = in.flag();
  const fields::Decoded d = fields::decode(f, *words, ctx);
  if (d.format == nullptr) __builtin_trap();
  if (json)
    (void)fields::to_json(d).dump(2);
  else if (fields::explain(d).empty())
    __builtin_trap();
}

// encode FORMAT NAME=VALUE...: an error that says why, or as many words as the format has,
// which decode and explain.
void encode_value(OpStream& in, const fields::Format& f) {
  std::vector<std::pair<std::string, uint64_t>> as;
  const unsigned n = in.below(5);
  for (unsigned i = 0; i < n; ++i) {
    std::string name = field_name(in, f);
    const uint64_t wide = in.u64();
    const uint64_t value = wide >> in.below(64);  // narrow values too, so some fit the field
    as.emplace_back(std::move(name), value);
  }
  auto words = fields::encode(f, as);
  if (!words) {
    if (words.error().empty()) __builtin_trap();
    return;
  }
  if (words->size() != f.words()) __builtin_trap();
  (void)fields::explain(fields::decode(f, *words));
}

// explain msi --arch x86|arm64 --address A --data D [--device-id N] [--eime] [--json]
void explain_msi(OpStream& in) {
  cli::MsiQuery q;
  q.address = in.flag() ? (0xFEE0'0000ull | (in.u32() & 0xF'FFFF)) : in.u64();
  q.data = in.u32();
  if (in.flag()) q.device_id = in.u32();
  q.eime = in.flag();
  const bool x86 = in.flag();
  const bool json = in.flag();
  std::ostringstream out, err;
  const cli::Io io{out, err};
  const int status = x86 ? cli::explain_msi_x86(q, json, io) : cli::explain_msi_arm64(q, json, io);
  if (status != 0 && status != 1 && status != 2) __builtin_trap();
}

// `translate x86`: the IRTEs, memory, MSI and requester ID as NAME=VALUE / A:B text.
void translate_x86(OpStream& in, std::vector<std::string>& args) {
  args.insert(args.end(), {"translate", "x86", "--msi"});
  if (in.flag()) {
    std::string address = number(in);
    args.push_back(address + ":" + number(in));
  } else {
    args.push_back(in.text(40));
  }
  const unsigned irtes = in.below(4);
  for (unsigned i = 0; i < irtes; ++i) {
    std::string index = in.flag() ? std::to_string(in.below(32)) : number(in);
    std::string low = number(in);
    args.insert(args.end(), {"--irte", index + "=" + low + ":" + number(in)});
  }
  if (in.below(4) == 0) {
    std::string address = number(in);
    args.insert(args.end(), {"--mem", address + "=" + number(in)});
  }
  if (in.flag()) {
    if (in.flag()) {
      const unsigned bus = in.u8(), dev = in.below(0x40), fn = in.below(16);
      args.insert(args.end(), {"--sid", fmt::format("{:02x}:{:02x}.{:x}", bus, dev, fn)});
    } else {
      args.insert(args.end(), {"--sid", in.text(16)});
    }
  }
  if (in.flag()) args.insert(args.end(), {"--irta-size", in.flag() ? std::to_string(in.below(20)) : in.text(8)});
  for (const char* f : {"--eime", "--cfi", "--json", "--trace"})
    if (in.flag()) args.push_back(f);
}

// `translate arm64`: ITS commands as "NAME Field=value ..." and DeviceID:EventID MSIs.
void translate_arm64(OpStream& in, std::vector<std::string>& args) {
  args.insert(args.end(), {"translate", "arm64"});
  const unsigned cmds = in.below(6);
  for (unsigned i = 0; i < cmds; ++i) {
    // An opcode that is not a physical command (0, 2, 6, 7) stands for raw text instead.
    const uint8_t op = uint8_t(in.below(16));
    const fields::Format* f = its::cmd::format_for(op);
    if (f == nullptr) {
      args.insert(args.end(), {"--cmd", in.text(64)});
      continue;
    }
    std::string text(its::cmd::opcode_name(op));
    const unsigned n = in.below(4);
    for (unsigned j = 0; j < n; ++j) {
      std::string name = field_name(in, *f);
      text += " " + name + "=" + number(in);
    }
    args.insert(args.end(), {"--cmd", text});
  }
  const unsigned msis = in.below(3);
  for (unsigned i = 0; i < msis; ++i) {
    std::string dev = in.flag() ? std::to_string(in.below(8)) : number(in);
    args.insert(args.end(), {"--msi", dev + ":" + (in.flag() ? std::to_string(in.below(8)) : number(in))});
  }
  if (in.flag()) args.insert(args.end(), {"--cpus", in.flag() ? std::to_string(in.below(70)) : in.text(8)});
  if (in.flag()) args.insert(args.end(), {"--policy", in.flag() ? (in.flag() ? "stall" : "skip") : in.text(8)});
  for (const char* f : {"--pta", "--json"})
    if (in.flag()) args.push_back(f);
}

// `run` up to its numbers (--smp, --max-insns, --mem): the stub it names never exists, so
// no machine starts; the options are parsed and checked first.
void run_options(OpStream& in, std::vector<std::string>& args) {
  args.insert(args.end(), {"run", "--arch", in.flag() ? "x86" : "arm64", "--firmware", "fuzz/no-such-stub"});
  if (in.flag()) args.insert(args.end(), {"--smp", in.flag() ? std::to_string(in.below(10)) : in.text(8)});
  if (in.flag()) args.insert(args.end(), {"--max-insns", number(in)});
  if (in.flag()) args.insert(args.end(), {"--mem", number(in)});
}

// explain or encode with options and values, as a user types them.
void explain_or_encode(OpStream& in, const std::vector<const fields::Format*>& all, std::vector<std::string>& args) {
  const bool encode = in.flag();
  args.push_back(encode ? "encode" : "explain");
  args.push_back(in.below(8) == 0 ? "msi" : std::string(all[in.below(unsigned(all.size()))]->name));
  const unsigned n = in.below(5);
  for (unsigned i = 0; i < n; ++i) {
    switch (in.below(5)) {
      case 0: {
        std::string name = in.text(24);
        args.push_back(name + "=" + number(in));
        break;
      }
      case 1: args.push_back(in.text(24)); break;
      case 2: args.push_back("--json"); break;
      case 3: args.push_back(in.flag() ? "--eime" : "--arch=" + std::string(in.flag() ? "x86" : "arm64")); break;
      default: args.push_back(number(in)); break;
    }
  }
}

// A whole command line through cli::run: its status is 0, 1 or 2, and 2 always says why.
void command_line(OpStream& in, const std::vector<const fields::Format*>& all) {
  std::vector<std::string> args;
  switch (in.below(4)) {
    case 0: translate_x86(in, args); break;
    case 1: translate_arm64(in, args); break;
    case 2: run_options(in, args); break;
    default: explain_or_encode(in, all, args); break;
  }
  std::ostringstream out, err;
  const int status = cli::run(args, out, err);
  if (status != 0 && status != 1 && status != 2) __builtin_trap();
  if (status == 2 && err.str().empty()) __builtin_trap();
}
}  // namespace

void run(OpStream& in) {
  static const std::vector<const fields::Format*> all = formats();
  for (unsigned steps = 0; !in.done() && steps < 16; ++steps) {
    switch (in.below(6)) {
      case 0:
        try {
          (void)cli::parse_number_or_throw(in.text(40), "value");
        } catch (const cli::UsageError&) {
        }
        break;
      case 1:
        try {
          if (cli::parse_mem_mib(in.text(20)) == 0) __builtin_trap();
        } catch (const cli::UsageError&) {
        }
        break;
      case 2: explain_value(in, *all[in.below(unsigned(all.size()))]); break;
      case 3: encode_value(in, *all[in.below(unsigned(all.size()))]); break;
      case 4: explain_msi(in); break;
      case 5:
        if (steps == 0) command_line(in, all);
        break;
    }
  }
}

}  // namespace irqremap::fuzz
