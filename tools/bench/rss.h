#pragma once
// Peak resident set size for the scale benchmarks (issue 13 asks for it next to ns per
// translation): read from /proc/self/status (Linux), reset through /proc/self/clear_refs.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace irqremap::bench {

// A /proc/self/status figure in MiB: VmHWM (peak resident set) or VmRSS (now).
inline double status_mib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0) return std::strtod(line.c_str() + n, nullptr) / 1024.0;
  return 0;
}
inline double peak_rss_mib() { return status_mib("VmHWM:"); }
// Writing "5" to clear_refs resets VmHWM to the current RSS.
inline void reset_peak_rss() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

}  // namespace irqremap::bench
