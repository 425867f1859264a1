#pragma once
// Runs `irqremap ARGS...` in-process and keeps its status, stdout and stderr.
#include <sstream>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace clitest {

struct Result {
  int status;
  std::string out, err;
};

inline Result run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int st = irqremap::cli::run(args, out, err);
  return {st, out.str(), err.str()};
}

}  // namespace clitest
