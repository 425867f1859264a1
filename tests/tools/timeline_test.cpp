// --trace-out: the demo's runs on both machines as Trace Event Format JSON. The checks are
// what a viewer needs: named tracks, handler slices with their INTID or vector, and MSI
// flows that start at the device, bend at the remapping unit and end on the CPU's handler.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/tools/cli_run.h"

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f.good());
  nlohmann::json j = nlohmann::json::parse(f);
  std::remove(path.c_str());
  return j;
}

nlohmann::json demo_timeline(const char* arch) {
  const std::string path = std::string("timeline-test-") + arch + ".json";
  const auto r = clitest::run_cli({"demo", "--arch", arch, "--trace-out", path});
  REQUIRE(r.status == 0);
  return read_json(path);
}

nlohmann::json run_timeline(std::vector<std::string> args) {
  const std::string path = "timeline-test-run.json";
  args.insert(args.begin(), "run");
  args.insert(args.end(), {"--trace-out", path});
  const auto r = clitest::run_cli(args);
  REQUIRE(r.status == 0);
  return read_json(path);
}

// Track names of process `pid`, by tid.
std::map<int, std::string> tracks(const nlohmann::json& events, int pid) {
  std::map<int, std::string> names;
  for (const auto& e : events)
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == pid) names[e["tid"]] = e["args"]["name"];
  return names;
}

// Every flow of the file, as the track names its steps s, t..., f are on.
struct Flow {
  std::string start, end;
  std::vector<std::string> steps;
};
std::map<std::pair<int, uint64_t>, Flow> flows(const nlohmann::json& events) {
  std::map<std::pair<int, uint64_t>, Flow> out;
  for (const auto& e : events) {
    const std::string ph = e["ph"];
    if (ph != "s" && ph != "t" && ph != "f") continue;
    const int pid = e["pid"];
    const std::string track = tracks(events, pid).at(e["tid"]);
    Flow& f = out[{pid, e["id"].get<uint64_t>()}];
    if (ph == "s") f.start = track;
    else if (ph == "t") f.steps.push_back(track);
    else f.end = track;
  }
  return out;
}

int count(const nlohmann::json& events, const char* ph, const char* cat) {
  int n = 0;
  for (const auto& e : events)
    if (e["ph"] == ph && e.contains("cat") && e["cat"] == cat) ++n;
  return n;
}

// The demo's MSI flows: `n` of them, each from dev0 through `unit` to a CPU's handler, and
// exactly one whose pending interrupt changed CPU before it was taken, so its flow goes on
// through `via` (the old CPU's redistributor or local APIC) to `to`.
void check_demo_flows(const nlohmann::json& ev, std::size_t n, const std::string& unit, const std::string& via,
                      const std::string& to) {
  const auto all = flows(ev);
  CHECK(all.size() == n);
  int rerouted = 0;
  for (const auto& [id, f] : all) {
    CHECK(f.start == "dev0");
    REQUIRE(!f.steps.empty());
    CHECK(f.steps.front() == unit);
    CHECK(f.end.starts_with("cpu"));
    if (f.steps.size() == 2) {
      CHECK(f.steps[1] == via);
      CHECK(f.end == to);
      ++rerouted;
    }
  }
  CHECK(rerouted == 1);
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
  // Every MSI the device sent reaches the handler of the CPU that took it; the one that was
  // pending on CPU 2 when MOVI moved it goes through gicr1 (the move) to CPU 1.
  CHECK(count(ev, "i", "msi") == 10);  // the MSI writes are instants, and so are translations
  CHECK(count(ev, "i", "translate") >= 10);
  CHECK(count(ev, "X", "translate") == 0);
  check_demo_flows(ev, 10, "its", "gicr1", "cpu1");
}

TEST_CASE("timeline: a CPU's own store to GITS_TRANSLATER is an MSI too: its flow starts on that CPU's track (issue 34 item 4)") {
  // arm64/its-migrate rings the doorbell itself (DeviceID 0): 10 MSIs, each written by a
  // CPU, translated by the ITS and taken by a CPU's handler.
  const nlohmann::json j = run_timeline({"--arch", "arm64", "--smp", "4", "--firmware", "arm64/its-migrate"});
  const auto& ev = j["traceEvents"];
  CHECK(count(ev, "i", "msi") == 10);  // each CPU store is marked as an MSI write
  const auto all = flows(ev);
  CHECK(all.size() == 10);
  for (const auto& [id, f] : all) {
    CHECK(f.start.starts_with("cpu"));
    REQUIRE(!f.steps.empty());
    CHECK(f.steps.front() == "its");
    CHECK(f.end.starts_with("cpu"));
  }
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
  // All 8 MSIs reach a handler. The one in CPU 2's IRR when it went offline is retriggered
  // by CPU 2's IPI to its new CPU and vector: its flow goes through lapic2 to cpu1.
  CHECK(count(ev, "i", "msi") == 8);
  check_demo_flows(ev, 8, "vtd", "lapic2", "cpu1");
}

