// --trace-svg: the picture is drawn from the same timeline as --trace-out, so what the JSON
// has (tracks, handler slices, MSI flows) the SVG has, one element each; and it stands
// alone (no scripts, nothing fetched) and is the same bytes for the same run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/tools/cli_run.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::ostringstream s;
  s << f.rdbuf();
  std::remove(path.c_str());
  return s.str();
}

struct Both {
  nlohmann::json json;
  std::string svg;
};

Both demo(const char* arch) {
  const std::string j = std::string("svg-test-") + arch + ".json", s = std::string("svg-test-") + arch + ".svg";
  const auto r = clitest::run_cli({"demo", "--arch", arch, "--trace-out", j, "--trace-svg", s});
  REQUIRE(r.status == 0);
  return {nlohmann::json::parse(slurp(j)), slurp(s)};
}

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The lane names in the order the SVG draws them.
std::vector<std::string> lanes(const std::string& svg) {
  std::vector<std::string> out;
  const std::string open = "<text class=\"lane\"";
  for (size_t at = svg.find(open); at != std::string::npos; at = svg.find(open, at + 1)) {
    const size_t b = svg.find('>', at) + 1;
    out.push_back(svg.substr(b, svg.find('<', b) - b));
  }
  return out;
}

void check_matches_json(const Both& d) {
  const auto& ev = d.json["traceEvents"];
  // One lane per track, in the JSON's track order (by tid within each process).
  std::vector<std::string> names;
  std::map<std::pair<int, uint64_t>, bool> flow_ids;
  int handlers = 0, phases = 0;
  for (const auto& e : ev) {
    if (e["ph"] == "M" && e["name"] == "thread_name") names.push_back(e["args"]["name"]);
    if (e["ph"] == "X" && e["cat"] == "handler") ++handlers;
    if (e["ph"] == "X" && e["cat"] == "phase") ++phases;
    if (e["ph"] == "s") flow_ids[{e["pid"], e["id"].get<uint64_t>()}] = true;
  }
  CHECK(lanes(d.svg) == names);
  CHECK(occurrences(d.svg, "<rect class=\"handler\"") == handlers);
  CHECK(occurrences(d.svg, "<rect class=\"phase\"") == phases);
  CHECK(occurrences(d.svg, "<path class=\"flow\"") == int(flow_ids.size()));  // every flow ended
  CHECK(occurrences(d.svg, "<circle class=\"msi\"") == int(flow_ids.size()));
  CHECK(d.svg.find("<script") == std::string::npos);
  CHECK(d.svg.find("href") == std::string::npos);
  CHECK(d.svg.find("@import") == std::string::npos);
}

}  // namespace

TEST_CASE("svg: arm64 demo has a lane per CPU and unit, a rect per handler, an arrow per MSI flow, as the JSON") {
  const Both d = demo("arm64");
  check_matches_json(d);
  const auto l = lanes(d.svg);
  for (const char* n : {"cpu0", "cpu1", "cpu2", "cpu3", "its", "gicr1", "gicr2", "dev0"})
    CHECK(std::count(l.begin(), l.end(), n) == 1);
  CHECK(occurrences(d.svg, ">LPI 8192<") + occurrences(d.svg, ">8192<") >= 10);  // handler labels
}

TEST_CASE("svg: x86 demo has VT-d and local APIC lanes and matches its JSON") {
  const Both d = demo("x86");
  check_matches_json(d);
  const auto l = lanes(d.svg);
  for (const char* n : {"cpu0", "cpu1", "cpu2", "cpu3", "vtd", "lapic1", "lapic2", "dev0"})
    CHECK(std::count(l.begin(), l.end(), n) >= 1);
}

TEST_CASE("svg: the same run draws the same bytes") {
  CHECK(demo("x86").svg == demo("x86").svg);
}

TEST_CASE("svg: a window no firmware phase matches is refused with the phases there are, not drawn empty") {
  const std::string path = "svg-window-test.svg";
  auto r = clitest::run_cli({"run", "--arch", "x86", "--smp", "4", "--firmware", "x86/irq-migrate", "--trace-svg",
                             path, "--trace-svg-window", "migrat3"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--trace-svg-window migrat3: no firmware phase starts with that (phases: migrate)") !=
        std::string::npos);
  r = clitest::run_cli({"run", "--arch", "x86", "--firmware", "x86/vtd-enable", "--trace-svg", path,
                        "--trace-svg-window", "migrate"});
  CHECK(r.status == 2);
  CHECK(r.err.find("the run marked no phases") != std::string::npos);
  std::remove(path.c_str());
  // A window without a picture to draw is a usage error before anything runs.
  r = clitest::run_cli({"run", "--arch", "x86", "--firmware", "x86/vtd-enable", "--trace-svg-window", "migrate"});
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("--trace-svg-window requires --trace-svg") != std::string::npos);
}

// The README's pictures are rendered afresh and compared byte for byte, so they cannot go
// stale. IRQREMAP_UPDATE_GOLDEN=1 rewrites them (review with git diff, as tests/golden/).
TEST_CASE("svg: docs/demo-migration-{x86,arm64}.svg are what `irqremap demo --trace-svg-window migrate` draws") {
  for (const char* arch : {"x86", "arm64"}) {
    const std::string tmp = std::string("svg-test-docs-") + arch + ".svg";
    const auto r = clitest::run_cli({"demo", "--arch", arch, "--trace-svg", tmp, "--trace-svg-window", "migrate"});
    REQUIRE(r.status == 0);
    const std::string got = slurp(tmp);
    const std::string path = std::string(IRQREMAP_SOURCE_DIR) + "/docs/demo-migration-" + arch + ".svg";
    const char* update = std::getenv("IRQREMAP_UPDATE_GOLDEN");
    if (update != nullptr && std::string(update) == "1") std::ofstream(path, std::ios::binary) << got;
    std::ifstream f(path, std::ios::binary);
    REQUIRE_MESSAGE(f.good(), path << " is missing: IRQREMAP_UPDATE_GOLDEN=1 writes it");
    std::ostringstream want;
    want << f.rdbuf();
    CHECK_MESSAGE(got == want.str(), path << " is stale: IRQREMAP_UPDATE_GOLDEN=1 build/tests/test_tools -tc='svg*'");
    // Both runs of the demo show their marked migration, and nothing before it.
    CHECK(occurrences(got, "<g class=\"process\"") == (std::string(arch) == "x86" ? 2 : 1));
    CHECK(occurrences(got, "<rect class=\"phase\"") >= 1);
    CHECK(got.size() < 300'000);
  }
}
