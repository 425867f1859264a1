#pragma once
// Shared by the kvm-unit-tests checks of both machines: where the prebuilt images and
// QEMU 7.2's transcripts are (../shared/kvm-unit-tests, beside the checkout, as in CI), and
// the lines of a UART transcript that carry verdicts.
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

namespace kuttest {

inline std::filesystem::path kut_dir() {
  return std::filesystem::path(IRQREMAP_SOURCE_DIR) / ".." / "shared" / "kvm-unit-tests";
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The lines of `text` that start with one of `prefixes` (carriage returns dropped, as
// compare.sh does).
inline std::vector<std::string> lines_starting(const std::string& text, std::initializer_list<const char*> prefixes) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::erase(line, '\r');
    for (const char* p : prefixes)
      if (line.starts_with(p)) {
        out.push_back(line);
        break;
      }
  }
  return out;
}

// The verdict lines the README there defines equivalence by.
inline std::vector<std::string> verdicts(const std::string& text) {
  return lines_starting(text, {"PASS:", "FAIL:", "SKIP:", "XFAIL:", "SUMMARY:", "EXIT:"});
}

}  // namespace kuttest
