// GCC's -fsanitize-coverage=trace-pc calls __sanitizer_cov_trace_pc() at the start of every
// basic block. libFuzzer 14 still defines that hook but only to abort ("no longer
// supported"), so the build weakens its copy (CMakeLists.txt here) and this one takes
// over: it folds each (previous block, this block) pair into a map of 8-bit counters and
// hands the map to libFuzzer through the interface clang's inline-8bit-counters use. The
// result is edge coverage, as AFL counts it; collisions only cost precision.
// Compiled without coverage flags: instrumenting the hook would recurse.
#include <cstddef>
#include <cstdint>

extern "C" void __sanitizer_cov_8bit_counters_init(uint8_t* start, uint8_t* stop);

namespace {

// 2^17 edges: large enough that the machines' interpreters and units rarely share a slot,
// small enough that libFuzzer's per-run scan of the map stays cheap.
constexpr std::size_t kEdges = std::size_t{1} << 17;
alignas(64) uint8_t counters[kEdges];
uintptr_t previous = 0;

struct Register {
  Register() { __sanitizer_cov_8bit_counters_init(counters, counters + kEdges); }
} registered;

}  // namespace

extern "C" void __sanitizer_cov_trace_pc() {
  const auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
  // Spread nearby block addresses over the map before combining them with the last one.
  const uintptr_t here = (pc ^ (pc >> 17)) * uintptr_t{0x9E37'79B9'7F4A'7C15};
  const uintptr_t slot = here >> 40;
  ++counters[(slot ^ previous) & (kEdges - 1)];
  previous = slot >> 1;  // halved, so A->B and B->A land apart
}

// GCC's trace-cmp also reports floating-point comparisons (nlohmann-json's number printing
// and CLI11's range checks have them), which libFuzzer has no hook for: its value
// profile only steers integer operands. Taking them here keeps the fully instrumented
// build (tools/fuzz.sh) linking; they carry nothing the mutator could use.
extern "C" void __sanitizer_cov_trace_cmpf(float, float) {}
extern "C" void __sanitizer_cov_trace_cmpd(double, double) {}
