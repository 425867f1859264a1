// Fuzz target: restoring damaged snapshots (docs/SNAPSHOT.md "What a restore refuses").
// A snapshot of a machine that ran a demo stub to a pause is taken once per process (two
// configurations, each at two points); each input picks one and edits its state stream
// (overwrite, flip, insert, delete, truncate), then wraps it as a file with a correct
// CRC-32 and configuration line, so the edits reach the records themselves rather than
// the file checks. The restore must either refuse with a message or give a machine that
// runs on (a few thousand instructions, under a budget) without crashing the host; an
// unedited stream must restore.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "arch/arm64/arm64_machine.h"
#include "arch/x86/x86_machine.h"
#include "guest-fw/firmware.h"
#include "snapshot/snapshot_file.h"
#include "tests/fuzz/op_stream.h"

namespace irqremap::fuzz {
namespace {

constexpr uint64_t kRunAfter = 5'000;

// A configuration, the stub it runs and where it pauses.
struct Base {
  bool x86;
  unsigned cpus;
  const char* stub;
  uint64_t pause;
};
constexpr Base kBases[] = {
    {false, 2, "arm64/its-migrate", 20'000},
    {false, 2, "arm64/its-migrate", 60'000},
    {true, 2, "x86/irq-migrate", 20'000},
    {true, 2, "x86/irq-migrate", 80'000},
};

template <typename Machine, typename Config>
std::unique_ptr<Machine> make(unsigned cpus) {
  Config cfg;
  cfg.cpus = cpus;
  cfg.uart_out = [](char) {};
  auto m = Machine::create(cfg);
  if (!m) __builtin_trap();
  return std::move(*m);
}

// The state stream of a base (saved once).
template <typename Machine, typename Config>
std::vector<uint8_t> stream_of(const Base& b) {
  auto m = make<Machine, Config>(b.cpus);
  const guestfw::Firmware* fw = guestfw::find(b.stub);
  if (fw == nullptr) __builtin_trap();
  auto entry = m->load(fw->elf);
  if (!entry) __builtin_trap();
  m->scheduler().pause_at(b.pause);
  m->run(*entry, b.pause * 4);
  snapshot::Io io = snapshot::Io::saver();
  m->state(io);
  if (!io.ok()) __builtin_trap();
  return io.take();
}

const std::vector<uint8_t>& base_stream(unsigned i) {
  static std::map<unsigned, std::vector<uint8_t>> cache;
  auto it = cache.find(i);
  if (it != cache.end()) return it->second;
  const Base& b = kBases[i];
  std::vector<uint8_t> s = b.x86 ? stream_of<x86::X86Machine, x86::X86MachineConfig>(b)
                                 : stream_of<arm64::Arm64Machine, arm64::Arm64MachineConfig>(b);
  return cache.emplace(i, std::move(s)).first->second;
}

template <typename Machine, typename Config>
void restore_and_run(const Base& b, const std::vector<uint8_t>& stream, bool edited) {
  auto m = make<Machine, Config>(b.cpus);
  const std::vector<uint8_t> file = snapshot::encode(m->snapshot_configuration(), stream);
  const auto ok = snapshot::restore(*m, file);
  if (!ok) {
    // Only an edited stream may be refused, and always with a message.
    if (!edited || ok.error().empty()) __builtin_trap();
    return;
  }
  m->run(0, m->instructions() + kRunAfter);
}

}  // namespace

void run(OpStream& in) {
  const unsigned which = in.below(sizeof kBases / sizeof kBases[0]);
  const Base& b = kBases[which];
  std::vector<uint8_t> s = base_stream(which);
  bool edited = false;
  for (unsigned ops = 0; !in.done() && ops < 16 && !s.empty(); ++ops) {
    const unsigned kind = in.below(5);
    const size_t at = in.u32() % s.size();
    edited = true;
    switch (kind) {
      case 0: s[at] = in.u8(); break;                               // overwrite a byte
      case 1: s[at] ^= uint8_t(1u << in.below(8)); break;           // flip a bit
      case 2: s.insert(s.begin() + long(at), in.u8()); break;       // insert a byte
      case 3: s.erase(s.begin() + long(at)); break;                 // delete a byte
      default: s.resize(at); break;                                 // truncate
    }
  }
  if (b.x86)
    restore_and_run<x86::X86Machine, x86::X86MachineConfig>(b, s, edited);
  else
    restore_and_run<arm64::Arm64Machine, arm64::Arm64MachineConfig>(b, s, edited);
}

}  // namespace irqremap::fuzz
