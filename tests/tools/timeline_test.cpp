// --trace-out: the demo's runs on both machines as Trace Event Format JSON. The checks are
// what a viewer needs: named tracks, handler slices with their INTID or vector, and MSI
// flows that start at the device, bend at the remapping unit and end on the CPU's handler.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/tools/cli_run.h"

namespace {

nlohmann::json demo_timeline(const char* arch) {
  const std::string path = std::string("timeline-test-") + arch + ".json";
  const auto r = clitest::run_cli({"demo", "--arch", arch, "--trace-out", path});
  REQUIRE(r.status == 0);
  std::ifstream f(path);
  REQUIRE(f.good());
  nlohmann::json j = nlohmann::json::parse(f);
  std::remove(path.c_str());
  return j;
}

// Track names of process `pid`, by tid.
std::map<int, std::string> tracks(const nlohmann::json& events, int pid) {
  std::map<int, std::string> names;
  for (const auto& e : events)
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == pid) names[e["tid"]] = e["args"]["name"];
  return names;
}

// Every flow of the file, as the track names its steps s, t, f are on.
struct Flow {
  std::string start, step, end;
};
std::map<std::pair<int, uint64_t>, Flow> flows(const nlohmann::json& events) {
  std::map<std::pair<int, uint64_t>, Flow> out;
  for (const auto& e : events) {
    if (!e.contains("cat") || e["cat"] != "msi") continue;
    const int pid = e["pid"];
    const std::string track = tracks(events, pid).at(e["tid"]);
    Flow& f = out[{pid, e["id"].get<uint64_t>()}];
    (e["ph"] == "s" ? f.start : e["ph"] == "t" ? f.step : f.end) = track;
  }
  return out;
}

}  // namespace

TEST_CASE("timeline: every event has the fields the Trace Event Format requires, time never runs back per track") {
  const nlohmann::json j = demo_timeline("arm64");
  REQUIRE(j["traceEvents"].is_array());
  std::map<std::pair<int, int>, uint64_t> last_instant;
  for (const auto& e : j["traceEvents"]) {
    CHECK(e.contains("ph"));
    CHECK(e.contains("pid"));
    CHECK(e.contains("tid"));
    if (e["ph"] == "M") continue;
    CHECK(e["ts"].is_number_unsigned());
    if (e["ph"] == "X") CHECK(e["dur"].get<uint64_t>() >= 1);
    if (e["ph"] == "i") {
      auto& last = last_instant[{e["pid"], e["tid"]}];
      CHECK(e["ts"].get<uint64_t>() >= last);
      last = e["ts"];
    }
  }
}

TEST_CASE("timeline: arm64 demo has CPU, ITS, redistributor and device tracks, LPI handler slices, MSI flows dev0 -> its -> cpu") {
  const nlohmann::json j = demo_timeline("arm64");
  const auto& ev = j["traceEvents"];
  std::set<std::string> names;
  for (const auto& [tid, name] : tracks(ev, 1)) names.insert(name);
  for (const char* n : {"cpu1", "cpu2", "its", "gicr1", "dev0"}) CHECK(names.count(n) == 1);
  int lpi_slices = 0;
  for (const auto& e : ev)
    if (e["ph"] == "X" && e["cat"] == "handler" && e["name"] == "LPI 8192") ++lpi_slices;
  CHECK(lpi_slices >= 9);
  int complete = 0;
  for (const auto& [id, f] : flows(ev)) {
    CHECK(f.start == "dev0");
    CHECK(f.step == "its");
    if (!f.end.empty()) {
      CHECK(f.end.starts_with("cpu"));
      ++complete;
    }
  }
  CHECK(complete >= 9);
}

TEST_CASE("timeline: x86 demo has VT-d and local APIC tracks, vector handler slices, MSI flows dev0 -> vtd -> cpu") {
  const nlohmann::json j = demo_timeline("x86");
  const auto& ev = j["traceEvents"];
  std::set<std::string> names;
  for (const auto& [tid, name] : tracks(ev, 1)) names.insert(name);
  for (const char* n : {"cpu0", "cpu1", "vtd", "lapic1", "dev0"}) CHECK(names.count(n) == 1);
  int handler_slices = 0;
  for (const auto& e : ev)
    if (e["ph"] == "X" && e["cat"] == "handler" && e["name"].get<std::string>().starts_with("vector 0x")) ++handler_slices;
  CHECK(handler_slices >= 3);
  int complete = 0;
  for (const auto& [id, f] : flows(ev)) {
    CHECK(f.start == "dev0");
    CHECK(f.step == "vtd");
    if (f.end.starts_with("cpu")) ++complete;
  }
  CHECK(complete >= 3);
}

TEST_CASE("timeline: the same demo gives the same file (virtual time, not the host clock)") {
  CHECK(demo_timeline("x86") == demo_timeline("x86"));
}
