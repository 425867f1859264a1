#pragma once
// Shared by the kvm-unit-tests checks of both machines: where the images are, what a test
// does when they are missing, QEMU 7.2's transcripts, and the lines of a UART transcript
// that carry verdicts.
//
// The images (GPL-2.0 test data, not part of irqremap) are looked up in
// $IRQREMAP_KVM_UNIT_TESTS, then in ../shared/kvm-unit-tests beside the checkout
// ($IRQREMAP_SHARED_DIR/kvm-unit-tests when that variable is set, so a run can pretend
// there is no ../shared). tools/kvm-unit-tests-images.sh builds them
// (tests/kvm-unit-tests/README.md). When neither folder holds an image the test is skipped
// with one "SKIPPED:" line on stdout (doctest MESSAGE) and on stderr, which tools/test.sh
// collects into its summary; with IRQREMAP_REQUIRE_TEST_DATA=1 (set by .ci/run) a missing
// image fails the test instead. QEMU's transcripts and device tree are small and live in
// the repository (tests/kvm-unit-tests/qemu-7.2).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace kuttest {

// The folders searched for images, in order.
inline std::vector<std::filesystem::path> kut_search_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("IRQREMAP_KVM_UNIT_TESTS"); env != nullptr && *env != '\0') dirs.emplace_back(env);
  const char* shared = std::getenv("IRQREMAP_SHARED_DIR");
  if (shared != nullptr && *shared != '\0')
    dirs.push_back(std::filesystem::path(shared) / "kvm-unit-tests");
  else
    dirs.push_back(std::filesystem::path(IRQREMAP_SOURCE_DIR) / ".." / "shared" / "kvm-unit-tests");
  return dirs;
}

// QEMU 7.2's UART transcripts and its virt device tree, kept in the repository.
inline std::filesystem::path qemu_ref_dir() {
  return std::filesystem::path(IRQREMAP_SOURCE_DIR) / "tests" / "kvm-unit-tests" / "qemu-7.2";
}

inline bool test_data_required() {
  const char* env = std::getenv("IRQREMAP_REQUIRE_TEST_DATA");
  return env != nullptr && *env != '\0' && std::string(env) != "0";
}

// The path of image `rel` (e.g. "arm64/gic.flat") in the first search folder that holds
// it. When none does: nullopt after a SKIPPED line naming `test`, the image and how to get
// it, or a failed check when test data is required. Callers return on nullopt.
inline std::optional<std::filesystem::path> find_image(const std::string& test, const std::string& rel) {
  std::string looked;
  for (const auto& dir : kut_search_dirs()) {
    if (std::filesystem::exists(dir / rel)) return dir / rel;
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  const std::string why = "kvm-unit-tests image " + rel + " not found (looked in " + looked +
                          "); build it with tools/kvm-unit-tests-images.sh and set IRQREMAP_KVM_UNIT_TESTS "
                          "(tests/kvm-unit-tests/README.md)";
  if (test_data_required()) {
    FAIL_CHECK("IRQREMAP_REQUIRE_TEST_DATA is set: " << test << ": " << why);
  } else {
    MESSAGE("SKIPPED: " << test << ": " << why);
    std::cerr << "SKIPPED: " << test << ": " << why << "\n";
  }
  return std::nullopt;
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
