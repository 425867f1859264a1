// Where the kvm-unit-tests images are looked up (tests/common/kvm_unit_tests.h, issue 34):
// $IRQREMAP_KVM_UNIT_TESTS first, then ../shared/kvm-unit-tests ($IRQREMAP_SHARED_DIR
// overrides that fallback). The skip itself is not run here: its SKIPPED: line would land
// in every run's summary. Run the suite with IRQREMAP_KVM_UNIT_TESTS=/nonexistent
// IRQREMAP_SHARED_DIR=/nonexistent to see it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <unistd.h>

#include "tests/common/kvm_unit_tests.h"

namespace {

namespace fs = std::filesystem;

// Sets (or unsets, for nullopt) an environment variable for the scope, then restores it.
class EnvOverride {
 public:
  EnvOverride(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~EnvOverride() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  EnvOverride(const EnvOverride&) = delete;
  EnvOverride& operator=(const EnvOverride&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

fs::path scratch(const char* name) {
  const fs::path dir = fs::temp_directory_path() / (std::string("irqremap-kut-") + name + "-" +
                                                    std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "kvm-unit-tests" / "arm64");
  std::ofstream(dir / "kvm-unit-tests" / "arm64" / "gic.flat") << "image";
  return dir;
}

}  // namespace

TEST_CASE("kvm-unit-tests lookup: $IRQREMAP_KVM_UNIT_TESTS first, then the ../shared fallback") {
  const fs::path a = scratch("a");
  const fs::path b = scratch("b");
  const EnvOverride no_require("IRQREMAP_REQUIRE_TEST_DATA", std::nullopt);
  {
    const EnvOverride kut("IRQREMAP_KVM_UNIT_TESTS", (a / "kvm-unit-tests").string());
    const EnvOverride shared("IRQREMAP_SHARED_DIR", b.string());
    CHECK(kuttest::find_image("lookup", "arm64/gic.flat") == a / "kvm-unit-tests" / "arm64" / "gic.flat");
  }
  {
    const EnvOverride kut("IRQREMAP_KVM_UNIT_TESTS", "/nonexistent");
    const EnvOverride shared("IRQREMAP_SHARED_DIR", b.string());
    CHECK(kuttest::find_image("lookup", "arm64/gic.flat") == b / "kvm-unit-tests" / "arm64" / "gic.flat");
  }
  fs::remove_all(a);
  fs::remove_all(b);
}