TEST_CASE("timeline: an MSI dropped by a VT-d fault ends its flow at the fault, the delivered ones at a handler") {
  const nlohmann::json j = run_timeline({"--arch", "x86", "--smp", "4", "--firmware", "x86/irq-clear-p"});
  const auto& ev = j["traceEvents"];
  int faults = 0;
  for (const auto& e : ev)
    if (e["ph"] == "i" && e["cat"] == "fault" && e["args"].value("reason", 0) == 0x22) ++faults;
  CHECK(faults == 1);
  int at_fault = 0, at_handler = 0;
  for (const auto& [id, f] : flows(ev)) {
    if (f.end == "vtd") ++at_fault;
    if (f.end.starts_with("cpu")) ++at_handler;
  }
  CHECK(at_fault == faults);
  CHECK(at_handler == count(ev, "i", "msi") - faults);
}

TEST_CASE("timeline: every CPU, the remapping unit and each CPU's interrupt target get a named track, also idle ones") {
  // uart-hello touches neither the ITS nor a redistributor, and CPUs 1 and 2 never run.
  const nlohmann::json j = run_timeline({"--arch", "arm64", "--smp", "3", "--firmware", "arm64/uart-hello"});
  const auto names = tracks(j["traceEvents"], 1);
  CHECK(names.at(1) == "cpu0");
  CHECK(names.at(2) == "cpu1");
  CHECK(names.at(3) == "cpu2");
  std::vector<std::string> units;
  for (const auto& [tid, name] : names)
    if (tid >= 1000) units.push_back(name);
  REQUIRE(units.size() >= 4);
  CHECK(std::vector<std::string>(units.begin(), units.begin() + 4) ==
        std::vector<std::string>{"its", "gicr0", "gicr1", "gicr2"});
  const nlohmann::json x = run_timeline({"--arch", "x86", "--smp", "2", "--firmware", "x86/vtd-enable"});
  const auto xnames = tracks(x["traceEvents"], 1);
  CHECK(xnames.at(1000 + 2) == "vtd");
  CHECK(xnames.at(1000 + 3) == "lapic0");
  CHECK(xnames.at(1000 + 4) == "lapic1");
}

TEST_CASE("timeline: the same demo gives the same file (virtual time, not the host clock)") {
  CHECK(demo_timeline("x86") == demo_timeline("x86"));
}

// The firmware phase marker (arch/common/phase_marker.h): the demo stubs mark their
// migrations, and each becomes a slice of that name on the marking CPU's track.
TEST_CASE("timeline: a firmware phase marker makes a named slice on the CPU that wrote it") {
  for (const auto& [args, name] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--arch", "arm64", "--smp", "4", "--firmware", "arm64/device-migrate"}, "migrate (hot-unplug)"},
           {{"--arch", "x86", "--smp", "4", "--firmware", "x86/irq-migrate"}, "migrate"}}) {
    const nlohmann::json j = run_timeline(args);
    const auto& ev = j["traceEvents"];
    const auto names = tracks(ev, 1);
    int found = 0;
    for (const auto& e : ev)
      if (e["ph"] == "X" && e["cat"] == "phase") {
        CHECK(names.at(e["tid"]) == "cpu0");
        CHECK(e["dur"].get<uint64_t>() > 100);
        if (e["name"] == name) ++found;
      }
    CHECK(found == 1);
  }
}

TEST_CASE("timeline: a storm of MSIs is cut at the bound with a note, so the file and the host memory stay bounded") {
  // arm64/doorbell-storm writes GITS_TRANSLATER in a loop: by 500,000 instructions it has
  // made far more unit events than the timeline keeps (Timeline::kMaxItems).
  const std::string path = "timeline-test-storm.json";
  const auto r = clitest::run_cli({"run", "--arch", "arm64", "--firmware", "arm64/doorbell-storm", "--max-insns",
                                   "500000", "--trace-out", path});
  CHECK(r.status == 1);  // the instruction budget, not the storm's end
  CHECK(r.err.find("the timeline holds the run's first 100000 items") != std::string::npos);
  const nlohmann::json j = read_json(path);
  CHECK(j["otherData"]["truncated_after_items"] == 100000);
  CHECK(j["otherData"]["dropped_events"].get<uint64_t>() > 0);
  std::size_t timed = 0, cut = 0;
  uint64_t cut_at = 0, last = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "M") continue;
    ++timed;
    last = std::max(last, e["ts"].get<uint64_t>());
    if (e["ph"] == "i" && e["name"] == "timeline truncated") {
      ++cut;
      cut_at = e["ts"].get<uint64_t>();
    }
  }
  CHECK(timed <= 100000);
  CHECK(cut == 1);
  CHECK(last == cut_at);  // nothing after the cut, and what was open ends there
}
