// libFuzzer's entry point, the same for every target: the input as an operation stream,
// handed to the target's run() (op_stream.h). Compiled into each fuzz_<name> executable.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/op_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  irqremap::fuzz::OpStream in(data, size);
  irqremap::fuzz::run(in);
  return 0;
}
